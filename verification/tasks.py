"""Celery tasks: every call to the identity provider happens here, never in a web request.

Each task takes a primary key only, re-reads the verification, does nothing if its step is
already done (so running twice changes nothing), and records the outcome through a service.
Transient provider errors retry with capped exponential backoff; after the last retry, or on a
permanent error, the verification stops in ``error`` for support staff."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from django.db import DatabaseError

from . import services
from .app_settings import app_settings
from .models import PersonalVerification
from .providers import get_provider
from .providers.base import (
    Identity,
    ProviderError,
    ProviderPermanentError,
    ProviderTransientError,
    ReasonCode,
)

logger = logging.getLogger(__name__)
Status = PersonalVerification.Status
TASK_OPTIONS: dict[str, Any] = {"bind": True, "acks_late": True, "max_retries": None}


def _identity(verification: PersonalVerification) -> Identity:
    return Identity(
        name=verification.name,
        document_type=verification.document_type,
        document_number=verification.document_number,
        birth_date=verification.birth_date,
    )


def liveness_request_id(verification: PersonalVerification) -> str:
    """The idempotency key of a face session: the same for every retry of one session, new when
    support staff restart a session the provider lost."""
    suffix = f":{verification.liveness_restarts}" if verification.liveness_restarts else ""
    return f"{verification.public_id}:liveness{suffix}"


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
) -> None:
    """Run ``call``; turn provider trouble into a retry or, finally, an ``error`` state.

    Shared by every kind of verification: ``record_failure`` counts a transient failure on the
    record and returns the count, ``mark_error`` stops the record for support staff with a
    reason code. The cap is on the stored count, not on Celery's retry counter, which starts
    again at zero when the sweeper re-enqueues: retries stay capped whatever redelivers them."""
    try:
        call()
    except ProviderTransientError as exc:
        failures = record_failure(exc.reason_code)
        if failures > app_settings.PROVIDER_MAX_RETRIES:
            mark_error(exc.reason_code)
            return
        logger.warning(
            "%s: provider unavailable (%s), retry %s", task.name, exc.reason_code, failures
        )
        raise task.retry(countdown=backoff_seconds(failures - 1), exc=exc) from None
    except ProviderPermanentError as exc:
        mark_error(exc.reason_code)
    except ProviderError:
        mark_error(ReasonCode.VENDOR_ERROR)
    except DatabaseError:
        raise  # our database, not the vendor: the sweeper re-enqueues once it is back
    except Exception as exc:
        # A bug or an answer the client did not expect: stop for support staff rather than
        # retrying blindly. Only the type is logged: a message may quote the vendor's payload.
        logger.error("%s: unexpected %s from the provider call", task.name, type(exc).__name__)
        mark_error(ReasonCode.VENDOR_ERROR)


def _call_provider(task: Task, verification_id: int, call: Callable[[], None]) -> None:
    call_provider(
        task,
        call=call,
        record_failure=lambda reason: (
            services.verification_record_provider_failure(
                verification_id=verification_id, reason_code=reason
            ).provider_failures
        ),
        mark_error=lambda reason: services.verification_mark_error(
            verification_id=verification_id, reason_code=reason
        ),
    )


@shared_task(name="verification.check_identity", **TASK_OPTIONS)
def check_identity(self: Task, verification_id: int) -> None:
    verification = PersonalVerification.objects.filter(pk=verification_id).first()
    if verification is None or verification.status != Status.SUBMITTED:
        return

    def call() -> None:
        result = get_provider().check_identity(
            request_id=f"{verification.public_id}:identity", identity=_identity(verification)
        )
        services.verification_record_identity_result(verification_id=verification_id, result=result)

    _call_provider(self, verification_id, call)


@shared_task(name="verification.start_liveness", **TASK_OPTIONS)
def start_liveness(self: Task, verification_id: int) -> None:
    verification = PersonalVerification.objects.filter(pk=verification_id).first()
    if (
        verification is None
        or verification.status != Status.IN_PROGRESS
        or verification.face_requested_at is None
        or verification.liveness_url
    ):
        return

    def call() -> None:
        session = get_provider().start_liveness(
            request_id=liveness_request_id(verification),
            identity=_identity(verification),
            return_url=verification.return_url,
            notify_url=verification.notify_url,
        )
        services.verification_record_liveness_session(
            verification_id=verification_id, session=session
        )

    _call_provider(self, verification_id, call)


@shared_task(name="verification.fetch_liveness_result", **TASK_OPTIONS)
def fetch_liveness_result(self: Task, verification_id: int) -> None:
    """Ask for the face check's outcome. Still pending is not an error: the notification, the
    person's return or the sweeper asks again later."""
    verification = PersonalVerification.objects.filter(pk=verification_id).first()
    if (
        verification is None
        or verification.status != Status.IN_PROGRESS
        or not verification.liveness_ref
    ):
        return

    def call() -> None:
        result = get_provider().fetch_liveness_result(provider_ref=verification.liveness_ref)
        if result is not None:
            services.verification_record_liveness_result(
                verification_id=verification_id, result=result
            )

    _call_provider(self, verification_id, call)


@shared_task(name="verification.sweep", acks_late=True)
def sweep() -> dict[str, int]:
    """Celery beat runs this every minute (``CELERY_BEAT_SCHEDULE``)."""
    return services.verification_sweep()
