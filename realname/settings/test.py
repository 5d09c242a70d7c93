"""Tests: the real Postgres and Redis named by DATABASE_URL and REDIS_URL (``./dev.sh test``
starts private ones when they are unset), and a real Celery worker process started by a fixture."""

import tempfile
from pathlib import Path

from .base import *
from .base import cache_for, database_from_url, env, logging_config

DEBUG = False
SECRET_KEY = "insecure-test-key"  # noqa: S105 - test settings only
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

DATABASES = {
    "default": database_from_url(
        env("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/realname")
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = 0

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CACHES = {"default": cache_for(REDIS_URL, KEY_PREFIX=env("REALNAME_TEST_RUN_ID", default="test"))}

ACCOUNTS_SMS_BACKEND = "accounts.sms.locmem.SmsBackend"
# Each test run counts in its own Redis keys (the worker process reads the same run id).
REALNAME_METRICS_KEY_PREFIX = f"realname:metrics:{env('REALNAME_TEST_RUN_ID', default='test')}"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REALNAME_FIELD_ENCRYPTION_KEYS = ["test1:dGVzdC1rZXktMzItYnl0ZXMtbG9uZy1mb3ItdGVzdHMh"]
REALNAME_BLIND_INDEX_KEY = "test-blind-index-key"
LOGGING = logging_config("text", "WARNING")

# Serve static files from the app folders, without needing collectstatic first.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# The sandbox identity provider answers within milliseconds; tests of its timeouts wait this long.
SANDBOX_PROVIDER_TIMEOUT = 2.0
SANDBOX_PROVIDER_SECRET = env("SANDBOX_PROVIDER_SECRET", default="test-sandbox-secret")
# Retries after provider trouble: a short window, so fault-injection tests reach `error` fast.
VERIFICATION_PROVIDER_RETRY_WINDOW = 4
VERIFICATION_PROVIDER_RETRY_BACKOFF = 0.2
VERIFICATION_PROVIDER_RETRY_BACKOFF_MAX = 1

# The live server's address is set by the fixtures that start one (tests/e2e/conftest.py).
REALNAME_PUBLIC_URL = "http://testserver"
# Alerts: the test process reads Django's locmem outbox (pytest-django); the worker process
# writes its mail to files in this directory, where tests read them.
REALNAME_ALERT_EMAILS = ["support@realname.test"]
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = str(
    Path(tempfile.gettempdir()) / f"realname-mail-{env('REALNAME_TEST_RUN_ID', default='test')}"
)

# Each test run writes uploads to its own directory.
ENTERPRISE_PRIVATE_STORAGE_ROOT = str(
    Path(tempfile.gettempdir()) / f"realname-private-{env('REALNAME_TEST_RUN_ID', default='test')}"
)
MEDIA_ROOT = str(
    Path(tempfile.gettempdir()) / f"realname-media-{env('REALNAME_TEST_RUN_ID', default='test')}"
)

# Webhooks: receivers on this host over http; short waits, so retries are seen within seconds.
WEBHOOKS_ALLOW_HTTP_LOCALHOST = True
WEBHOOKS_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]  # the receivers; nothing else private
WEBHOOKS_TIMEOUT = 5.0  # all of an attempt (DNS, connect, answer); the 'hang' receiver holds 10 s
WEBHOOKS_RETRY_BACKOFF = 0.2
WEBHOOKS_RETRY_BACKOFF_MAX = 1.0
