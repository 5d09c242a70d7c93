"""Celery tasks: each webhook delivery attempt runs here. A task takes a delivery's primary key
only; the service claims the delivery first, so a duplicate message sends nothing."""

from __future__ import annotations

from celery import shared_task

from kernel.retention import run_job

from . import services


@shared_task(name=services.DELIVER, acks_late=True, ignore_result=True)
def deliver(delivery_id: int) -> None:
    services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.sweep", acks_late=True)
def sweep() -> int:
    """Celery beat runs this every minute (``CELERY_BEAT_SCHEDULE``)."""
    return services.delivery_sweep()


@shared_task(name="webhooks.retention", acks_late=True)
def retention() -> dict[str, int]:
    """Celery beat runs this daily (``CELERY_BEAT_SCHEDULE``): open accounts' events past
    ``WEBHOOKS_RETENTION_DAYS`` (``webhooks.events``). Running twice changes nothing."""
    return run_job("webhooks.events")
