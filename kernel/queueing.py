"""Sending work to the workers without ever losing it or failing the request.

The record is the truth: a task only says "look at record N now". If the broker cannot take the
message (down, unreachable, full), the request still succeeds — the record is committed in its
waiting state — and the sweepers (``verification.sweep``, ``enterprise.sweep``, every minute) send it once the broker
answers again."""

from __future__ import annotations

import logging

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def send_after_commit(task_name: str, record_id: int) -> None:
    """Queue the task registered as ``task_name`` with ``record_id`` once the surrounding
    transaction commits (never before: a worker must find the row), or right away outside one.

    By name, as Celery routes it: the code that queues work need not import the tasks module,
    which imports it in turn."""
    transaction.on_commit(lambda: send_now(task_name, record_id))


def send_now(task_name: str, record_id: int) -> bool:
    """Publish; False (and a warning, without personal data) when the broker refused.

    Any failure, not only kombu's (it wraps a stopped or full Redis as ``OperationalError``):
    this runs after the commit, where raising would turn a stored submission into an error page,
    and the sweeper sends the record whatever kept it from being sent now."""
    try:
        current_app.send_task(task_name, args=(record_id,))
    except Exception as exc:  # the record waits; the request must not fail
        logger.warning(
            "broker unavailable (%s): %s for record %s waits for the sweeper",
            type(exc).__name__,
            task_name,
            record_id,
        )
        return False
    return True
