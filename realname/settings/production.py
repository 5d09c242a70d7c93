"""Production: every secret and address comes from the environment, with no default. A missing
one stops the process at start-up (django-environ raises ImproperlyConfigured)."""

from django.core.exceptions import ImproperlyConfigured

from kernel.public import public_url_problem

from .base import *
from .base import (
    cache_for,
    celery_broker_for,
    database_from_url,
    database_pool_from_env,
    env,
    logging_config,
)

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

DATABASES = {"default": database_from_url(env("DATABASE_URL"), pool=database_pool_from_env())}
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS = celery_broker_for(REDIS_URL)
CACHES = {"default": cache_for(REDIS_URL)}

REALNAME_FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")
REALNAME_BLIND_INDEX_KEY = env("BLIND_INDEX_KEY")
# Every URL given to a vendor is built from it (kernel.public), never from a request's Host.
REALNAME_PUBLIC_URL = env("PUBLIC_URL")
if _problem := public_url_problem(REALNAME_PUBLIC_URL.strip().rstrip("/")):
    raise ImproperlyConfigured(f"PUBLIC_URL {_problem}.")
ACCOUNTS_SMS_BACKEND = env("SMS_BACKEND")
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
# The mail server that carries the support team's alerts (REALNAME_ALERT_EMAILS).
EMAIL_HOST = env("EMAIL_HOST", default="") or "localhost"
EMAIL_PORT = int(env("EMAIL_PORT", default="") or 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = 10
# Chosen on purpose in production: real vendors, in order of preference. The sandbox verifies
# made-up people only, so it is refused unless a demonstration says so explicitly.
VERIFICATION_PROVIDERS = env.list("VERIFICATION_PROVIDERS")
_SANDBOX_NAMED = any(
    p == "sandbox" or p.endswith(".SandboxProvider") for p in VERIFICATION_PROVIDERS
)
if _SANDBOX_NAMED and not env.bool("VERIFICATION_ALLOW_SANDBOX", default=False):
    raise ImproperlyConfigured(
        "VERIFICATION_PROVIDERS names the sandbox, which verifies made-up people only. "
        "Name a real vendor (aliyun, tencent, alipay), or set VERIFICATION_ALLOW_SANDBOX=true "
        "for a demonstration."
    )

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# The client's address: the number of proxies of ours in front of gunicorn, each appending the
# address it saw to X-Forwarded-For (1 for docker-compose's nginx; 0 when nothing is in front,
# so the header is ignored). No default: too high and a client picks its own address, too low
# and every client shares the proxy's, and so one bucket of every per-address limit.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT")

# HTTPS everywhere, behind a proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# A scraper inside the deployment's network may read /metrics over plain HTTP (its token or
# address still required); everything else is redirected to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

LOGGING = logging_config(env("LOG_FORMAT", default="json"), env("LOG_LEVEL", default="INFO"))
