"""Settings shared by every environment. Secrets are never given defaults here, and neither are
our apps' settings: each default is written once, in the app's ``app_settings.py``."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

# Where the embedded default keeps its private database, broker queue and files.
LOCAL_DIR = Path(env("REALNAME_LOCAL_DIR", default=str(BASE_DIR / ".local")))

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])


def database_pool_from_env() -> dict[str, Any] | None:
    """psycopg's connection pool for this process, from ``DATABASE_POOL_MAX_SIZE`` (0: no pool,
    one persistent connection per thread instead), ``DATABASE_POOL_MIN_SIZE`` and
    ``DATABASE_POOL_TIMEOUT`` (seconds a thread waits for a free connection).

    Every process (each gunicorn worker, each Celery worker process, beat) has a pool of its
    own, so the server must allow max size × processes connections (docs/database-connections.md;
    the system check ``realname.W030`` counts ``DATABASE_PROCESSES``). A Celery thread holds a
    connection only while it reads or writes, never while it waits for a vendor
    (``kernel.db.release_connection``): 128 threads share a pool of 8."""
    max_size = env.int("DATABASE_POOL_MAX_SIZE", default=8)
    if max_size <= 0:
        return None
    return {
        "min_size": min(env.int("DATABASE_POOL_MIN_SIZE", default=1), max_size),
        "max_size": max_size,
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }


def database_from_url(url: str, *, pool: dict[str, Any] | None = None) -> dict:
    """Parse DATABASE_URL; a percent-encoded host (``%2Fpath``) is a Unix socket directory.

    With ``pool`` (``database_pool_from_env()``), connections come from psycopg's pool (Django's
    ``OPTIONS["pool"]``, which needs ``CONN_MAX_AGE`` 0: closing a connection gives it back);
    without, each thread keeps its own connection for a minute."""
    config = environ.Env.db_url_config(url)
    if "%2f" in config.get("HOST", "").lower():
        config["HOST"] = unquote(config["HOST"])
    # Survive a dropped connection (restart, failover, pg_terminate_backend) without manual action:
    # with a pool, the pool checks a connection before handing it out.
    config["CONN_HEALTH_CHECKS"] = True
    if pool:
        config["CONN_MAX_AGE"] = 0
        config.setdefault("OPTIONS", {})["pool"] = dict(pool)
    else:
        config.setdefault("CONN_MAX_AGE", 60)
    return config


def parse_routes(text: str) -> dict[str, list[str]]:
    """``cn_resident_id=aliyun+tencent;tw_travel_permit=alipay`` as the ``VERIFICATION_ROUTES``
    dict. A malformed part stops the start-up with its position (never a guess)."""
    routes: dict[str, list[str]] = {}
    for number, part in enumerate(filter(None, (p.strip() for p in text.split(";"))), 1):
        key, equals, names = part.partition("=")
        providers = [name.strip() for name in names.split("+") if name.strip()]
        if not equals or not key.strip() or not providers:
            raise ImproperlyConfigured(
                f"VERIFICATION_ROUTES part {number} is not 'document_type=provider+provider'."
            )
        routes[key.strip()] = providers
    return routes


def from_environment(**variables: tuple[str, Callable[[str], Any]]) -> dict[str, Any]:
    """``SETTING=("VARIABLE", env.int)``: the settings whose environment variable is set, read
    with the cast given. An unset variable sets nothing, so the app's default applies."""
    return {
        setting: read(variable)
        for setting, (variable, read) in variables.items()
        if variable in os.environ
    }


def celery_broker_for(redis_url: str | None) -> tuple[str, dict]:
    """Redis when configured; otherwise kombu's filesystem transport under LOCAL_DIR, which needs
    no server but still feeds a real worker process. The folders are made by the Celery app
    when it is configured (realname.celery), not here: importing settings changes nothing."""
    if redis_url:
        return redis_url, {}
    queue_dir = LOCAL_DIR / "broker" / "queue"
    processed_dir = LOCAL_DIR / "broker" / "processed"
    return "filesystem://localhost/", {
        "data_folder_in": str(queue_dir),
        "data_folder_out": str(queue_dir),
        "processed_folder": str(processed_dir),
        "store_processed": False,
    }


def cache_for(redis_url: str | None, **params: Any) -> dict:
    """Rate limits and codes live in the cache, so it must be shared by every process. Redis
    down is not an error page: kernel.cache.FailoverRedisCache carries on in each process's
    memory until Redis answers again, and gives up on a Redis that does not answer within a
    second (redis-py would wait forever)."""
    if redis_url:
        return {
            "BACKEND": "kernel.cache.FailoverRedisCache",
            "LOCATION": redis_url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            **params,
        }
    return {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(LOCAL_DIR / "cache"),
    }


INSTALLED_APPS = [
    "support.apps.SupportAdminConfig",  # django.contrib.admin with the support desk's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_celery_results",
    "kernel",
    "accounts",
    "verification",
    "enterprise",
    "support",
    "hostapi",
    "webhooks",
    "sandbox",  # the local vendor: only its management command; it never touches our database
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.RateLimitedMiddleware",
]

ROOT_URLCONF = "realname.urls"
WSGI_APPLICATION = "realname.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.code_policy",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_REDIRECT_URL = "accounts:profile"
LOGIN_URL = "account_login"

# django-allauth: sign-up and log-in by mobile number and a one-time SMS code. Passwords are
# optional (set one later on the account page); e-mail can be added and verified later.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {
    "signup": "accounts.forms.PhoneSignupForm",
    "login": "accounts.forms.PhoneLoginForm",
}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"phone"}
ACCOUNT_SIGNUP_FIELDS = ["phone*"]
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
ACCOUNT_PHONE_VERIFICATION_TIMEOUT = 5 * 60  # codes expire after five minutes
ACCOUNT_PHONE_VERIFICATION_MAX_ATTEMPTS = 3  # wrong codes before the code is void
ACCOUNT_PHONE_VERIFICATION_SUPPORTS_RESEND = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 5 * 60
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_LOGIN_BY_CODE_SUPPORTS_RESEND = True
# Six digits, as every mainland service texts them (and as SMS autofill recognises them).
ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT = {"length": 6, "numeric": True, "dashed": False}
ACCOUNT_LOGIN_BY_CODE_FORMAT = {"length": 6, "numeric": True, "dashed": False}
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
# Per number (key) and per network (ip). Generous per IP: mainland carriers put many people
# behind one address (CGNAT). Texts to a number are limited by what they are (accounts.adapter):
# codes ("sms_code") and the "already has an account" / "no account" notices ("sms_notice")
# count apart, so a sign-up that loses a race for a number never delays the winner's code;
# allauth's own "verify_phone" counts per network only.
ACCOUNT_RATE_LIMITS = {
    "verify_phone": "20/10m/ip",
    "sms_code": "1/60s/key",
    "sms_notice": "1/60s/key,10/d/key",
    "request_login_code": "1/60s/key,20/10m/ip",
    "signup": "20/m/ip",
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/300s/key",
}
# Two-factor authentication (allauth.mfa): required for support staff before the admin opens
# (support.admin_site). TOTP with an authenticator app, and recovery codes for a lost phone.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", default="realname")
# Wrong codes count towards ACCOUNT_RATE_LIMITS["login_failed"] (per account and per network).

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# Compose passes an unset variable as empty: that means the default too.
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="") or "realname <noreply@localhost>"
EMAIL_SUBJECT_PREFIX = "[realname] "

# Internationalisation: Simplified Chinese by default, English on request.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Content Security Policy (Django's own support): nothing from outside, no inline script
# without the per-request nonce, and no framing by other sites.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Sessions are read from the shared cache and kept in the database (kernel.sessions): every
# signed-in request reads one, and the status page is polled every few seconds.
SESSION_ENGINE = "kernel.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Celery: tasks take primary keys only; late acknowledgement so a killed worker's task is
# delivered again; the few results anyone reads (never personal data) are kept in the database.
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
# No result row unless a task asks for one (``ignore_result=False``: the /healthz round trip):
# nothing reads the others, and storing each cost the worker a quarter of its time per
# verification (bench/results.md).
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request publishing to a broker that is down gives up within about a second and leaves
# the work to the sweeper (kernel.queueing) instead of hanging the person's page.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="realname")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The sweeper re-enqueues verifications that a lost broker message left waiting.
CELERY_BEAT_SCHEDULE = {
    "verification-sweep": {"task": "verification.sweep", "schedule": 60.0},
    "enterprise-sweep": {"task": "enterprise.sweep", "schedule": 60.0},
    # ...and webhook deliveries whose task was lost.
    "webhooks-sweep": {"task": "webhooks.sweep", "schedule": 60.0},
    # Retention (docs/privacy/retention.md): daily, at night (the periods count in days).
    "verification-retention": {
        "task": "verification.retention",
        "schedule": crontab(hour=3, minute=17),
    },
    "enterprise-retention": {
        "task": "enterprise.retention",
        "schedule": crontab(hour=3, minute=37),
    },
    "accounts-retention": {
        "task": "accounts.retention",
        "schedule": crontab(hour=3, minute=57),
    },
    "hostapi-retention": {
        "task": "hostapi.retention",
        "schedule": crontab(hour=3, minute=47),
    },
    "webhooks-retention": {
        "task": "webhooks.retention",
        "schedule": crontab(hour=4, minute=7),
    },
}

# Logging: every handler masks phone numbers and ID-number-like strings;
# production writes JSON lines.
LOG_FORMAT = env("LOG_FORMAT", default="text")
LOG_LEVEL = env("LOG_LEVEL", default="INFO")


def logging_config(log_format: str, level: str) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask_personal_data": {"()": "kernel.logging.PersonalDataFilter"}},
        "formatters": {
            "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["mask_personal_data"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # HTTP clients log every request line at INFO: vendor URLs carry app ids and
            # signatures (never personal data, which travels in bodies), and say nothing a
            # provider's own log lines do not.
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
            "urllib3": {"level": "WARNING"},
            "celery": {"level": level},
        },
    }


LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL)

# Uploaded files. Never face images: those stay at the provider. Business licences are not
# media either: they are encrypted into ENTERPRISE_PRIVATE_STORAGE_ROOT, which no URL serves.
MEDIA_ROOT = env("MEDIA_ROOT", default=str(LOCAL_DIR / "media"))
MEDIA_URL = "/media/"

# Our apps' settings, from the environment variables deployers use. Only a variable that is set
# sets its setting; the defaults and their meaning are in each app's app_settings.py
# (kernel/, accounts/, verification/, enterprise/, sandbox/). The encryption keys are read by
# dev, test and production, which differ on purpose.
globals().update(
    from_environment(
        REALNAME_HEALTHZ_WORKER_TIMEOUT=("HEALTHZ_WORKER_TIMEOUT", env.float),
        # How many processes keep a database pool (realname.W030; database_pool_from_env).
        REALNAME_DATABASE_PROCESSES=("DATABASE_PROCESSES", env.int),
        # /metrics: closed unless a bearer token or client addresses are set (kernel.metrics).
        REALNAME_METRICS_TOKEN=("METRICS_TOKEN", env.str),
        REALNAME_METRICS_ALLOWED_IPS=("METRICS_ALLOWED_IPS", env.list),
        # The client's address behind proxies (kernel.request.client_ip, every per-address
        # limit, the audit): allauth's own settings, so its limits and ours count alike.
        ALLAUTH_TRUSTED_PROXY_COUNT=("TRUSTED_PROXY_COUNT", env.int),
        ALLAUTH_TRUSTED_CLIENT_IP_HEADER=("TRUSTED_CLIENT_IP_HEADER", env.str),
        # Our public address (vendors' return and notification URLs) and the support team's
        # alerts (kernel.alerts).
        REALNAME_PUBLIC_URL=("PUBLIC_URL", env.str),
        REALNAME_ALERT_EMAILS=("ALERT_EMAILS", env.list),
        REALNAME_ALERT_WEBHOOK_URL=("ALERT_WEBHOOK_URL", env.str),
        REALNAME_ALERT_INTERVAL=("ALERT_INTERVAL", env.int),
        REALNAME_ALERT_ERROR_RATE=("ALERT_ERROR_RATE", env.float),
        REALNAME_ALERT_RATE_MIN_CALLS=("ALERT_RATE_MIN_CALLS", env.int),
        REALNAME_ALERT_RATE_WINDOW=("ALERT_RATE_WINDOW", env.int),
        VERIFICATION_PROVIDER_RETRY_WINDOW=("VERIFICATION_PROVIDER_RETRY_WINDOW", env.int),
        VERIFICATION_FACE_SESSION_RESTARTS=("VERIFICATION_FACE_SESSION_RESTARTS", env.int),
        ACCOUNTS_SMS_BACKEND=("SMS_BACKEND", env.str),
        ACCOUNTS_SMS_FILE_PATH=("SMS_FILE_PATH", env.str),
        ACCOUNTS_SMS_SIGNATURE=("SMS_SIGNATURE", env.str),
        ACCOUNTS_SMS_TIMEOUT=("SMS_TIMEOUT", env.float),
        # The SMS carriers (accounts/app_settings.py). Their keys default to the identity
        # vendor's of the same company (ALIYUN_ACCESS_KEY_*, TENCENT_SECRET_*) when not given:
        # one account often holds both, but a key allowed to send SMS only is better.
        **{
            f"ACCOUNTS_{name}": (name, env.str)
            for name in (
                "SMS_ALIYUN_ENDPOINT",
                "SMS_ALIYUN_SIGN_NAME",
                "SMS_ALIYUN_TEMPLATE_CODE",
                "SMS_ALIYUN_TEMPLATE_ACCOUNT_EXISTS",
                "SMS_ALIYUN_TEMPLATE_UNKNOWN_ACCOUNT",
                "SMS_TENCENT_ENDPOINT",
                "SMS_TENCENT_REGION",
                "SMS_TENCENT_SDK_APP_ID",
                "SMS_TENCENT_SIGN_NAME",
                "SMS_TENCENT_TEMPLATE_CODE",
                "SMS_TENCENT_TEMPLATE_ACCOUNT_EXISTS",
                "SMS_TENCENT_TEMPLATE_UNKNOWN_ACCOUNT",
            )
        },
        VERIFICATION_PROVIDERS=("VERIFICATION_PROVIDERS", env.list),
        VERIFICATION_ROUTES=("VERIFICATION_ROUTES", lambda name: parse_routes(env.str(name))),
        VERIFICATION_MAX_ATTEMPTS_PER_DAY=("VERIFICATION_MAX_ATTEMPTS_PER_DAY", env.int),
        # Retention periods (docs/privacy/retention.md); the privacy policy states them.
        VERIFICATION_RETENTION_FAILED_DAYS=("VERIFICATION_RETENTION_FAILED_DAYS", env.int),
        VERIFICATION_RETENTION_ABANDONED_DAYS=("VERIFICATION_RETENTION_ABANDONED_DAYS", env.int),
        ENTERPRISE_LICENCE_RETENTION_DAYS=("ENTERPRISE_LICENCE_RETENTION_DAYS", env.int),
        ACCOUNTS_RETENTION_ERASED_DAYS=("ACCOUNTS_RETENTION_ERASED_DAYS", env.int),
        ENTERPRISE_PRIVATE_STORAGE_ROOT=("PRIVATE_STORAGE_ROOT", env.str),
        # The host platform API (hostapi/app_settings.py, docs/api.md).
        HOSTAPI_RATE_LIMIT=("HOSTAPI_RATE_LIMIT", env.str),
        HOSTAPI_SESSION_LIFETIME=("HOSTAPI_SESSION_LIFETIME", env.int),
        HOSTAPI_CALL_LOG_RETENTION_DAYS=("HOSTAPI_CALL_LOG_RETENTION_DAYS", env.int),
        HOSTAPI_SESSION_RETENTION_DAYS=("HOSTAPI_SESSION_RETENTION_DAYS", env.int),
        ENTERPRISE_LICENCE_MAX_BYTES=("ENTERPRISE_LICENCE_MAX_BYTES", env.int),
        # Webhooks (webhooks/app_settings.py, docs/webhooks.md).
        WEBHOOKS_MAX_ENDPOINTS_PER_CLIENT=("WEBHOOKS_MAX_ENDPOINTS_PER_CLIENT", env.int),
        WEBHOOKS_RETENTION_DAYS=("WEBHOOKS_RETENTION_DAYS", env.int),
        WEBHOOKS_ALLOWED_NETWORKS=("WEBHOOKS_ALLOWED_NETWORKS", env.list),
        # The sandbox vendor (manage.py run_sandbox_provider): the URL our workers call, the URL
        # browsers are sent to (they differ inside docker-compose), the secret that signs both ways.
        SANDBOX_PROVIDER_URL=("SANDBOX_PROVIDER_URL", env.str),
        SANDBOX_PROVIDER_PUBLIC_URL=("SANDBOX_PROVIDER_PUBLIC_URL", env.str),
        SANDBOX_PROVIDER_APP_ID=("SANDBOX_PROVIDER_APP_ID", env.str),
        SANDBOX_PROVIDER_SECRET=("SANDBOX_PROVIDER_SECRET", env.str),
        SANDBOX_PROVIDER_REGISTRY=("SANDBOX_PROVIDER_REGISTRY", env.str),
        SANDBOX_PROVIDER_COMPANY_REGISTRY=("SANDBOX_PROVIDER_COMPANY_REGISTRY", env.str),
        SANDBOX_PROVIDER_ALIPAY_APP_PUBLIC_KEY=("SANDBOX_PROVIDER_ALIPAY_APP_PUBLIC_KEY", env.str),
    )
)

# The SMS carriers' keys: their own variables, else the identity vendor's of the same company.
globals().update(
    {
        f"ACCOUNTS_{name}": value
        for name, fallback in (
            ("SMS_ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_ID"),
            ("SMS_ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_ACCESS_KEY_SECRET"),
            ("SMS_TENCENT_SECRET_ID", "TENCENT_SECRET_ID"),
            ("SMS_TENCENT_SECRET_KEY", "TENCENT_SECRET_KEY"),
        )
        if (value := env.str(name, default="") or env.str(fallback, default=""))
    }
)

# The identity vendors' credentials and endpoints (verification/providers/<vendor>.py declares
# each, with its default and meaning). Secrets have no default anywhere: an empty one is
# reported by the system checks (verification.E003) when the vendor is configured.
globals().update(
    from_environment(
        **{
            name: (name, env.float if name.endswith("_TIMEOUT") else env.str)
            for name in (
                # Aliyun ID Verification (Cloudauth 2019-03-07, enterprise 2022-11-25)
                "ALIYUN_ACCESS_KEY_ID",
                "ALIYUN_ACCESS_KEY_SECRET",
                "ALIYUN_ENDPOINT",
                "ALIYUN_SIGNATURE_VERSION",
                "ALIYUN_FACE_SCENE_ID",
                "ALIYUN_FACE_PRODUCT_CODE",
                "ALIYUN_ENTERPRISE_SCENE_CODE",
                "ALIYUN_TIMEOUT",
                # Tencent Cloud FaceID (2018-03-01)
                "TENCENT_SECRET_ID",
                "TENCENT_SECRET_KEY",
                "TENCENT_ENDPOINT",
                "TENCENT_REGION",
                "TENCENT_FACE_RULE_ID",
                "TENCENT_TIMEOUT",
                # Alipay open platform (alipay.user.certify.open.*)
                "ALIPAY_APP_ID",
                "ALIPAY_APP_PRIVATE_KEY",
                "ALIPAY_PUBLIC_KEY",
                "ALIPAY_GATEWAY",
                "ALIPAY_BIZ_CODE",
                "ALIPAY_TIMEOUT",
            )
        }
    )
)
