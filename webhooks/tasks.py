"""Celery tasks: each webhook delivery attempt runs here. A task takes a delivery's primary key
only; the service claims the delivery first, so a duplicate message sends nothing."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name=services.DELIVER, acks_late=True, ignore_result=True)
def deliver(delivery_id: int) -> None:
    services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.sweep", acks_late=True)
def sweep() -> int:
    """Celery beat runs this every minute (``CELERY_BEAT_SCHEDULE``)."""
    return services.delivery_sweep()
