"""System checks for every app's settings and for the encryption keys: a setting of the wrong
type, a missing or malformed key are reported by ``manage.py check`` (and so before
``migrate``/``runserver``), not at the first save.

Registered from ``kernel.apps.KernelConfig.ready``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules

from .app_settings import AppSettings
from .crypto import GENERATE_KEY_HINT, encryption_key_problems

# Below this a blind index key is guessable; dev and test keys (20+ characters) pass.
BLIND_INDEX_KEY_MINIMUM = 16
# What a production key should have: as much entropy as the HMAC-SHA256 output.
BLIND_INDEX_KEY_RECOMMENDED = 32
BLIND_INDEX_KEY_HINT = (
    "Set BLIND_INDEX_KEY to a long random string, e.g. the output of: "
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
    """Every setting an app declares has its declared type."""
    autodiscover_modules("app_settings")  # every installed app's declarations
    messages: list[CheckMessage] = []
    for declaration in AppSettings.__subclasses__():
        for setting in declaration.declared():
            try:
                setting.read()
            except ImproperlyConfigured as exc:
                messages.append(Error(str(exc), id="realname.E001"))
    return messages


@register(Tags.security)
def check_field_encryption_keys(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """FIELD_ENCRYPTION_KEYS must hold at least one well-formed key of 32+ bytes, ids unique."""
    return [
        Error(str(problem), hint=GENERATE_KEY_HINT, id=KEY_PROBLEM_IDS[problem.code])
        for problem in encryption_key_problems(getattr(settings, "FIELD_ENCRYPTION_KEYS", None))
    ]


@register(Tags.security)
def check_blind_index_key(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    key = getattr(settings, "BLIND_INDEX_KEY", "")
    if not isinstance(key, str) or not key:
        return [Error("BLIND_INDEX_KEY is empty.", hint=BLIND_INDEX_KEY_HINT, id="realname.E014")]
    if len(key) < BLIND_INDEX_KEY_MINIMUM:
        return [
            Error(
                f"BLIND_INDEX_KEY is {len(key)} characters long; it must be at least "
                f"{BLIND_INDEX_KEY_MINIMUM}.",
                hint=BLIND_INDEX_KEY_HINT,
                id="realname.E015",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_blind_index_key_deploy(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Only under ``check --deploy``: the development and test keys are shorter on purpose."""
    key = getattr(settings, "BLIND_INDEX_KEY", "")
    if isinstance(key, str) and BLIND_INDEX_KEY_MINIMUM <= len(key) < BLIND_INDEX_KEY_RECOMMENDED:
        return [
            Warning(
                f"BLIND_INDEX_KEY is {len(key)} characters long; production keys should have at "
                f"least {BLIND_INDEX_KEY_RECOMMENDED}.",
                hint=BLIND_INDEX_KEY_HINT,
                id="realname.W016",
            )
        ]
    return []
