"""Celery tasks: every call to the identity provider happens here, never in a web request.

Each task takes a primary key only; ``ProviderTask.run_step`` re-reads the verification, makes
the call only while the record waits for it (so running twice changes nothing), and turns
provider trouble into retries or, finally, an ``error`` state (``verification.lifecycle``). The
outcome is recorded through a service. Services queue these by their registered names: this
module imports the services, never the other way round."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from kernel.retention import run_job

from . import services
from .app_settings import app_settings
from .lifecycle import ProviderTask
from .models import PersonalVerification
from .providers import get_provider
from .providers.base import CheckResult, Identity, ProviderPermanentError, ReasonCode


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


def _check_identity(verification: PersonalVerification) -> None:
    provider = get_provider(verification.provider)
    if not provider.checks_identity_separately:
        # The vendor checks name and number with the face (Alipay): nothing to ask yet.
        services.verification_defer_identity_check(verification_id=verification.pk)
        return
    result = provider.check_identity(
        request_id=f"{verification.public_id}:identity", identity=_identity(verification)
    )
    services.verification_record_identity_result(
        verification_id=verification.pk, result=result, seen=verification
    )


def _start_liveness(verification: PersonalVerification) -> None:
    session = get_provider(verification.provider).start_liveness(
        request_id=liveness_request_id(verification),
        identity=_identity(verification),
        return_url=verification.return_url,
        notify_url=verification.notify_url,
    )
    services.verification_record_liveness_session(verification_id=verification.pk, session=session)


def _session_unknown(refusal: ProviderPermanentError) -> bool:
    """The vendor refused to look the session up, and not for a reason of our configuration
    (credentials, signature, clock...: those carry a diagnosis): it no longer knows it."""
    return refusal.reason_code == ReasonCode.REJECTED_REQUEST and not refusal.diagnosis


def _fetch_liveness_result(verification: PersonalVerification) -> None:
    """Still pending is not an error: the notification, the person's return or the sweeper
    asks again later, until the provider's session lifetime (plus
    ``VERIFICATION_FACE_SESSION_GRACE``): a session still unfinished then was abandoned, and is
    recorded as expired so the person can start again."""
    provider = get_provider(verification.provider)
    try:
        result = provider.fetch_liveness_result(provider_ref=verification.liveness_ref)
    except ProviderPermanentError as refusal:
        if _session_unknown(refusal) and services.verification_face_session_lost(
            verification_id=verification.pk
        ):
            return  # the person starts a new face session from their status page
        raise
    started = verification.liveness_started_at
    if result is None and started is not None:
        age = (timezone.now() - started).total_seconds()
        if age > provider.face_session_seconds + app_settings.FACE_SESSION_GRACE:
            result = CheckResult(
                passed=False,
                reason_code=ReasonCode.LIVENESS_EXPIRED,
                provider_ref=verification.liveness_ref,
            )
    if result is not None:
        services.verification_record_liveness_result(
            verification_id=verification.pk, result=result, seen=verification
        )


PERSONAL_STEP = {"base": ProviderTask, "bind": True, "lifecycle": services.personal}


@shared_task(name=services.CHECK_IDENTITY, **PERSONAL_STEP)
def check_identity(self: ProviderTask, verification_id: int) -> None:
    self.run_step(verification_id, _check_identity)


@shared_task(name=services.START_LIVENESS, **PERSONAL_STEP)
def start_liveness(self: ProviderTask, verification_id: int) -> None:
    self.run_step(verification_id, _start_liveness)


@shared_task(name=services.FETCH_LIVENESS_RESULT, **PERSONAL_STEP)
def fetch_liveness_result(self: ProviderTask, verification_id: int) -> None:
    self.run_step(verification_id, _fetch_liveness_result)


@shared_task(name="verification.sweep", acks_late=True)
def sweep() -> dict[str, int]:
    """Celery beat runs this every minute (``CELERY_BEAT_SCHEDULE``)."""
    return services.verification_sweep()


@shared_task(name="verification.retention", acks_late=True)
def retention() -> dict[str, dict[str, int]]:
    """Celery beat runs this daily (``CELERY_BEAT_SCHEDULE``): the abandoned verifications,
    then the failed ones (``verification.retention``). Running twice changes nothing."""
    size = app_settings.RETENTION_BATCH_SIZE
    return {
        job: run_job(job, batch_size=size)
        for job in ("verification.abandoned", "verification.failed")
    }
