"""Periodic work of the accounts app, run by Celery beat (``CELERY_BEAT_SCHEDULE``)."""

from __future__ import annotations

from celery import shared_task

from kernel.retention import run_job


@shared_task(name="accounts.retention", acks_late=True)
def retention() -> dict[str, int]:
    """Daily: what is kept of closed accounts whose legal period is over goes
    (``accounts.erased``, docs/privacy/retention.md). Running twice changes nothing."""
    return run_job("accounts.erased", batch_size=100)
