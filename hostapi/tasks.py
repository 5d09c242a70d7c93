"""Periodic work of the host platform API."""

from __future__ import annotations

from celery import shared_task

from kernel.retention import run_job


@shared_task(name="hostapi.retention", acks_late=True)
def retention() -> dict[str, dict[str, int]]:
    """Celery beat runs this daily (``CELERY_BEAT_SCHEDULE``): the call log and the sessions
    past their periods (``hostapi.retention``). Running twice changes nothing."""
    return {job: run_job(job) for job in ("hostapi.calls", "hostapi.sessions")}
