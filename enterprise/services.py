"""Writes about enterprise verification. Views, tasks and admin actions call these; only these
enqueue work (after commit, primary key only)."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import IO, Any, NoReturn

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import uscc

from accounts.app_settings import app_settings as accounts_settings
from accounts.models import User
from accounts.selectors import consent_missing
from accounts.services import user_lock
from kernel.queueing import send_after_commit
from verification.app_settings import app_settings as verification_settings
from verification.models import PersonalVerification, VerificationEvent
from verification.names import clean_company_name, clean_person_name
from verification.providers import provider_name
from verification.providers.base import CheckResult, ReasonCode
from verification.selectors import attempts_counted_since
from verification.services import verification_event_record

from .licence import sanitize_licence
from .models import EnterpriseVerification, LicenceAccess, ReviewReason
from .storage import licence_delete, licence_store

logger = logging.getLogger(__name__)
Status = EnterpriseVerification.Status
Event = VerificationEvent.Event
ATTEMPT_WINDOW = timedelta(hours=24)

_CONSTRAINT_MESSAGES = {
    "enterprise_one_active_per_phone": (
        "phone_taken",
        gettext_lazy(
            "This mobile number has already been used to verify another enterprise account. "
            "One mobile number can verify only one enterprise account."
        ),
    ),
    "enterprise_one_active_per_user": (
        "already_active",
        gettext_lazy("This account already has an enterprise verification under way or completed."),
    ),
}


def normalize_credit_code(code: str) -> str:
    return uscc.compact(code or "").upper()


def validate_credit_code(code: str) -> str:
    """The normalised code, or a ValidationError for the ``credit_code`` field."""
    try:
        return str(uscc.validate(normalize_credit_code(code)))
    except stdnum_exceptions.InvalidChecksum:
        message, error_code = (
            _(
                "This code does not add up: its last character does not match the others. "
                "Please check it for typos."
            ),
            "invalid_checksum",
        )
    except stdnum_exceptions.ValidationError:
        message, error_code = (
            _(
                "A unified social credit code has 18 characters: digits and capital letters "
                "(no I, O, S, V or Z)."
            ),
            "invalid_format",
        )
    raise ValidationError({"credit_code": ValidationError(message, code=error_code)})


def _attempts(user: User, now: datetime | None = None) -> list[EnterpriseVerification]:
    since = attempts_counted_since(user=user, now=now)
    return list(
        EnterpriseVerification.objects.filter(user=user, created_at__gt=since)
        .exclude(status=Status.ERROR)
        .order_by("created_at")
    )


def _raise_friendly(exc: IntegrityError, *, user: User) -> NoReturn:
    if not any(constraint in str(exc) for constraint in _CONSTRAINT_MESSAGES):
        raise exc
    own = EnterpriseVerification.objects.filter(
        user=user, status__in=EnterpriseVerification.ACTIVE_STATUSES
    ).exists()
    code, message = _CONSTRAINT_MESSAGES[
        "enterprise_one_active_per_user" if own else "enterprise_one_active_per_phone"
    ]
    raise ValidationError(message, code=code) from None


def _enqueue(verification_id: int) -> None:
    from . import tasks

    send_after_commit(tasks.check_enterprise, verification_id)


def enterprise_verification_submit(
    *,
    user: User,
    company_name: str,
    credit_code: str,
    legal_representative: str,
    licence: IO[bytes] | Any,
) -> EnterpriseVerification:
    """Check the details and the licence file, store the licence encrypted, save, and queue the
    registry check. Raises ValidationError (keyed by form field where there is one) and stores
    nothing when anything is wrong."""
    # The account checks first: they are cheap, and a licence is not rendered for nothing.
    if consent_missing(user=user, slugs=accounts_settings.VERIFICATION_DOCUMENTS):
        raise ValidationError(
            _("Please accept the real-name authentication service description first."),
            code="consent_required",
        )
    if not user.phone or not user.phone_verified:
        raise ValidationError(
            _("Please confirm your mobile number before verifying your company."),
            code="phone_unverified",
        )
    _refuse_if_person_or_out_of_attempts(user)

    errors: dict[str, Any] = {}
    try:
        company_name = clean_company_name(company_name)
    except ValidationError as error:
        errors.update(error.error_dict)
    else:
        if not company_name:
            errors["company_name"] = ValidationError(
                _("Please enter the company name."), "required"
            )
    try:
        legal_representative = clean_person_name(legal_representative, field="legal_representative")
    except ValidationError as error:
        errors.update(error.error_dict)
    else:
        if not legal_representative:
            errors["legal_representative"] = ValidationError(
                _("Please enter the legal representative's name."), "required"
            )
    try:
        credit_code = validate_credit_code(credit_code)
    except ValidationError as error:
        errors.update(error.error_dict)  # type: ignore[arg-type]
    try:
        sanitized = sanitize_licence(licence)
    except ValidationError as error:
        errors["licence"] = error
    if errors:
        raise ValidationError(errors)

    licence_name = licence_store(sanitized.content, extension=sanitized.extension)
    preview_name = (
        licence_store(sanitized.preview_png, extension="png") if sanitized.preview_png else ""
    )
    try:
        with transaction.atomic():
            # Checked again under the account's lock (see accounts.services.user_lock).
            user_lock(user=user)
            _refuse_if_person_or_out_of_attempts(user)
            verification = EnterpriseVerification.objects.create(
                user=user,
                phone=user.phone,
                company_name=company_name,
                credit_code=credit_code,
                legal_representative=legal_representative,
                licence_name=licence_name,
                licence_content_type=sanitized.content_type,
                licence_sha256=hashlib.sha256(sanitized.content).hexdigest(),
                licence_preview_name=preview_name,
                provider=provider_name(),
            )
            _event(verification, Event.SUBMITTED)
            _enqueue(verification.pk)
    except BaseException as exc:
        # Nothing half-written: the files go when the row does.
        licence_delete(licence_name)
        licence_delete(preview_name)
        if isinstance(exc, IntegrityError):
            _raise_friendly(exc, user=user)
        raise
    logger.info("enterprise verification %s submitted", verification.pk)
    return verification


def _refuse_if_person_or_out_of_attempts(user: User) -> None:
    if PersonalVerification.objects.filter(
        user=user, status__in=PersonalVerification.ACTIVE_STATUSES
    ).exists():
        raise ValidationError(
            _(
                "This account is verified (or being verified) as a person. An account verifies "
                "either as a person or as an enterprise: use a separate account for the company."
            ),
            code="verified_as_person",
        )
    attempts = _attempts(user)
    if len(attempts) >= verification_settings.MAX_ATTEMPTS_PER_DAY:
        lifts_at = attempts[0].created_at + ATTEMPT_WINDOW
        raise ValidationError(
            _(
                "You have used all %(limit)s verification attempts for today. "
                "You can try again after %(time)s."
            ),
            code="locked_out",
            params={
                "limit": verification_settings.MAX_ATTEMPTS_PER_DAY,
                "time": timezone.localtime(lifts_at).strftime("%Y-%m-%d %H:%M"),
            },
        )


def _event(
    verification: EnterpriseVerification, event: str, reason_code: str = "", **detail: Any
) -> None:
    verification_event_record(
        kind=VerificationEvent.Kind.ENTERPRISE,
        verification_id=verification.pk,
        event=event,
        reason_code=reason_code,
        **detail,
    )


def _locked(verification_id: int) -> EnterpriseVerification:
    return EnterpriseVerification.objects.select_for_update().get(pk=verification_id)


def _stamp(verification: EnterpriseVerification, entry: str, **values: Any) -> None:
    result = dict(verification.result or {})
    result[entry] = {**values, "at": timezone.now().isoformat()}
    verification.result = result


@transaction.atomic
def enterprise_record_check_result(
    *, verification_id: int, result: CheckResult
) -> EnterpriseVerification:
    """The registry's answer: a pass goes to support staff for review, a fail is rejected with
    its reason. Recording it twice changes nothing."""
    verification = _locked(verification_id)
    if verification.status != Status.SUBMITTED:
        return verification
    now = timezone.now()
    _stamp(
        verification,
        "check",
        passed=result.passed,
        reason=str(result.reason_code),
        ref=result.provider_ref,
    )
    verification.checked_at = now
    verification.provider_failures = 0
    if result.passed:
        verification.status = Status.PENDING_REVIEW
    else:
        verification.status = Status.REJECTED
        verification.reason_code = result.reason_code
        verification.completed_at = now
    verification.save()
    _event(verification, Event.REGISTRY_RESULT, result.reason_code)
    return verification


@transaction.atomic
def enterprise_record_provider_failure(
    *, verification_id: int, reason_code: ReasonCode
) -> EnterpriseVerification:
    verification = _locked(verification_id)
    verification.provider_failures += 1
    verification.save(update_fields=["provider_failures", "updated_at"])
    _event(
        verification,
        Event.PROVIDER_FAILED,
        reason_code,
        failures=verification.provider_failures,
        step="registry_check",
    )
    return verification


@transaction.atomic
def enterprise_mark_error(
    *, verification_id: int, reason_code: ReasonCode
) -> EnterpriseVerification:
    verification = _locked(verification_id)
    if verification.status != Status.SUBMITTED:
        return verification
    verification.status = Status.ERROR
    verification.reason_code = reason_code
    _stamp(verification, "error", reason=str(reason_code))
    verification.save()
    _event(verification, Event.ERROR, reason_code, step="registry_check")
    logger.warning("enterprise verification %s stopped in error: %s", verification.pk, reason_code)
    return verification


@transaction.atomic
def enterprise_retry(*, verification: EnterpriseVerification) -> EnterpriseVerification:
    """Support staff retry a registry check that stopped in ``error``."""
    verification = _locked(verification.pk)
    if verification.status != Status.ERROR:
        raise ValidationError(_("Only verifications that need attention can be retried."))
    verification.status = Status.SUBMITTED
    verification.reason_code = ""
    verification.provider_failures = 0
    try:
        with transaction.atomic():
            verification.save()
    except IntegrityError as exc:
        _raise_friendly(exc, user=verification.user)
    _event(verification, Event.RETRIED, step="registry_check")
    _enqueue(verification.pk)
    return verification


def _refuse_own_review(verification: EnterpriseVerification, reviewer: User) -> None:
    """Four eyes: nobody decides on their own account's licence, not even a superuser."""
    if verification.user_id == reviewer.pk:
        raise ValidationError(
            _("You cannot review your own account's licence; ask another reviewer."), "own"
        )


@transaction.atomic
def licence_review_approve(
    *, verification: EnterpriseVerification, reviewer: User
) -> EnterpriseVerification:
    """Support staff approve the licence: the account is "Identity Verified"."""
    verification = _locked(verification.pk)
    if verification.status != Status.PENDING_REVIEW:
        raise ValidationError(_("Only licences pending review can be approved."), "state")
    _refuse_own_review(verification, reviewer)
    now = timezone.now()
    verification.status = Status.APPROVED
    verification.reason_code = ReasonCode.OK
    verification.reviewed_by = reviewer
    verification.reviewed_at = verification.completed_at = now
    _stamp(verification, "review", decision="approved", reviewer=reviewer.pk)
    verification.save()
    _event(verification, Event.REVIEWED, ReasonCode.OK)
    return verification


@transaction.atomic
def licence_review_reject(
    *, verification: EnterpriseVerification, reviewer: User, reason: ReviewReason
) -> EnterpriseVerification:
    """Support staff reject the licence with a reason the user sees, with what to fix."""
    verification = _locked(verification.pk)
    if verification.status != Status.PENDING_REVIEW:
        raise ValidationError(_("Only licences pending review can be rejected."), "state")
    _refuse_own_review(verification, reviewer)
    now = timezone.now()
    verification.status = Status.REJECTED
    verification.reason_code = ReviewReason(reason)
    verification.reviewed_by = reviewer
    verification.reviewed_at = verification.completed_at = now
    _stamp(verification, "review", decision="rejected", reason=str(reason), reviewer=reviewer.pk)
    verification.save()
    _event(verification, Event.REVIEWED, verification.reason_code)
    return verification


def licence_access_record(
    *, verification: EnterpriseVerification, user: User, as_staff: bool, ip_address: str | None
) -> LicenceAccess:
    return LicenceAccess.objects.create(
        verification=verification, user=user, as_staff=as_staff, ip_address=ip_address
    )


def enterprise_sweep(*, now: datetime | None = None) -> int:
    """Re-enqueue registry checks a lost broker message left waiting."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=verification_settings.STUCK_AFTER)
    ids = list(
        EnterpriseVerification.objects.filter(
            status=Status.SUBMITTED, updated_at__lt=cutoff
        ).values_list("pk", flat=True)[:500]
    )
    with transaction.atomic():
        for verification_id in ids:
            _enqueue(verification_id)
    return len(ids)
