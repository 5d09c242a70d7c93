"""Telling the support team that something is wrong, before the people it affects do.

Two things alert: a verification stopping in ``error`` (the apps call :func:`alert`), and the
error rate of one outside service crossing ``REALNAME_ALERT_ERROR_RATE`` (every call to a
provider or an SMS carrier is counted with :func:`record_call`). An alert goes by mail to
``REALNAME_ALERT_EMAILS`` and, optionally, as a JSON POST to ``REALNAME_ALERT_WEBHOOK_URL``; one of
a kind at most once per ``REALNAME_ALERT_INTERVAL``, decided in the shared cache so that every
web and worker process agrees. Sending happens in a Celery task, never in the caller's request.

Alerts carry counts, names of services, reason codes and record ids: never personal data.
The counting and the sending live here, in the kernel, so every app (accounts' SMS carriers,
the verification lifecycle) can use them without importing one another."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import httpx
from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from kombu.exceptions import KombuError

from .app_settings import app_settings

logger = logging.getLogger(__name__)

SEND_TASK = "kernel.send_alert"
MAIL, WEBHOOK = "mail", "webhook"
Fact = str | int | float
#: Seconds the webhook call may take; the task retries it with backoff after a failure.
WEBHOOK_TIMEOUT = 10.0
SEND_RETRIES = 5


def sent_key(key: str) -> str:
    """The cache key that holds back further alerts of ``key`` for ``REALNAME_ALERT_INTERVAL``."""
    return f"alerts:sent:{key}"


def channels() -> list[str]:
    """The configured ways of reaching the support team."""
    found = []
    if app_settings.ALERT_EMAILS:
        found.append(MAIL)
    if app_settings.ALERT_WEBHOOK_URL:
        found.append(WEBHOOK)
    return found


def alert(*, key: str, subject: str, facts: dict[str, Fact]) -> bool:
    """Alert the support team about ``key`` (``verification_error``,
    ``error_rate:provider:aliyun``) unless one was sent within ``REALNAME_ALERT_INTERVAL``.
    Queued once the surrounding transaction commits. ``subject`` and ``facts`` must hold no
    personal data. Returns whether an alert was queued. Never raises: an alert that cannot be
    sent is logged at ERROR (the log is the last channel left)."""
    ways = channels()
    if not ways:
        return False
    try:
        first = cache.add(sent_key(key), int(time.time()), timeout=app_settings.ALERT_INTERVAL)
    except Exception as exc:  # the cache (Redis) is down: do not flood, say it in the log
        logger.error(
            "alert %s not sent, cache unavailable (%s): %s", key, type(exc).__name__, subject
        )
        return False
    if not first:
        return False
    payload = {"key": key, "subject": subject, "facts": facts, "at": int(time.time())}
    transaction.on_commit(lambda: _publish(payload, ways))
    return True


def _publish(payload: dict[str, Any], ways: list[str]) -> None:
    try:
        for way in ways:
            send_alert.apply_async(args=(way, payload))
    except (KombuError, OSError) as exc:
        logger.error(
            "alert %s not sent, broker unavailable (%s): %s",
            payload["key"],
            type(exc).__name__,
            payload["subject"],
        )
        # Let the next occurrence try again rather than hold back an alert nobody received.
        # The cache may be down too: the log above says enough.
        with contextlib.suppress(Exception):
            cache.delete(sent_key(str(payload["key"])))


def record_call(kind: str, name: str, ok: bool) -> None:
    """Count one call to an outside service (``kind`` "provider" or "carrier", ``name`` the
    configured one: "aliyun", "tencent_sms"), and alert once its failures reach
    ``REALNAME_ALERT_ERROR_RATE`` of at least ``REALNAME_ALERT_RATE_MIN_CALLS`` calls in the
    current ``REALNAME_ALERT_RATE_WINDOW``. ``ok`` is False for trouble on the service's side
    (timeouts, 5xx, refusals), True for any answer, a person's mismatch included. Never
    raises: counting must not break the call it counts."""
    window = max(1, app_settings.ALERT_RATE_WINDOW)
    bucket = int(time.time() // window)
    prefix = f"alerts:calls:{kind}:{name}:{bucket}"
    try:
        calls = _increment(f"{prefix}:calls", timeout=2 * window)
        if ok:
            return  # an answer never raises the error rate: nothing more to read
        failures = _increment(f"{prefix}:failed", timeout=2 * window)
    except Exception as exc:
        logger.warning(
            "%s %s call not counted, cache unavailable (%s)", kind, name, type(exc).__name__
        )
        return
    if calls < app_settings.ALERT_RATE_MIN_CALLS:
        return
    if failures / calls >= app_settings.ALERT_ERROR_RATE:
        alert(
            key=f"error_rate:{kind}:{name}",
            subject=f"{kind} {name}: {failures} of {calls} calls failed",
            facts={
                "kind": kind,
                "name": name,
                "calls": calls,
                "failures": failures,
                "error_rate": round(failures / calls, 3),
                "window_seconds": window,
            },
        )


def _increment(key: str, *, timeout: int) -> int:
    """Add one to a counter that expires ``timeout`` seconds after its first count (two round
    trips to Redis in the common case: the counter exists)."""
    for _ in range(3):
        try:
            return int(cache.incr(key))
        except ValueError:  # no counter yet (or it just expired): start one
            if cache.add(key, 1, timeout=timeout):
                return 1
    return int(cache.incr(key))


def _mail_body(payload: dict[str, Any]) -> str:
    lines = [str(payload["subject"]), ""]
    lines += [f"{name}: {value}" for name, value in payload["facts"].items()]
    minutes = max(1, app_settings.ALERT_INTERVAL // 60)
    lines += [
        "",
        f"Further alerts of this kind are held back for {minutes} minutes.",
    ]
    base = app_settings.PUBLIC_URL.strip().rstrip("/")
    if base:
        lines.append(f"The support desk: {base}/admin/")
    return "\n".join(lines) + "\n"


@shared_task(
    name=SEND_TASK, bind=True, acks_late=True, ignore_result=True, max_retries=SEND_RETRIES
)
def send_alert(self: Any, way: str, payload: dict[str, Any]) -> None:
    """Deliver one alert by one way; a mail server or webhook that fails is retried with
    backoff (each way is its own task, so a failed webhook never mails twice)."""
    try:
        if way == MAIL:
            send_mail(
                subject=f"{settings.EMAIL_SUBJECT_PREFIX}{payload['subject']}",
                message=_mail_body(payload),
                from_email=None,
                recipient_list=app_settings.ALERT_EMAILS,
            )
        elif way == WEBHOOK and app_settings.ALERT_WEBHOOK_URL:
            response = httpx.post(
                app_settings.ALERT_WEBHOOK_URL,
                json={"source": "realname", **payload},
                timeout=WEBHOOK_TIMEOUT,
            )
            response.raise_for_status()
    except (OSError, httpx.HTTPError) as exc:  # smtplib's errors are OSErrors
        logger.warning(
            "alert %s by %s failed (%s), retrying", payload["key"], way, type(exc).__name__
        )
        raise self.retry(exc=exc, countdown=min(300, 10 * 2**self.request.retries)) from None
