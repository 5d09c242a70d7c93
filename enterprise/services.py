"""Writes about enterprise verification. Views, tasks and admin actions call these; only these
enqueue work (after commit, primary key only)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import uscc

from accounts.models import User
from accounts.phone import erased_phone
from verification.lifecycle import Answer, Lifecycle
from verification.models import VerificationEvent
from verification.names import clean_name_into
from verification.providers import ENTERPRISE
from verification.providers.base import CheckResult, ReasonCode

from .licence import sanitize_licence
from .models import EnterpriseVerification, LicenceAccess, ReviewReason
from .storage import licence_delete, licence_store

Status = EnterpriseVerification.Status
Event = VerificationEvent.Event
CHECK_ENTERPRISE = "enterprise.check_enterprise"


class EnterpriseLifecycle(Lifecycle[EnterpriseVerification]):
    model = EnterpriseVerification
    constraint_prefix = "enterprise"
    constraint_messages = {
        "user": (
            "already_active",
            gettext_lazy(
                "This account already has an enterprise verification under way or completed."
            ),
        ),
        "phone": (
            "phone_taken",
            gettext_lazy(
                "This mobile number has already been used to verify another enterprise account. "
                "One mobile number can verify only one enterprise account."
            ),
        ),
    }
    pending = {CHECK_ENTERPRISE: Q(status=Status.SUBMITTED)}

    def route_key(self, fields: Mapping[str, Any]) -> str:
        return ENTERPRISE

    phone_unverified = gettext_lazy(
        "Please confirm your mobile number before verifying your company."
    )
    refusal_code = "verified_as_enterprise"
    refusal = gettext_lazy(
        "This account is verified (or being verified) as an enterprise. An account "
        "verifies either as a person or as an enterprise."
    )
    verified_label = gettext_lazy("Identity Verified")
    card_template = "enterprise/includes/overview_card.html"

    def erase_values(self, verification: EnterpriseVerification) -> None:
        """The legal representative's name, the provider's result and the licence file (once
        committed); company name and credit code are public registry facts and stay."""
        for name in (verification.licence_name, verification.licence_preview_name):
            if name:
                transaction.on_commit(lambda name=name: licence_delete(name))  # type: ignore[misc]
        verification.legal_representative = verification.licence_name = ""
        verification.licence_preview_name = ""
        verification.result = {}
        verification.save(
            update_fields=[
                "legal_representative",
                "result",
                "licence_name",
                "licence_preview_name",
                "updated_at",
            ]
        )


enterprise = EnterpriseLifecycle()


# A pass goes to support staff for review; a fail is rejected with its reason.
REGISTRY_ANSWER = Answer[EnterpriseVerification](
    entry="check",
    event=Event.REGISTRY_RESULT,
    passed=Status.PENDING_REVIEW,
    failed=Status.REJECTED,
    checked_at="checked_at",
)


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
    # The account checks first: they are cheap, and a licence is not rendered for nothing
    # (the other-kind and attempts rules are checked again under the account's lock).
    enterprise.check_account(user=user)
    enterprise.refuse_if_other_kind_or_out_of_attempts(user=user)

    errors: dict[str, Any] = {}
    company_name = clean_name_into(
        errors,
        company_name,
        field="company_name",
        required=_("Please enter the company name."),
        company=True,
    )
    legal_representative = clean_name_into(
        errors,
        legal_representative,
        field="legal_representative",
        required=_("Please enter the legal representative's name."),
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

    licence_name = licence_store(sanitized.content, extension=sanitized.extension, owner=user.pk)
    preview_name = (
        licence_store(sanitized.preview_png, extension="png", owner=user.pk)
        if sanitized.preview_png
        else ""
    )
    try:
        return enterprise.create(
            user=user,
            company_name=company_name,
            credit_code=credit_code,
            legal_representative=legal_representative,
            licence_name=licence_name,
            licence_content_type=sanitized.content_type,
            licence_sha256=hashlib.sha256(sanitized.content).hexdigest(),
            licence_preview_name=preview_name,
        )
    except BaseException:
        # Nothing half-written: the files go when the row does.
        licence_delete(licence_name)
        licence_delete(preview_name)
        raise


def enterprise_record_check_result(
    *, verification_id: int, result: CheckResult
) -> EnterpriseVerification:
    """The registry's answer: a pass goes to support staff for review, a fail is rejected with
    its reason. Recording it twice changes nothing."""
    return enterprise.record_answer(
        verification_id=verification_id, result=result, answer=REGISTRY_ANSWER
    )


def enterprise_retry(*, verification: EnterpriseVerification) -> EnterpriseVerification:
    """Support staff retry a registry check that stopped in ``error``."""
    return enterprise.retry(verification=verification)


@transaction.atomic
def _licence_review(
    *, verification: EnterpriseVerification, reviewer: User, reason: ReviewReason | None
) -> EnterpriseVerification:
    """Record support staff's decision on a licence pending review: approved without a
    ``reason``, rejected with one. Four eyes: nobody decides on their own account's licence,
    not even a superuser."""
    verification = enterprise.locked(verification.pk)
    if verification.status != Status.PENDING_REVIEW:
        raise ValidationError(
            _("Only licences pending review can be rejected.")
            if reason
            else _("Only licences pending review can be approved."),
            "state",
        )
    if verification.user_id == reviewer.pk:
        raise ValidationError(
            _("You cannot review your own account's licence; ask another reviewer."), "own"
        )
    now = timezone.now()
    verification.status = Status.REJECTED if reason else Status.APPROVED
    verification.reason_code = ReviewReason(reason) if reason else ReasonCode.OK
    verification.reviewed_by = reviewer
    verification.reviewed_at = verification.completed_at = now
    decision = (
        {"decision": "rejected", "reason": str(reason)} if reason else {"decision": "approved"}
    )
    enterprise.stamp(verification, "review", **decision, reviewer=reviewer.pk)
    verification.save()
    enterprise.event(verification, Event.REVIEWED, verification.reason_code)
    return verification


def licence_review_approve(
    *, verification: EnterpriseVerification, reviewer: User
) -> EnterpriseVerification:
    """Support staff approve the licence: the account is "Identity Verified"."""
    return _licence_review(verification=verification, reviewer=reviewer, reason=None)


def licence_review_reject(
    *, verification: EnterpriseVerification, reviewer: User, reason: ReviewReason
) -> EnterpriseVerification:
    """Support staff reject the licence with a reason the user sees, with what to fix."""
    return _licence_review(verification=verification, reviewer=reviewer, reason=reason)


def licence_access_record(
    *, verification: EnterpriseVerification, user: User, as_staff: bool, ip_address: str | None
) -> LicenceAccess:
    return LicenceAccess.objects.create(
        verification=verification, user=user, as_staff=as_staff, ip_address=ip_address
    )


def enterprise_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Re-enqueue registry checks a lost broker message left waiting."""
    return enterprise.sweep(now=now)


def enterprise_erasable(*, user: User) -> bool:
    """False while a registry check of ``user`` is still to answer."""
    return not EnterpriseVerification.objects.filter(
        user=user, status__in=EnterpriseVerification.PROVIDER_STATUSES
    ).exists()


@transaction.atomic
def enterprise_erase_person(*, user: User) -> dict[str, int]:
    """Blank the personal values of ``user``'s enterprise verifications and delete their
    licence files (the account is being closed). Company name and credit code are public
    registry facts and stay with the outcome, the dates and the provider. Returns counts."""
    counts = {"enterprise_verifications": 0, "licence_files": 0, "licence_accesses": 0}
    for verification in EnterpriseVerification.objects.select_for_update().filter(user=user):
        for name in (verification.licence_name, verification.licence_preview_name):
            if name:
                # Only once the erasure is committed: a rolled-back closing keeps the file.
                transaction.on_commit(lambda name=name: licence_delete(name))  # type: ignore[misc]
                counts["licence_files"] += 1
        EnterpriseVerification.objects.filter(pk=verification.pk).update(
            legal_representative="",
            result={},
            phone=erased_phone(verification.pk),
            licence_name="",
            licence_preview_name="",
        )
        counts["enterprise_verifications"] += 1
    # The person's own views of their licence: where they were (their IP address) goes.
    counts["licence_accesses"] = LicenceAccess.objects.filter(user=user, as_staff=False).update(
        ip_address=None
    )
    return counts
