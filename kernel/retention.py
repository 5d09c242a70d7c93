"""Retention jobs: each app declares, in its ``retention.py``, the jobs that purge what it keeps
beyond the period its settings (and the privacy policy) promise; this module runs them.

A job is a function ``(now, dry_run, batch_size) -> {"<what>": count}``. It must be idempotent
(a second run changes nothing), work in batches of ``batch_size`` rows (each batch its own
transaction, so a long purge neither locks the table nor loses its progress when stopped), and
with ``dry_run`` count what it would change without changing it. :func:`run_job` records every
real run as a :class:`~kernel.models.RetentionRun` (counts only) and logs one line per run.

The kernel knows no app: jobs are found the way the admin finds ``admin.py`` modules
(``autodiscover_modules("retention")``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

logger = logging.getLogger(__name__)

type JobFunction = Callable[[datetime, bool, int], dict[str, int]]


@dataclass(frozen=True)
class Job:
    name: str
    function: JobFunction
    description: str


_JOBS: dict[str, Job] = {}


def register(name: str, description: str) -> Callable[[JobFunction], JobFunction]:
    """Decorator: declare a retention job under ``name`` (``<app>.<what>``)."""

    def decorate(function: JobFunction) -> JobFunction:
        _JOBS[name] = Job(name=name, function=function, description=description)
        return function

    return decorate


def jobs() -> dict[str, Job]:
    autodiscover_modules("retention")
    return dict(sorted(_JOBS.items()))


def run_job(
    name: str, *, now: datetime | None = None, dry_run: bool = False, batch_size: int = 500
) -> dict[str, int]:
    """Run one job; returns its counts. A real run is recorded; a dry run changes nothing (not
    even the record of runs)."""
    from .models import RetentionRun

    job = jobs()[name]
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = timezone.now()
    now = now or started
    counts = job.function(now, dry_run, batch_size)
    if dry_run:
        logger.info("retention %s (dry run): would change %s", name, counts)
        return counts
    RetentionRun.objects.create(
        job=name, started_at=started, finished_at=timezone.now(), cutoff_now=now, counts=counts
    )
    logger.info("retention %s: changed %s", name, counts)
    return counts


def in_batches(select: Callable[[], list[int]], apply: Callable[[list[int]], int]) -> int:
    """Call ``select`` for the next batch of primary keys and ``apply`` to it until a batch
    comes back empty; the total of what ``apply`` returned. ``apply`` takes each row it changes
    out of what ``select`` finds, so stopping anywhere loses nothing; a batch it could not
    change at all (rows locked by another run) ends this run, and the next run takes them."""
    total = 0
    while batch := select():
        done = apply(batch)
        if not done:
            break
        total += done
    return total
