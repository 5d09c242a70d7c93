"""Reachability checks behind /healthz. Each returns (ok, detail); details never hold secrets."""

from __future__ import annotations

from celery import current_app as celery_app
from django.db import connection

from .app_settings import app_settings


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"; the type is enough to act on
        return False, type(exc).__name__
    return True, "ok"


def check_broker() -> tuple[bool, str]:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return False, type(exc).__name__
    return True, "ok"


def check_worker() -> tuple[bool, str]:
    """At least one worker answers a control ping on the broker."""
    try:
        with celery_app.connection_for_write() as conn:
            replies = celery_app.control.ping(
                timeout=app_settings.HEALTHZ_WORKER_TIMEOUT, connection=conn
            )
    except Exception as exc:
        return False, type(exc).__name__
    if not replies:
        return False, "no worker answered"
    return True, f"{len(replies)} worker(s)"


def check_task_round_trip(timeout: float = 10.0) -> tuple[bool, str]:
    """Send a real task and wait for its result: proves the queue is being consumed."""
    from .tasks import health_probe

    try:
        result = health_probe.apply_async(expires=timeout)
        value = result.get(timeout=timeout)
    except Exception as exc:
        return False, type(exc).__name__
    return value == "ok", str(value)
