"""Text messages, sent through a pluggable backend chosen by ``SMS_BACKEND``.

A vendor backend (Aliyun SMS, Tencent Cloud SMS) is one module with one class implementing
:class:`accounts.sms.base.BaseSmsBackend`. ``get_sms_backend()`` is cached and is cleared when the
setting changes, so tests can swap it with ``override_settings``."""

from __future__ import annotations

import functools

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from ..app_settings import app_settings
from .base import BaseSmsBackend, SmsMessage, SmsSendError

__all__ = ["BaseSmsBackend", "SmsMessage", "SmsSendError", "get_sms_backend", "send_sms"]


@functools.cache
def get_sms_backend() -> BaseSmsBackend:
    backend_class = import_string(app_settings.SMS_BACKEND)
    return backend_class()


@receiver(setting_changed)
def _clear_backend_cache(*, setting: str, **kwargs: object) -> None:
    if setting in {"ACCOUNTS_SMS_BACKEND", "ACCOUNTS_SMS_FILE_PATH"}:
        get_sms_backend.cache_clear()


def send_sms(*, to: str, body: str, code: str = "") -> None:
    """Send one message; raises SmsSendError when the backend could not deliver it."""
    get_sms_backend().send(SmsMessage(to=to, body=body, code=code))
