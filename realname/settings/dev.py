"""Development: the embedded default. With DATABASE_URL and REDIS_URL unset it uses the private
Postgres cluster and the filesystem broker that ``./dev.sh serve`` starts under .local/."""

from urllib.parse import quote

from .base import *
from .base import (
    LOCAL_DIR,
    cache_for,
    celery_broker_for,
    database_from_url,
    database_pool_from_env,
    env,
)

DEBUG = env.bool("DEBUG", default=True)
# Development only: never used by the production settings, which require SECRET_KEY.
SECRET_KEY = env("SECRET_KEY", default="insecure-development-key-do-not-use-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

EMBEDDED_DATABASE_URL = "postgres://realname@{}/realname".format(
    quote(str(LOCAL_DIR / "postgres" / "data"), safe="")
)
DATABASES = {
    "default": database_from_url(
        env("DATABASE_URL", default=EMBEDDED_DATABASE_URL), pool=database_pool_from_env()
    )
}

REDIS_URL = env("REDIS_URL", default="") or None
CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS = celery_broker_for(REDIS_URL)
CACHES = {"default": cache_for(REDIS_URL)}

# The embedded default writes texts to .local/sms.jsonl; ./dev.sh serve says where.
ACCOUNTS_SMS_BACKEND = env("SMS_BACKEND", default="accounts.sms.filebased.SmsBackend")

REALNAME_FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS", default=["dev1:ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZHVjdGlvbiE="]
)
REALNAME_BLIND_INDEX_KEY = env("BLIND_INDEX_KEY", default="development-blind-index-key")
# Where `./dev.sh serve` listens (it sets PUBLIC_URL from its --host and --port).
REALNAME_PUBLIC_URL = env("PUBLIC_URL", default="http://127.0.0.1:8000")

# Serve static files from the app folders, without needing collectstatic first.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The sandbox provider's shared secret; `./dev.sh serve` starts the sandbox with the same one.
SANDBOX_PROVIDER_SECRET = env("SANDBOX_PROVIDER_SECRET", default="development-sandbox-secret")

# A webhook receiver on this machine may listen on plain http (production: https only).
WEBHOOKS_ALLOW_HTTP_LOCALHOST = DEBUG
# ...and its loopback addresses are reachable (production: public addresses only).
WEBHOOKS_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"] if DEBUG else []
