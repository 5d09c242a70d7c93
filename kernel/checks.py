"""System checks for every app's settings and for the encryption keys: a setting of the wrong
type, a name left behind by a rename, a missing or malformed key are reported by ``manage.py
check`` (and so before ``migrate``/``runserver``), not at the first save.

Registered from ``kernel.apps.KernelConfig.ready``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules

from .app_settings import AppSettings, app_settings
from .crypto import GENERATE_KEY_HINT, encryption_key_problems

# Below this a blind index key is guessable; dev and test keys (20+ characters) pass.
BLIND_INDEX_KEY_MINIMUM = 16
# What a production key should have: as much entropy as the HMAC-SHA256 output.
BLIND_INDEX_KEY_RECOMMENDED = 32
BLIND_INDEX_KEY_HINT = (
    "Set the BLIND_INDEX_KEY environment variable (setting REALNAME_BLIND_INDEX_KEY) to a long "
    "random string, e.g. the output of: "
    'python -c "import secrets;print(secrets.token_urlsafe(48))". It cannot be changed '
    "later without recomputing every blind index."
)

KEY_PROBLEM_IDS = {
    "empty": "realname.E010",
    "malformed": "realname.E011",
    "short": "realname.E012",
    "duplicate": "realname.E013",
}


@register()
def check_app_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Every setting an app declares has its declared type, and no Django setting still uses
    a name that a setting was renamed from (it would be ignored without a word)."""
    autodiscover_modules("app_settings")  # every installed app's declarations
    messages: list[CheckMessage] = []
    for declaration in AppSettings.__subclasses__():
        for setting in declaration.declared():
            try:
                setting.read()
            except ImproperlyConfigured as exc:
                messages.append(Error(str(exc), id="realname.E001"))
            if setting.formerly and hasattr(settings, setting.formerly):
                messages.append(
                    Warning(
                        f"The {setting.formerly} setting is no longer read.",
                        hint=f"Rename it {setting.name}.",
                        id="realname.W002",
                    )
                )
    return messages


@register(Tags.security)
def check_field_encryption_keys(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """REALNAME_FIELD_ENCRYPTION_KEYS must hold at least one well-formed key of 32+ bytes, ids
    unique."""
    try:
        keys = app_settings.FIELD_ENCRYPTION_KEYS
    except ImproperlyConfigured:
        return []  # not a list: realname.E001
    return [
        Error(str(problem), hint=GENERATE_KEY_HINT, id=KEY_PROBLEM_IDS[problem.code])
        for problem in encryption_key_problems(keys)
    ]


@register(Tags.security)
def check_blind_index_key(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    try:
        key = app_settings.BLIND_INDEX_KEY
    except ImproperlyConfigured:
        return []  # not a str: realname.E001
    if not key:
        return [
            Error(
                "REALNAME_BLIND_INDEX_KEY is empty.", hint=BLIND_INDEX_KEY_HINT, id="realname.E014"
            )
        ]
    if len(key) < BLIND_INDEX_KEY_MINIMUM:
        return [
            Error(
                f"REALNAME_BLIND_INDEX_KEY is {len(key)} characters long; it must be at least "
                f"{BLIND_INDEX_KEY_MINIMUM}.",
                hint=BLIND_INDEX_KEY_HINT,
                id="realname.E015",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_blind_index_key_deploy(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Only under ``check --deploy``: the development and test keys are shorter on purpose."""
    try:
        key = app_settings.BLIND_INDEX_KEY
    except ImproperlyConfigured:
        return []  # not a str: realname.E001
    if BLIND_INDEX_KEY_MINIMUM <= len(key) < BLIND_INDEX_KEY_RECOMMENDED:
        return [
            Warning(
                f"REALNAME_BLIND_INDEX_KEY is {len(key)} characters long; production keys should "
                f"have at least {BLIND_INDEX_KEY_RECOMMENDED}.",
                hint=BLIND_INDEX_KEY_HINT,
                id="realname.W016",
            )
        ]
    return []


@register(Tags.database)
def check_database_pool_budget(
    app_configs: Any, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """Every process has a pool of its own: ``DATABASE_POOL_MAX_SIZE`` connections times
    ``REALNAME_DATABASE_PROCESSES`` must fit in what the server allows ordinary roles (run by
    ``migrate`` and ``check --database default``)."""
    from django.db import connections

    if not databases or "default" not in databases:
        return []
    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    if not pool:
        return []
    max_size = int(pool.get("max_size") or pool.get("min_size") or 4) if pool is not True else 4
    processes = app_settings.DATABASE_PROCESSES
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('max_connections')::int"
                " - current_setting('superuser_reserved_connections')::int"
            )
            (allowed,) = cursor.fetchone()
    except Exception:  # the server is unreachable: the database checks say so
        return []
    if max_size * processes <= allowed:
        return []
    return [
        Warning(
            f"{processes} process(es) with a database pool of up to {max_size} connections may "
            f"open {max_size * processes}; the server allows {allowed}.",
            hint="Lower DATABASE_POOL_MAX_SIZE, run fewer processes, or raise PostgreSQL's "
            "max_connections (docs/database-connections.md). DATABASE_PROCESSES says how many "
            "processes share the server.",
            id="realname.W030",
        )
    ]
