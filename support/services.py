"""Every action of support staff, each recorded in the audit log in the same transaction as the
action itself: if the entry cannot be written, the action does not happen.

Each service checks the actor's permission itself (the admin checks too, but a service is the
last word: a management command or a future API cannot skip it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from enterprise import services as enterprise_services
from enterprise.models import EnterpriseVerification, ReviewReason
from verification import services as verification_services
from verification.models import AttemptReset

from .models import AuditEntry, StaffNote, Verification

Action = AuditEntry.Action
REASON_MIN_LENGTH = 10


def _require(actor: User, permission: str) -> None:
    if not (actor.is_active and actor.is_staff and actor.has_perm(permission)):
        raise PermissionDenied


def audit_record(
    *,
    actor: User,
    action: str,
    verification: Verification,
    ip_address: str | None,
    reason: str = "",
    **detail: Any,
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor,
        action=action,
        kind=verification.kind,
        verification_id=verification.pk,
        public_id=verification.public_id,
        reason=reason,
        detail=detail,
        ip_address=ip_address,
    )


@dataclass(frozen=True)
class Revealed:
    """Full personal data of one verification, for one response. Never stored or logged."""

    fields: dict[str, str]


@transaction.atomic
def personal_data_reveal(
    *, actor: User, verification: Verification, reason: str, ip_address: str | None
) -> Revealed:
    """Show the full personal data behind the masks, with a typed reason, audited."""
    _require(actor, "support.reveal_personal_data")
    reason = " ".join(reason.split())
    if len(reason) < REASON_MIN_LENGTH:
        raise ValidationError(
            {
                "reason": ValidationError(
                    _(
                        "Say why you need to see the full data (at least %(count)d characters): "
                        "for example the support ticket number and what you will check."
                    ),
                    code="reason_required",
                    params={"count": REASON_MIN_LENGTH},
                )
            }
        )
    if isinstance(verification, EnterpriseVerification):
        fields = {
            "legal_representative": verification.legal_representative,
            "phone": verification.phone,
        }
    else:
        fields = {
            "name": verification.name,
            "document_number": verification.document_number,
            "birth_date": verification.birth_date.isoformat() if verification.birth_date else "",
            "phone": verification.phone,
        }
    audit_record(
        actor=actor,
        action=Action.REVEAL,
        verification=verification,
        ip_address=ip_address,
        reason=reason,
        fields=sorted(fields),
    )
    return Revealed(fields=fields)


@transaction.atomic
def staff_note_add(
    *, actor: User, verification: Verification, text: str, ip_address: str | None
) -> StaffNote:
    _require(actor, "support.add_staffnote")
    text = text.strip()
    if not text:
        raise ValidationError({"text": ValidationError(_("The note is empty."), "required")})
    if len(text) > 2000:
        raise ValidationError(
            {"text": ValidationError(_("Keep a note under 2000 characters."), "max_length")}
        )
    note = StaffNote.objects.create(
        kind=verification.kind, verification_id=verification.pk, author=actor, text=text
    )
    audit_record(actor=actor, action=Action.NOTE, verification=verification, ip_address=ip_address)
    return note


@transaction.atomic
def licence_approve(
    *, actor: User, verification: EnterpriseVerification, ip_address: str | None
) -> EnterpriseVerification:
    _require(actor, "support.review_licence")
    approved = enterprise_services.licence_review_approve(verification=verification, reviewer=actor)
    audit_record(
        actor=actor, action=Action.LICENCE_APPROVE, verification=approved, ip_address=ip_address
    )
    return approved


@transaction.atomic
def licence_reject(
    *,
    actor: User,
    verification: EnterpriseVerification,
    reason: ReviewReason | str,
    ip_address: str | None,
) -> EnterpriseVerification:
    _require(actor, "support.review_licence")
    try:
        reason = ReviewReason(reason)
    except ValueError:
        raise ValidationError(
            {"reason": ValidationError(_("Choose a reason from the list."), "invalid")}
        ) from None
    rejected = enterprise_services.licence_review_reject(
        verification=verification, reviewer=actor, reason=reason
    )
    audit_record(
        actor=actor,
        action=Action.LICENCE_REJECT,
        verification=rejected,
        ip_address=ip_address,
        reason=str(reason),
    )
    return rejected


@transaction.atomic
def licence_view(
    *, actor: User, verification: EnterpriseVerification, ip_address: str | None
) -> AuditEntry:
    """A member of staff opens a licence in the desk: the audit entry and the licence's own
    access record are written together, or neither is."""
    _require(actor, "support.view_reviewqueue")
    entry = audit_record(
        actor=actor, action=Action.LICENCE_VIEW, verification=verification, ip_address=ip_address
    )
    enterprise_services.licence_access_record(
        verification=verification, user=actor, as_staff=True, ip_address=ip_address
    )
    return entry


@transaction.atomic
def attempts_reset(
    *, actor: User, verification: Verification, ip_address: str | None
) -> AttemptReset:
    """Give the verification's account its daily attempts back (e.g. after a vendor mistake)."""
    _require(actor, "support.reset_attempts")
    if verification.user_id == actor.pk:
        raise ValidationError(_("You cannot reset your own account's attempts."), "own")
    reset = AttemptReset.objects.create(user=verification.user, reset_by=actor)
    audit_record(
        actor=actor, action=Action.ATTEMPTS_RESET, verification=verification, ip_address=ip_address
    )
    return reset


@transaction.atomic
def check_rerun(*, actor: User, verification: Verification, ip_address: str | None) -> Verification:
    """Run the provider check again for a verification stopped in ``error``."""
    _require(actor, "support.rerun_check")
    rerun: Verification
    if isinstance(verification, EnterpriseVerification):
        rerun = enterprise_services.enterprise_retry(verification=verification)
    else:
        rerun = verification_services.verification_retry(verification=verification)
    audit_record(actor=actor, action=Action.CHECK_RERUN, verification=rerun, ip_address=ip_address)
    return rerun
