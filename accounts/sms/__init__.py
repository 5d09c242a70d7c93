"""Text messages, sent through pluggable backends chosen by ``SMS_BACKEND``.

``SMS_BACKEND`` is one backend, or several separated by commas, in order of preference: a
dotted path of a :class:`accounts.sms.base.BaseSmsBackend` subclass or a short name (``aliyun``,
``tencent``, ``file``, ``console``, ``locmem``). A message goes to the first; when a carrier
fails for its own reasons (down, throttled, refused our request) the next one is tried, each
once. What is about the number itself (the carrier's per-number limit, an invalid number) is
not retried: no other carrier would change it.

``get_sms_backends()`` is cached and is cleared when the settings change, so tests can swap
backends with ``override_settings``."""

from __future__ import annotations

import functools
import logging
import time

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from kernel import alerts, metrics

from ..app_settings import app_settings
from .base import (
    ACCOUNT_EXISTS,
    CODE,
    UNKNOWN_ACCOUNT,
    BaseSmsBackend,
    SmsCarrierUnreachable,
    SmsInvalidNumberError,
    SmsMessage,
    SmsNumberLimitError,
    SmsSendError,
)

__all__ = [
    "ACCOUNT_EXISTS",
    "CODE",
    "UNKNOWN_ACCOUNT",
    "BaseSmsBackend",
    "SmsCarrierUnreachable",
    "SmsInvalidNumberError",
    "SmsMessage",
    "SmsNumberLimitError",
    "SmsSendError",
    "backend_paths",
    "get_sms_backend",
    "get_sms_backends",
    "send_sms",
]

logger = logging.getLogger(__name__)

#: Short names accepted in ``SMS_BACKEND``.
BACKEND_NAMES = {
    "aliyun": "accounts.sms.aliyun.SmsBackend",
    "tencent": "accounts.sms.tencent.SmsBackend",
    "file": "accounts.sms.filebased.SmsBackend",
    "console": "accounts.sms.console.SmsBackend",
    "locmem": "accounts.sms.locmem.SmsBackend",
}


def backend_paths(value: str | None = None) -> list[str]:
    """The dotted paths ``SMS_BACKEND`` names, in order."""
    value = app_settings.SMS_BACKEND if value is None else value
    names = [name.strip() for name in value.split(",") if name.strip()]
    return [BACKEND_NAMES.get(name, name) for name in names]


@functools.cache
def get_sms_backends() -> tuple[BaseSmsBackend, ...]:
    return tuple(import_string(path)() for path in backend_paths())


def get_sms_backend() -> BaseSmsBackend:
    """The first configured backend (the one every message tries first)."""
    return get_sms_backends()[0]


@receiver(setting_changed)
def _clear_backend_cache(*, setting: str, **kwargs: object) -> None:
    if setting.startswith("ACCOUNTS_SMS_"):
        get_sms_backends.cache_clear()


def _observe(carrier: str, outcome: str, started: float) -> None:
    """One attempt at one carrier, for the metrics and the support team's error-rate alert (a
    refusal about the number is the carrier answering, not the carrier failing)."""
    metrics.observe_call(
        kind="sms", name=carrier, outcome=outcome, seconds=time.monotonic() - started
    )
    alerts.record_call("carrier", carrier, ok=outcome != "error")


def send_sms(*, to: str, body: str, code: str = "", purpose: str = CODE) -> str:
    """Send one message through the first backend that takes it; returns that backend's name.

    Raises :class:`SmsNumberLimitError` or :class:`SmsInvalidNumberError` at once (about the
    number: no retry), and :class:`SmsSendError` once every backend has failed."""
    message = SmsMessage(to=to, body=body, code=code, purpose=purpose)
    backends = get_sms_backends()
    failures: list[str] = []
    for backend in backends:
        started = time.monotonic()
        try:
            backend.send(message)
        except SmsNumberLimitError:
            _observe(backend.name, "rate_limited", started)
            raise
        except SmsInvalidNumberError:
            _observe(backend.name, "invalid_number", started)
            raise
        except SmsSendError as exc:
            _observe(backend.name, "error", started)
            # The message names the carrier's code, never the number (SmsSendError's rule).
            logger.warning("SMS via %s failed: %s", backend.name, exc)
            failures.append(f"{backend.name}: {exc}")
            continue
        _observe(backend.name, "ok", started)
        if failures:
            logger.info("SMS sent via %s after %d failure(s)", backend.name, len(failures))
        return backend.name
    raise SmsSendError("; ".join(failures) or "no SMS backend is configured")
