"""The workers' side of the lifecycle: every provider call runs in a :class:`ProviderTask`,
which turns provider trouble into capped, jittered retries for a time window and, finally, an
``error`` state."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from celery import Task
from django.db import DatabaseError
from django.utils import timezone

from kernel import alerts, metrics
from kernel.db import database_busy, release_connection

from ..app_settings import app_settings
from ..providers import router
from ..providers.base import (
    ProviderError,
    ProviderPermanentError,
    ProviderTransientError,
    ReasonCode,
)
from .steps import Failures, Lifecycle

logger = logging.getLogger("verification.lifecycle")


#: Retries past this many double the wait no further (the cap applies long before).
_MAX_DOUBLINGS = 30
#: A task that finds the database busy (no pooled connection in time, or the server's
#: connection limit) tries again this many times, with backoff, before it leaves the record to
#: the sweeper: the record stays waiting, never in ``error``, since the vendor did nothing wrong.
DATABASE_BUSY_RETRIES = 10


def backoff_seconds(retries: int) -> float:
    """Exponential with jitter, capped: about 1, 2, 4... times the base, never above the cap."""
    ceiling = min(
        app_settings.PROVIDER_RETRY_BACKOFF_MAX,
        app_settings.PROVIDER_RETRY_BACKOFF * (2 ** min(retries, _MAX_DOUBLINGS)),
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not security


def retry_window_left(since: datetime, *, now: datetime | None = None) -> float:
    """Seconds left of ``VERIFICATION_PROVIDER_RETRY_WINDOW`` for a step failing since
    ``since`` (zero or less: spent)."""
    waited = ((now or timezone.now()) - since).total_seconds()
    return app_settings.PROVIDER_RETRY_WINDOW - waited


def _count_call(provider: str, *, ok: bool) -> None:
    """The provider's error rate, for the support team's alert (kernel.alerts)."""
    if provider:
        alerts.record_call("provider", provider, ok)


def call_provider(
    task: Task,
    *,
    call: Callable[[], None],
    record_failure: Callable[[ReasonCode], Failures],
    mark_error: Callable[[ReasonCode], object],
    provider: str = "",
) -> None:
    """Run ``call``; turn provider trouble into a retry or, finally, an ``error`` state.

    ``record_failure`` counts a transient failure on the record and returns the step's run of
    failures, ``mark_error`` stops the record for support staff with a reason code. Retries go
    on, with capped and jittered exponential backoff, until ``VERIFICATION_PROVIDER_RETRY_WINDOW``
    has passed since the step's first failure: the stored time, not Celery's retry counter,
    which starts again at zero when the sweeper re-enqueues, so whatever redelivers a call the
    window holds. Each transient failure and each answer also counts on ``provider``'s circuit
    (``verification.providers.router``) and its error rate (``kernel.alerts``), and is counted
    and timed by provider and outcome (``kernel.metrics``)."""
    started = time.monotonic()

    def observe(outcome: str) -> None:
        seconds = time.monotonic() - started
        metrics.observe_call(kind="provider", name=provider, outcome=outcome, seconds=seconds)

    try:
        call()
    except ProviderTransientError as exc:
        observe("transient")
        if provider:
            router.record_failure(provider)
        _count_call(provider, ok=False)
        failures = record_failure(exc.reason_code)
        left = retry_window_left(failures.since)
        if left <= 0:
            mark_error(exc.reason_code)
            return
        logger.warning(
            "%s: provider unavailable (%s), retry %s, %.0f s of the retry window left",
            task.name,
            exc.reason_code,
            failures.count,
            left,
        )
        metrics.observe_retry(provider=provider)
        countdown = min(backoff_seconds(failures.count - 1), left)
        raise task.retry(countdown=countdown, exc=exc) from None
    except ProviderPermanentError as exc:
        observe("permanent")
        _count_call(provider, ok=False)
        mark_error(exc.reason_code)
    except ProviderError:
        observe("error")
        _count_call(provider, ok=False)
        mark_error(ReasonCode.VENDOR_ERROR)
    except DatabaseError:
        raise  # our database, not the vendor: the sweeper re-enqueues once it is back
    except Exception as exc:
        observe("error")
        # A bug or an answer the client did not expect: stop for support staff rather than
        # retrying blindly. Only the type is logged: a message may quote the vendor's payload.
        logger.error("%s: unexpected %s from the provider call", task.name, type(exc).__name__)
        _count_call(provider, ok=False)
        mark_error(ReasonCode.VENDOR_ERROR)
    else:
        observe("ok")
        if provider:
            router.record_success(provider)
        _count_call(provider, ok=True)


class ProviderTask(Task):
    """Base of every task that calls the identity provider. A task takes a primary key only and
    hands :meth:`run_step` the call to make: the record is re-read and the call made only while
    the record is in the state this task moves on (its entry in the lifecycle's ``pending``),
    so running twice changes nothing. The database connection goes back to the pool while the
    vendor answers, and a busy database (pool or server full) means a retry, not an error.
    Declare one with
    ``@shared_task(base=ProviderTask, bind=True, name=<a key of pending>, lifecycle=<the kind's>)``."""

    acks_late = True
    max_retries = None
    lifecycle: Lifecycle[Any]

    def run_step(self, verification_id: int, call: Callable[[Any], None]) -> None:
        try:
            self._run_step(verification_id, call)
        except DatabaseError as exc:
            if not database_busy(exc) or self.request.retries >= DATABASE_BUSY_RETRIES:
                raise  # the sweeper re-enqueues the record once the database is back
            countdown = backoff_seconds(self.request.retries)
            logger.warning(
                "%s: database busy (%s), record %s retried in %.1f s",
                self.name,
                type(exc).__name__,
                verification_id,
                countdown,
            )
            raise self.retry(countdown=countdown, exc=exc) from None

    def _run_step(self, verification_id: int, call: Callable[[Any], None]) -> None:
        lifecycle = self.lifecycle
        verification = lifecycle.model._default_manager.filter(
            lifecycle.pending[self.name], pk=verification_id
        ).first()
        if verification is None:
            return
        # The vendor may take seconds: its wait must not hold a pooled connection.
        release_connection()
        call_provider(
            self,
            call=lambda: call(verification),
            record_failure=lambda reason: lifecycle.failures_of(
                lifecycle.record_provider_failure(
                    verification_id=verification_id, reason_code=reason
                )
            ),
            mark_error=lambda reason: lifecycle.mark_error(
                verification_id=verification_id, reason_code=reason
            ),
            provider=verification.provider,
        )
