"""Writes about personal verification. Views, tasks, admin actions and commands call these.

Only these functions change a PersonalVerification, and only they enqueue work: always after
the transaction commits, and always with the primary key alone (never personal data). The steps
every kind shares (submission under the account lock, answers recorded once, provider failures,
errors, staff retries, the sweeper) are ``verification.lifecycle``; this module supplies what is
personal: the details checked, the identity and face answers, the face session."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.app_settings import app_settings as accounts_settings
from accounts.models import User
from accounts.phone import erased_phone
from accounts.selectors import consent_missing
from kernel.crypto import blind_index

from .app_settings import app_settings
from .documents import validate_document
from .lifecycle import Answer, Lifecycle
from .models import PersonalVerification, VerificationEvent
from .names import clean_name_into
from .providers.base import CheckResult, LivenessSession, ReasonCode

Status = PersonalVerification.Status
Event = VerificationEvent.Event
DOCUMENT_NUMBER_PURPOSE = "verification.document_number"
CHECK_IDENTITY = "verification.check_identity"
START_LIVENESS = "verification.start_liveness"
FETCH_LIVENESS_RESULT = "verification.fetch_liveness_result"


class PersonalLifecycle(Lifecycle[PersonalVerification]):
    model = PersonalVerification
    constraint_prefix = "verification"
    constraint_messages = {
        "user": (
            "already_active",
            gettext_lazy("This account already has a verification under way or completed."),
        ),
        "phone": (
            "phone_taken",
            gettext_lazy(
                "This mobile number has already been used to verify another account. One mobile "
                "number can verify only one account."
            ),
        ),
    }

    def route_key(self, fields: Mapping[str, Any]) -> str:
        return str(fields["document_type"])

    pending = {
        CHECK_IDENTITY: Q(status=Status.SUBMITTED),
        START_LIVENESS: Q(
            status=Status.IN_PROGRESS, face_requested_at__isnull=False, liveness_url=""
        ),
        FETCH_LIVENESS_RESULT: Q(status=Status.IN_PROGRESS) & ~Q(liveness_ref=""),
    }
    phone_unverified = gettext_lazy(
        "Please confirm your mobile number before verifying your identity."
    )
    refusal_code = "verified_as_person"
    refusal = gettext_lazy(
        "This account is verified (or being verified) as a person. An account "
        "verifies either as a person or as an enterprise: use a separate account "
        "for the company."
    )
    verified_label = gettext_lazy("Real-Name Authentication Completed")
    card_template = "verification/includes/overview_card.html"

    def resume(self, verification: PersonalVerification) -> None:
        verification.status = (
            Status.IN_PROGRESS
            if verification.identity_checked_at or verification.identity_deferred
            else Status.SUBMITTED
        )
        if verification.liveness_ref and verification.reason_code == ReasonCode.REJECTED_REQUEST:
            # The provider refused to look up the face session (expired, or lost on its side):
            # asking again would be refused again. Start a new session; the person does the
            # face check once more. Other errors (outage, timeout) fetch the same session's
            # result.
            verification.liveness_ref = verification.liveness_url = ""
            verification.liveness_started_at = None
            verification.liveness_restarts += 1

    def erase_values(self, verification: PersonalVerification) -> None:
        verification.blank_personal_values(at=timezone.now())


personal = PersonalLifecycle()


IDENTITY_ANSWER = Answer[PersonalVerification](
    entry="identity",
    event=Event.IDENTITY_RESULT,
    passed=Status.IN_PROGRESS,
    failed=Status.FAILED,
    checked_at="identity_checked_at",
)
FACE_ANSWER = Answer[PersonalVerification](
    task=FETCH_LIVENESS_RESULT,
    entry="liveness",
    event=Event.FACE_RESULT,
    passed=Status.PASSED,
    failed=Status.FAILED,
    final=True,
    resets_failures=False,
)


def document_number_hash(number: str) -> str:
    """The blind index of a normalised document number: finds every verification of one
    document without decrypting anything."""
    return blind_index(number, purpose=DOCUMENT_NUMBER_PURPOSE)


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
    name = clean_name_into(errors, name, field="name", required=_("Please enter your name."))
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
    personal.check_account(user=user)
    return personal.create(
        user=user,
        name=name,
        document_type=document.document_type,
        document_number=document.number,
        document_number_hash=document_number_hash(document.number),
        birth_date=document.birth_date,
    )


def verification_record_identity_result(
    *, verification_id: int, result: CheckResult, seen: PersonalVerification | None = None
) -> PersonalVerification:
    """The provider's answer to the identity check. Recording it twice changes nothing.
    ``seen``: the record as the caller read it before asking (``Lifecycle.record_answer``)."""
    return personal.record_answer(
        verification_id=verification_id, result=result, answer=IDENTITY_ANSWER, seen=seen
    )


@transaction.atomic
def verification_defer_identity_check(*, verification_id: int) -> PersonalVerification:
    """The provider checks name and number together with the face (Alipay's certify: its
    ``checks_identity_separately`` is False), so there is no separate answer to wait for: the
    verification goes on to the face step, and the face answer decides both. Nothing is
    recorded as checked. Running twice changes nothing."""
    verification = (
        PersonalVerification.objects.select_for_update()
        .filter(personal.pending[CHECK_IDENTITY], pk=verification_id)
        .first()
    )
    if verification is None:
        return PersonalVerification.objects.get(pk=verification_id)
    verification.status = Status.IN_PROGRESS
    verification.identity_deferred = True
    verification.provider_failures = 0
    verification.save()
    personal.event(verification, Event.IDENTITY_DEFERRED)
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
    verification = personal.locked(verification.pk)
    if verification.status != Status.IN_PROGRESS:
        raise ValidationError(_("This verification is not waiting for a face check."), "state")
    if verification.face_requested_at is None or not verification.liveness_url:
        verification.face_requested_at = timezone.now()
        verification.return_url = return_url
        verification.notify_url = notify_url
        verification.save()
        personal.event(verification, Event.FACE_REQUESTED)
        if not verification.liveness_url:
            personal.enqueue(START_LIVENESS, verification.pk)
    return verification


@transaction.atomic
def verification_record_liveness_session(
    *, verification_id: int, session: LivenessSession
) -> PersonalVerification:
    verification = personal.locked(verification_id)
    if verification.status != Status.IN_PROGRESS or verification.liveness_url:
        return verification
    verification.liveness_ref = session.provider_ref
    verification.liveness_url = session.url
    verification.liveness_started_at = timezone.now()
    verification.provider_failures = 0
    personal.stamp(verification, "liveness_session", ref=session.provider_ref)
    verification.save()
    personal.event(verification, Event.FACE_SESSION, restarts=verification.liveness_restarts)
    return verification


def verification_record_liveness_result(
    *, verification_id: int, result: CheckResult, seen: PersonalVerification | None = None
) -> PersonalVerification:
    """The face check's outcome: the end of the verification. Recording it twice changes
    nothing. Only pass/fail, the reason and the provider's reference are kept."""
    return personal.record_answer(
        verification_id=verification_id, result=result, answer=FACE_ANSWER, seen=seen
    )


@transaction.atomic
def verification_face_session_lost(*, verification_id: int) -> bool:
    """The provider no longer knows the face session (expired or lost on its side): asking for
    its result again would be refused again. Within ``VERIFICATION_FACE_SESSION_RESTARTS`` the
    face step starts over and the person's status page offers them a new session (their
    consent and details stand; the new session has a new idempotency key). False when the
    restarts are used up: the caller stops the verification for support staff."""
    verification = personal.locked(verification_id)
    if verification.status != Status.IN_PROGRESS or not verification.liveness_ref:
        return True  # answered or restarted meanwhile: nothing left to do
    if verification.liveness_restarts >= app_settings.FACE_SESSION_RESTARTS:
        return False
    verification.liveness_ref = verification.liveness_url = ""
    verification.liveness_started_at = None
    verification.face_requested_at = None
    verification.liveness_restarts += 1
    verification.provider_failures = 0
    personal.stamp(verification, "liveness_lost", restarts=verification.liveness_restarts)
    verification.save()
    personal.event(
        verification,
        Event.PROVIDER_FAILED,
        ReasonCode.REJECTED_REQUEST,
        step="face_pending",
        session_lost=True,
        restarts=verification.liveness_restarts,
    )
    return True


def verification_retry(*, verification: PersonalVerification) -> PersonalVerification:
    """Support staff retry a verification stopped in ``error``: it resumes the step it was in
    (a face session the provider lost starts again)."""
    return personal.retry(verification=verification)


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
    personal.enqueue(FETCH_LIVENESS_RESULT, verification.pk)


def verification_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Re-enqueue personal verifications a lost broker message left waiting."""
    return personal.sweep(now=now)


def verification_erasable(*, user: User) -> bool:
    """False while a provider check of ``user`` is still to answer: closing the account waits
    for it (a worker may be sending the values at that moment)."""
    return not PersonalVerification.objects.filter(
        user=user, status__in=PersonalVerification.PROVIDER_STATUSES
    ).exists()


@transaction.atomic
def verification_erase_person(*, user: User) -> int:
    """Blank every personal value of ``user``'s personal verifications (the account is being
    closed). What stays, as the law asks: that a check ran, its status and outcome, when, the
    document type and the provider. The number becomes a placeholder (``accounts.phone``), so it
    is free for a new account. Returns how many verifications were erased."""
    count = 0
    for verification in PersonalVerification.objects.select_for_update().filter(user=user):
        PersonalVerification.objects.filter(pk=verification.pk).update(
            name="",
            document_number="",
            document_number_hash="",
            birth_date=None,
            result={},
            phone=erased_phone(verification.pk),
            liveness_url="",
            return_url="",
            notify_url="",
            # A task holding an older copy compares updated_at before it writes its answer
            # (lifecycle.record_answer): the erasure must count as a write.
            updated_at=timezone.now(),
        )
        count += 1
    return count
