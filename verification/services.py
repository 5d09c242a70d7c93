"""Writes about personal verification. Views, tasks, admin actions and commands call these.

Only these functions change a PersonalVerification, and only they enqueue work: always after
the transaction commits, and always with the primary key alone (never personal data)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any, NoReturn

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.app_settings import app_settings as accounts_settings
from accounts.models import User
from accounts.selectors import consent_missing
from accounts.services import user_lock
from kernel.crypto import blind_index
from kernel.queueing import send_after_commit

from .app_settings import app_settings
from .documents import validate_document
from .models import PersonalVerification, VerificationEvent
from .names import clean_person_name
from .providers import provider_name
from .providers.base import CheckResult, LivenessSession, ReasonCode
from .selectors import verification_attempts_today, verification_lockout_lifts_at

logger = logging.getLogger(__name__)
Status = PersonalVerification.Status
Event = VerificationEvent.Event
DOCUMENT_NUMBER_PURPOSE = "verification.document_number"

_CONSTRAINT_MESSAGES = {
    "verification_one_active_per_phone": (
        "phone_taken",
        gettext_lazy(
            "This mobile number has already been used to verify another account. One mobile number "
            "can verify only one account."
        ),
    ),
    "verification_one_active_per_user": (
        "already_active",
        gettext_lazy("This account already has a verification under way or completed."),
    ),
}


def _raise_friendly(exc: IntegrityError, *, user: User) -> NoReturn:
    """Turn a broken one-active-verification rule into the message people see. Both rules may
    be broken at once (the same account, with its own number): the account's own verification
    is the more useful thing to be told about."""
    if not any(constraint in str(exc) for constraint in _CONSTRAINT_MESSAGES):
        raise exc
    own = PersonalVerification.objects.filter(
        user=user, status__in=PersonalVerification.ACTIVE_STATUSES
    ).exists()
    code, message = _CONSTRAINT_MESSAGES[
        "verification_one_active_per_user" if own else "verification_one_active_per_phone"
    ]
    raise ValidationError(message, code=code) from None


def document_number_hash(number: str) -> str:
    """The blind index of a normalised document number: finds every verification of one
    document without decrypting anything."""
    return blind_index(number, purpose=DOCUMENT_NUMBER_PURPOSE)


def _stamp(verification: PersonalVerification, entry: str, **values: Any) -> None:
    """Record a step's outcome in the encrypted result document, with its time."""
    result = dict(verification.result or {})
    result[entry] = {**values, "at": timezone.now().isoformat()}
    verification.result = result


def verification_event_record(
    *,
    kind: str,
    verification_id: int,
    event: str,
    reason_code: str = "",
    **detail: Any,
) -> VerificationEvent:
    """Add a step to a verification's timeline (support staff's view). ``detail`` holds
    counts and step names, never personal data."""
    return VerificationEvent.objects.create(
        kind=kind,
        verification_id=verification_id,
        event=event,
        reason_code=str(reason_code),
        detail=detail,
    )


def _event(
    verification: PersonalVerification, event: str, reason_code: str = "", **detail: Any
) -> None:
    verification_event_record(
        kind=VerificationEvent.Kind.PERSONAL,
        verification_id=verification.pk,
        event=event,
        reason_code=reason_code,
        **detail,
    )


def _enqueue(task_name: str, verification_id: int) -> None:
    from . import tasks

    send_after_commit(getattr(tasks, task_name), verification_id)


def verification_submit(
    *,
    user: User,
    name: str,
    document_type: str,
    document_number: str,
    birth_date: date | None,
    today: date | None = None,
) -> PersonalVerification:
    """Check the details locally, save them encrypted, and queue the identity check.

    Raises ValidationError (keyed by form field where there is one) and changes nothing when
    the details are invalid, the person is under 18, the consents are missing, the account has
    no verified mobile number, today's attempts are used up, or the number or the account
    already has a verification."""
    errors: dict[str, Any] = {}
    try:
        name = clean_person_name(name)
    except ValidationError as error:
        errors.update(error.error_dict)
    else:
        if not name:
            errors["name"] = ValidationError(_("Please enter your name."), "required")
    try:
        document = validate_document(
            document_type=document_type,
            number=document_number,
            birth_date=birth_date,
            today=today,
            minimum_age=app_settings.MINIMUM_AGE,
        )
    except ValidationError as error:
        if not hasattr(error, "error_dict"):
            raise
        errors.update(error.error_dict)
    if errors:
        raise ValidationError(errors)
    if consent_missing(user=user, slugs=accounts_settings.VERIFICATION_DOCUMENTS):
        raise ValidationError(
            _("Please accept the real-name authentication service description first."),
            code="consent_required",
        )
    if not user.phone or not user.phone_verified:
        raise ValidationError(
            _("Please confirm your mobile number before verifying your identity."),
            code="phone_unverified",
        )
    _refuse_if_enterprise_or_out_of_attempts(user)
    return _verification_create(
        user=user,
        phone=user.phone,
        name=name,
        document_type=document.document_type,
        document_number=document.number,
        birth_date=document.birth_date,
    )


def _refuse_if_enterprise_or_out_of_attempts(user: User) -> None:
    from enterprise.models import EnterpriseVerification  # enterprise builds on this app

    if EnterpriseVerification.objects.filter(
        user=user, status__in=EnterpriseVerification.ACTIVE_STATUSES
    ).exists():
        raise ValidationError(
            _(
                "This account is verified (or being verified) as an enterprise. An account "
                "verifies either as a person or as an enterprise."
            ),
            code="verified_as_enterprise",
        )
    if verification_attempts_today(user=user) >= app_settings.MAX_ATTEMPTS_PER_DAY:
        lifts_at = verification_lockout_lifts_at(user=user)
        raise ValidationError(
            _(
                "You have used all %(limit)s verification attempts for today. "
                "You can try again after %(time)s."
            ),
            code="locked_out",
            params={
                "limit": app_settings.MAX_ATTEMPTS_PER_DAY,
                "time": timezone.localtime(lifts_at).strftime("%Y-%m-%d %H:%M") if lifts_at else "",
            },
        )


def _verification_create(
    *,
    user: User,
    phone: str,
    name: str,
    document_type: str,
    document_number: str,
    birth_date: date,
) -> PersonalVerification:
    """The insert itself. The partial unique constraints decide races: a losing transaction
    gets the same friendly error as a sequential duplicate, and leaves nothing behind."""
    try:
        with transaction.atomic():
            # Checked again under the account's lock: a concurrent enterprise submission or a
            # second tab cannot slip between the check above and this insert.
            user_lock(user=user)
            _refuse_if_enterprise_or_out_of_attempts(user)
            verification = PersonalVerification.objects.create(
                user=user,
                phone=phone,
                name=name,
                document_type=document_type,
                document_number=document_number,
                document_number_hash=document_number_hash(document_number),
                birth_date=birth_date,
                status=Status.SUBMITTED,
                provider=provider_name(),
            )
            _event(verification, Event.SUBMITTED)
            _enqueue("check_identity", verification.pk)
    except IntegrityError as exc:
        _raise_friendly(exc, user=user)
    logger.info("verification %s submitted", verification.pk)
    return verification


def _locked(verification_id: int) -> PersonalVerification:
    return PersonalVerification.objects.select_for_update().get(pk=verification_id)


@transaction.atomic
def verification_record_identity_result(
    *, verification_id: int, result: CheckResult
) -> PersonalVerification:
    """The provider's answer to the identity check. Recording it twice changes nothing."""
    verification = _locked(verification_id)
    if verification.status != Status.SUBMITTED:
        return verification
    now = timezone.now()
    _stamp(
        verification,
        "identity",
        passed=result.passed,
        reason=str(result.reason_code),
        ref=result.provider_ref,
    )
    verification.identity_checked_at = now
    verification.provider_failures = 0
    if result.passed:
        verification.status = Status.IN_PROGRESS
    else:
        verification.status = Status.FAILED
        verification.reason_code = result.reason_code
        verification.completed_at = now
    verification.save()
    _event(verification, Event.IDENTITY_RESULT, result.reason_code)
    logger.info("verification %s identity check: %s", verification.pk, result.reason_code)
    return verification


@transaction.atomic
def verification_request_face(
    *, verification: PersonalVerification, return_url: str, notify_url: str
) -> PersonalVerification:
    """The person asks to start the face check: needs the separate face consent, then queues
    the opening of a liveness session at the provider."""
    if consent_missing(user=verification.user, slugs=(accounts_settings.FACE_DOCUMENT,)):
        raise ValidationError(
            _("Please give your separate consent to face information processing first."),
            code="face_consent_required",
        )
    verification = _locked(verification.pk)
    if verification.status != Status.IN_PROGRESS:
        raise ValidationError(_("This verification is not waiting for a face check."), "state")
    if verification.face_requested_at is None or not verification.liveness_url:
        verification.face_requested_at = timezone.now()
        verification.return_url = return_url
        verification.notify_url = notify_url
        verification.save()
        _event(verification, Event.FACE_REQUESTED)
        if not verification.liveness_url:
            _enqueue("start_liveness", verification.pk)
    return verification


@transaction.atomic
def verification_record_liveness_session(
    *, verification_id: int, session: LivenessSession
) -> PersonalVerification:
    verification = _locked(verification_id)
    if verification.status != Status.IN_PROGRESS or verification.liveness_url:
        return verification
    verification.liveness_ref = session.provider_ref
    verification.liveness_url = session.url
    verification.liveness_started_at = timezone.now()
    verification.provider_failures = 0
    _stamp(verification, "liveness_session", ref=session.provider_ref)
    verification.save()
    _event(verification, Event.FACE_SESSION, restarts=verification.liveness_restarts)
    return verification


@transaction.atomic
def verification_record_liveness_result(
    *, verification_id: int, result: CheckResult
) -> PersonalVerification:
    """The face check's outcome: the end of the verification. Recording it twice changes
    nothing. Only pass/fail, the reason and the provider's reference are kept."""
    verification = _locked(verification_id)
    if verification.status != Status.IN_PROGRESS or not verification.liveness_ref:
        return verification
    now = timezone.now()
    _stamp(
        verification,
        "liveness",
        passed=result.passed,
        reason=str(result.reason_code),
        ref=result.provider_ref,
    )
    verification.status = Status.PASSED if result.passed else Status.FAILED
    verification.reason_code = result.reason_code
    verification.completed_at = now
    verification.save()
    _event(verification, Event.FACE_RESULT, result.reason_code)
    logger.info("verification %s face check: %s", verification.pk, result.reason_code)
    return verification


@transaction.atomic
def verification_record_provider_failure(
    *, verification_id: int, reason_code: ReasonCode
) -> PersonalVerification:
    """Count a transient provider failure (for support staff's view); the task retries."""
    verification = _locked(verification_id)
    verification.provider_failures += 1
    verification.save(update_fields=["provider_failures", "updated_at"])
    _event(
        verification,
        Event.PROVIDER_FAILED,
        reason_code,
        failures=verification.provider_failures,
        step=verification.step,
    )
    return verification


@transaction.atomic
def verification_mark_error(
    *, verification_id: int, reason_code: ReasonCode
) -> PersonalVerification:
    """The provider could not be reached or refused us after every retry: the verification
    stops in ``error`` with the reason, where support staff can see it and retry it."""
    verification = _locked(verification_id)
    if not verification.is_open:
        return verification
    verification.status = Status.ERROR
    verification.reason_code = reason_code
    _stamp(verification, "error", reason=str(reason_code), step=verification.step)
    step = verification.step
    verification.save()
    _event(verification, Event.ERROR, reason_code, step=step)
    logger.warning("verification %s stopped in error: %s", verification.pk, reason_code)
    return verification


@transaction.atomic
def verification_retry(*, verification: PersonalVerification) -> PersonalVerification:
    """Support staff retry a verification stopped in ``error``: it resumes the step it was in.
    Fails with a clear message if the number or account has since been verified elsewhere."""
    verification = _locked(verification.pk)
    if verification.status != Status.ERROR:
        raise ValidationError(_("Only verifications that need attention can be retried."))
    resumed = Status.IN_PROGRESS if verification.identity_checked_at else Status.SUBMITTED
    if verification.liveness_ref and verification.reason_code == ReasonCode.REJECTED_REQUEST:
        # The provider refused to look up the face session (expired, or lost on its side):
        # asking again would be refused again. Start a new session; the person does the face
        # check once more. Other errors (outage, timeout) fetch the same session's result.
        verification.liveness_ref = verification.liveness_url = ""
        verification.liveness_started_at = None
        verification.liveness_restarts += 1
    verification.status = resumed
    verification.reason_code = ""
    verification.provider_failures = 0
    try:
        with transaction.atomic():
            verification.save()
    except IntegrityError as exc:
        _raise_friendly(exc, user=verification.user)
    _event(verification, Event.RETRIED, step=verification.step)
    if resumed == Status.SUBMITTED:
        _enqueue("check_identity", verification.pk)
    elif verification.face_requested_at and not verification.liveness_url:
        _enqueue("start_liveness", verification.pk)
    elif verification.liveness_ref:
        _enqueue("fetch_liveness_result", verification.pk)
    return verification


def verification_result_requested(
    *, verification: PersonalVerification, throttle_seconds: int = 0
) -> None:
    """The person came back from the face page, or the provider notified us: fetch the result.

    With ``throttle_seconds``, at most one fetch per verification is queued in that time, so
    reloading the return page cannot flood the workers and the provider (a signed provider
    notification is not throttled: it says the result is there)."""
    if verification.status != Status.IN_PROGRESS or not verification.liveness_ref:
        return
    if throttle_seconds and not cache.add(
        f"verification:fetch-requested:{verification.pk}", 1, timeout=throttle_seconds
    ):
        return
    _enqueue("fetch_liveness_result", verification.pk)


def verification_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Re-enqueue work the broker may have lost: verifications waiting for a worker longer
    than ``VERIFICATION_STUCK_AFTER``. Safe to run any time: every task is idempotent."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=app_settings.STUCK_AFTER)
    open_ones = PersonalVerification.objects.filter(updated_at__lt=cutoff)
    stuck = {
        "check_identity": open_ones.filter(status=Status.SUBMITTED),
        "start_liveness": open_ones.filter(
            status=Status.IN_PROGRESS, face_requested_at__isnull=False, liveness_url=""
        ),
        "fetch_liveness_result": open_ones.filter(status=Status.IN_PROGRESS).exclude(
            liveness_ref=""
        ),
    }
    counts: dict[str, int] = {}
    for task_name, queryset in stuck.items():
        ids = list(queryset.values_list("pk", flat=True)[:500])
        with transaction.atomic():
            for verification_id in ids:
                _enqueue(task_name, verification_id)
        counts[task_name] = len(ids)
    if any(counts.values()):
        logger.info("sweeper re-enqueued %s", counts)
    return counts
