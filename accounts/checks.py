"""System checks: misconfiguration is reported by ``manage.py check``, not at the first request."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError
from django.utils.module_loading import import_string

from .app_settings import app_settings
from .sms import backend_paths

DEVELOPMENT_SMS_BACKENDS = {"accounts.sms.console.SmsBackend", "accounts.sms.locmem.SmsBackend"}


#: Settings each carrier backend cannot work without (without the ``ACCOUNTS_`` prefix).
CARRIER_REQUIRED_SETTINGS = {
    "accounts.sms.aliyun.SmsBackend": (
        "SMS_ALIYUN_ACCESS_KEY_ID",
        "SMS_ALIYUN_ACCESS_KEY_SECRET",
        "SMS_ALIYUN_TEMPLATE_CODE",
    ),
    "accounts.sms.tencent.SmsBackend": (
        "SMS_TENCENT_SECRET_ID",
        "SMS_TENCENT_SECRET_KEY",
        "SMS_TENCENT_SDK_APP_ID",
        "SMS_TENCENT_TEMPLATE_CODE",
    ),
}


@register()
def check_sms_backend(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    paths = backend_paths()
    if not paths:
        problems.append(
            Error(
                "ACCOUNTS_SMS_BACKEND names no backend.",
                hint="Set the SMS_BACKEND environment variable to a backend (aliyun, tencent, "
                "file...) or several separated by commas.",
                id="accounts.E001",
            )
        )
    for path in paths:
        try:
            import_string(path)
        except ImportError:
            problems.append(
                Error(
                    f"ACCOUNTS_SMS_BACKEND {path!r} cannot be imported.",
                    hint="Set the SMS_BACKEND environment variable (setting "
                    "ACCOUNTS_SMS_BACKEND) to a short name (aliyun, tencent, file, console, "
                    "locmem) or the dotted path of a BaseSmsBackend subclass.",
                    id="accounts.E001",
                )
            )
            continue
        missing = [
            name
            for name in CARRIER_REQUIRED_SETTINGS.get(path, ())
            if not getattr(app_settings, name)
        ]
        if missing:
            problems.append(
                Error(
                    f"The {path.split('.')[-2]} SMS backend is configured without "
                    f"{', '.join(missing)}.",
                    hint="Set the environment variables of the same names (docs: "
                    "Going live, SMS carriers); `manage.py check_sms NAME` tests them.",
                    id="accounts.E005",
                )
            )
    return problems


@register(deploy=True)
def check_sms_backend_deploy(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if any(path in DEVELOPMENT_SMS_BACKENDS for path in backend_paths()):
        return [
            Error(
                "The SMS backend is a development backend: codes would never reach people.",
                hint="Set the SMS_BACKEND environment variable (setting ACCOUNTS_SMS_BACKEND) "
                "to a carrier (aliyun, tencent, or both: aliyun,tencent).",
                id="accounts.E004",
            )
        ]
    return []


@register()
def check_phone_adapter(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """allauth stores no phone numbers; without these adapter methods phone log-in breaks at
    the first request and allauth's own checks do not notice."""
    from allauth.account.adapter import get_adapter

    if not get_adapter()._has_phone_impl:
        return [
            Error(
                "The account adapter does not implement allauth's phone methods.",
                hint="Set ACCOUNT_ADAPTER = 'accounts.adapter.AccountAdapter'.",
                id="accounts.E002",
            )
        ]
    return []


@register(Tags.database)
def check_legal_documents(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    from .selectors import legal_documents_current

    slugs = (*app_settings.VERIFICATION_DOCUMENTS, app_settings.FACE_DOCUMENT)
    try:
        published = {document.slug for document in legal_documents_current(slugs)}
    except DatabaseError:
        return []
    missing = [slug for slug in slugs if slug not in published]
    if missing:
        return [
            Warning(
                f"No version in force of: {', '.join(missing)}. Sign-up and verification are closed.",
                hint="Run `manage.py migrate` or `manage.py publish_legal_document`.",
                id="accounts.E003",
            )
        ]
    return []


@register(Tags.database)
def check_stated_retention_periods(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """The privacy policy in force states retention periods; the settings enforce them
    (verification.retention, enterprise.retention). A setting changed without a new version of
    the policy would make the policy untrue."""
    from kernel.app_settings import AppSettings

    from .legal import stated_periods
    from .selectors import legal_document_current

    try:
        document = legal_document_current("privacy-policy")
    except DatabaseError:
        return []
    if document is None:
        return []
    stated = stated_periods(document.slug, document.version)
    declared = {
        setting.name: setting
        for settings_class in AppSettings.__subclasses__()
        for setting in settings_class.declared()
    }
    messages: list[CheckMessage] = []
    for name, days in stated.items():
        setting = declared.get(name)
        if setting is None:
            continue  # the app enforcing it is not installed
        value = setting.read()
        if value != days:
            messages.append(
                Warning(
                    f"{name} is {value} days, but the privacy policy in force "
                    f"(version {document.version}) states {days}.",
                    hint="Set it back, or write a new version of the privacy policy stating "
                    "the new period (accounts/legal/privacy-policy/) and publish it with "
                    "`manage.py publish_legal_document privacy-policy <version>`.",
                    id="accounts.W004",
                )
            )
    return messages
