"""The workers' side of the lifecycle: every provider call runs in a :class:`ProviderTask`,
which turns provider trouble into capped, jittered retries and, finally, an ``error`` state."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from celery import Task
from django.db import DatabaseError

from kernel import metrics

from ..app_settings import app_settings
from ..providers import router
from ..providers.base import (
    ProviderError,
    ProviderPermanentError,
    ProviderTransientError,
    ReasonCode,
)
from .steps import Lifecycle

logger = logging.getLogger("verification.lifecycle")


def backoff_seconds(retries: int) -> float:
    """Exponential with full jitter, capped: 1, 2, 4... times the base, never above the cap."""
    ceiling = min(
        app_settings.PROVIDER_RETRY_BACKOFF_MAX,
        app_settings.PROVIDER_RETRY_BACKOFF * (2**retries),
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not security


def call_provider(
    task: Task,
    *,
    call: Callable[[], None],
    record_failure: Callable[[ReasonCode], int],
    mark_error: Callable[[ReasonCode], object],
    provider: str = "",
) -> None:
    """Run ``call``; turn provider trouble into a retry or, finally, an ``error`` state.

    ``record_failure`` counts a transient failure on the record and returns the count,
    ``mark_error`` stops the record for support staff with a reason code. The cap is on the
    stored count, not on Celery's retry counter, which starts again at zero when the sweeper
    re-enqueues: retries stay capped whatever redelivers them. Each transient failure and
    each answer also counts on ``provider``'s circuit (``verification.providers.router``).
    Each call is counted and timed by provider and outcome (``kernel.metrics``)."""
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
        failures = record_failure(exc.reason_code)
        if failures > app_settings.PROVIDER_MAX_RETRIES:
            mark_error(exc.reason_code)
            return
        logger.warning(
            "%s: provider unavailable (%s), retry %s", task.name, exc.reason_code, failures
        )
        metrics.observe_retry(provider=provider)
        raise task.retry(countdown=backoff_seconds(failures - 1), exc=exc) from None
    except ProviderPermanentError as exc:
        observe("permanent")
        mark_error(exc.reason_code)
    except ProviderError:
        observe("error")
        mark_error(ReasonCode.VENDOR_ERROR)
    except DatabaseError:
        raise  # our database, not the vendor: the sweeper re-enqueues once it is back
    except Exception as exc:
        observe("error")
        # A bug or an answer the client did not expect: stop for support staff rather than
        # retrying blindly. Only the type is logged: a message may quote the vendor's payload.
        logger.error("%s: unexpected %s from the provider call", task.name, type(exc).__name__)
        mark_error(ReasonCode.VENDOR_ERROR)
    else:
        observe("ok")
        if provider:
            router.record_success(provider)


class ProviderTask(Task):
    """Base of every task that calls the identity provider. A task takes a primary key only and
    hands :meth:`run_step` the call to make: the record is re-read and the call made only while
    the record is in the state this task moves on (its entry in the lifecycle's ``pending``),
    so running twice changes nothing. Declare one with
    ``@shared_task(base=ProviderTask, bind=True, name=<a key of pending>, lifecycle=<the kind's>)``."""

    acks_late = True
    max_retries = None
    lifecycle: Lifecycle[Any]

    def run_step(self, verification_id: int, call: Callable[[Any], None]) -> None:
        lifecycle = self.lifecycle
        verification = lifecycle.model._default_manager.filter(
            lifecycle.pending[self.name], pk=verification_id
        ).first()
        if verification is None:
            return
        call_provider(
            self,
            call=lambda: call(verification),
            record_failure=lambda reason: (
                lifecycle.record_provider_failure(
                    verification_id=verification_id, reason_code=reason
                ).provider_failures
            ),
            mark_error=lambda reason: lifecycle.mark_error(
                verification_id=verification_id, reason_code=reason
            ),
            provider=verification.provider,
        )
