"""Reads for the support desk: finding verifications without decrypting anything, and the
timeline of one verification."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from accounts.phone import normalize_phone
from enterprise.models import EnterpriseVerification
from enterprise.services import validate_credit_code
from verification.documents import normalize_document_number
from verification.models import PersonalVerification, VerificationEvent
from verification.services import document_number_hash

from .models import AuditEntry, Kind, ReviewQueue, StaffNote, Verification


def review_queue_search(queryset: QuerySet[ReviewQueue], term: str) -> QuerySet[ReviewQueue]:
    """Exact matches only, each through an index: a mobile number (any format people type),
    a document number (through its keyed hash: the number itself is never compared), a
    unified social credit code, or a verification id. Nothing is searched by substring."""
    term = term.strip()
    if not term:
        return queryset
    match = Q(pk__in=[])
    with contextlib.suppress(ValidationError):
        match |= Q(phone=normalize_phone(term))
    with contextlib.suppress(ValidationError):
        match |= Q(credit_code=validate_credit_code(term))
    number = normalize_document_number(term)
    if len(number) >= 6:
        match |= Q(document_number_hash=document_number_hash(number))
    with contextlib.suppress(ValueError):
        match |= Q(public_id=uuid.UUID(term))
    return queryset.filter(match)


def verification_for_review(*, kind: str, public_id: uuid.UUID | str) -> Verification | None:
    model = EnterpriseVerification if kind == Kind.ENTERPRISE else PersonalVerification
    return model.objects.select_related("user").filter(public_id=public_id).first()


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    what: str
    reason_code: str = ""
    detail: str = ""
    by: str = ""  # staff actions: who; system steps: empty
    is_staff_action: bool = False


def _describe(detail: dict) -> str:
    parts = []
    if "step" in detail:
        parts.append(str(detail["step"]).replace("_", " "))
    if "failures" in detail:
        parts.append(f"#{detail['failures']}")
    if detail.get("restarts"):
        parts.append(f"restart {detail['restarts']}")
    if "fields" in detail:
        parts.append(", ".join(detail["fields"]))
    return " · ".join(parts)


def verification_timeline(*, verification: Verification) -> list[TimelineEntry]:
    """System steps (submitted, provider calls that failed, results, errors, re-runs) and staff
    actions (from the audit log), oldest first."""
    kind = verification.kind
    entries = [
        TimelineEntry(
            at=event.at,
            what=str(event.get_event_display()),
            reason_code=event.reason_code,
            detail=_describe(event.detail),
        )
        for event in VerificationEvent.objects.filter(kind=kind, verification_id=verification.pk)
    ]
    entries += [
        TimelineEntry(
            at=entry.at,
            what=str(entry.get_action_display()),
            reason_code=entry.reason if entry.action == AuditEntry.Action.LICENCE_REJECT else "",
            detail=_describe(entry.detail),
            by=entry.actor.masked_phone,
            is_staff_action=True,
        )
        # Licence views are accesses, not actions: they are in the audit log, not the timeline
        # (the detail page itself shows the licence).
        for entry in AuditEntry.objects.filter(kind=kind, verification_id=verification.pk)
        .exclude(action=AuditEntry.Action.LICENCE_VIEW)
        .select_related("actor")
    ]
    return sorted(entries, key=lambda entry: entry.at)


def staff_notes(*, verification: Verification) -> QuerySet[StaffNote]:
    kind = verification.kind
    return (
        StaffNote.objects.filter(kind=kind, verification_id=verification.pk)
        .select_related("author")
        .order_by("at")
    )
