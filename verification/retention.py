"""Retention jobs of personal verification (run by ``kernel.retention``): nothing personal is
kept of a verification that did not pass beyond the period the privacy policy states.

- ``verification.abandoned``: a verification left in progress (the person never finished the
  face step) and untouched for ``VERIFICATION_RETENTION_ABANDONED_DAYS`` ends as failed
  (``liveness_expired``: the face step was not finished in time), which also frees the account's
  one active verification, and its personal values are erased at once.
- ``verification.failed``: ``VERIFICATION_RETENTION_FAILED_DAYS`` after a failed verification
  ended, its personal values are erased.

Erasing keeps what the rules and support staff need: status, reason code, document type,
provider and its reference, mobile number (the account's own), dates and the timeline. Passed
verifications are kept while the account exists; those stopped in ``error`` wait for support
staff (the sweeper and the retry window put them there; staff retry or close them).

- with ``accounts.erased``: once a closed account's legal period is over, its verifications,
  their timelines and its attempt-counter resets are deleted (``erased_personal_records``).

The encrypted columns are overwritten (an encrypted empty value, or null), not only forgotten:
the ciphertext of the old value is gone from the table (backups keep it until they expire)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet

from accounts.retention import erased_records_purger
from kernel.retention import in_batches, register

from . import signals
from .app_settings import app_settings
from .models import AttemptReset, Kind, PersonalVerification, VerificationEvent
from .providers.base import ReasonCode

Status = PersonalVerification.Status
Event = VerificationEvent.Event


def _purge(verification: PersonalVerification, *, now: datetime) -> None:
    verification.blank_personal_values(at=now)
    VerificationEvent.objects.create(
        kind=verification.kind, verification_id=verification.pk, event=Event.PURGED
    )


def failed_to_purge(now: datetime) -> QuerySet[PersonalVerification]:
    cutoff = now - timedelta(days=app_settings.RETENTION_FAILED_DAYS)
    return PersonalVerification.objects.filter(
        status=Status.FAILED, completed_at__lt=cutoff, personal_data_purged_at__isnull=True
    )


def abandoned(now: datetime) -> QuerySet[PersonalVerification]:
    cutoff = now - timedelta(days=app_settings.RETENTION_ABANDONED_DAYS)
    return PersonalVerification.objects.filter(status=Status.IN_PROGRESS, updated_at__lt=cutoff)


def _next_batch(queryset: QuerySet[PersonalVerification], size: int) -> list[int]:
    return list(queryset.order_by("pk").values_list("pk", flat=True)[:size])


@register(
    "verification.failed",
    "Erase the personal values of failed verifications VERIFICATION_RETENTION_FAILED_DAYS "
    "after they ended.",
)
def purge_failed(now: datetime, dry_run: bool, batch_size: int) -> dict[str, int]:
    if dry_run:
        return {"purged": failed_to_purge(now).count()}

    @transaction.atomic
    def apply(pks: list[int]) -> int:
        # Locked and filtered again: a row another run took meanwhile is skipped, not purged twice.
        rows = failed_to_purge(now).filter(pk__in=pks).select_for_update(skip_locked=True)
        done = 0
        for verification in rows:
            _purge(verification, now=now)
            done += 1
        return done

    def select() -> list[int]:
        return _next_batch(failed_to_purge(now), batch_size)

    return {"purged": in_batches(select, apply)}


@register(
    "verification.abandoned",
    "End verifications untouched in progress for VERIFICATION_RETENTION_ABANDONED_DAYS as "
    "abandoned, and erase their personal values.",
)
def purge_abandoned(now: datetime, dry_run: bool, batch_size: int) -> dict[str, int]:
    if dry_run:
        return {"abandoned": abandoned(now).count()}

    @transaction.atomic
    def apply(pks: list[int]) -> int:
        rows = abandoned(now).filter(pk__in=pks).select_for_update(skip_locked=True)
        done = 0
        for verification in rows:
            verification.status = Status.FAILED
            verification.reason_code = ReasonCode.LIVENESS_EXPIRED
            verification.completed_at = now
            verification.save(update_fields=["status", "reason_code", "completed_at", "updated_at"])
            VerificationEvent.objects.create(
                kind=verification.kind,
                verification_id=verification.pk,
                event=Event.ABANDONED,
                reason_code=ReasonCode.LIVENESS_EXPIRED,
                detail={"days": app_settings.RETENTION_ABANDONED_DAYS},
            )
            signals.announce(verification, signals.FAILED)
            _purge(verification, now=now)
            done += 1
        return done

    def select() -> list[int]:
        return _next_batch(abandoned(now), batch_size)

    return {"abandoned": in_batches(select, apply)}


@erased_records_purger("verification")
def erased_personal_records(user_ids: list[int], dry_run: bool) -> dict[str, int]:
    """The minimal records of closed accounts' personal verifications, their timelines and the
    resets of their attempt counters (``accounts.erased``, in its transaction)."""
    verifications = PersonalVerification.objects.filter(user_id__in=user_ids)
    events = VerificationEvent.objects.filter(
        kind=Kind.PERSONAL, verification_id__in=verifications.values("pk")
    )
    resets = AttemptReset.objects.filter(user_id__in=user_ids)
    if dry_run:
        return {"personal_verifications": verifications.count()}
    events.delete()
    resets.delete()
    return {"personal_verifications": verifications.delete()[0]}
