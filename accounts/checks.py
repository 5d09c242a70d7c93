"""System checks: misconfiguration is reported by ``manage.py check``, not at the first request."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError
from django.utils.module_loading import import_string

from .app_settings import app_settings

DEVELOPMENT_SMS_BACKENDS = {"accounts.sms.console.SmsBackend", "accounts.sms.locmem.SmsBackend"}


@register()
def check_sms_backend(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    try:
        import_string(app_settings.SMS_BACKEND)
    except ImportError:
        return [
            Error(
                f"ACCOUNTS_SMS_BACKEND {app_settings.SMS_BACKEND!r} cannot be imported.",
                hint="Set the SMS_BACKEND environment variable (setting ACCOUNTS_SMS_BACKEND) "
                "to the dotted path of a BaseSmsBackend subclass.",
                id="accounts.E001",
            )
        ]
    return []


@register(deploy=True)
def check_sms_backend_deploy(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if app_settings.SMS_BACKEND in DEVELOPMENT_SMS_BACKENDS:
        return [
            Error(
                "The SMS backend is a development backend: codes would never reach people.",
                hint="Set the SMS_BACKEND environment variable (setting ACCOUNTS_SMS_BACKEND) "
                "to a vendor backend (or the file backend behind a gateway).",
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
