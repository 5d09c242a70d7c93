"""Retention job of enterprise verification (run by ``kernel.retention``).

``enterprise.licences``: ``ENTERPRISE_LICENCE_RETENTION_DAYS`` after the decision (approved by
support staff, or rejected by the registry check or by staff), the business licence file and
its preview are deleted from private storage. The decision record stays: company, credit code,
status, reason, reviewer, dates and the file's SHA-256 (which proves which file was decided on
without keeping it). Verifications still waiting or stopped in ``error`` keep their licence.

With ``accounts.erased``: once a closed account's legal period is over, its enterprise
verifications, their timelines and the record of views of their licence are deleted
(``erased_enterprise_records``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet

from accounts.retention import erased_records_purger
from kernel.retention import in_batches, register
from verification.models import Kind, VerificationEvent

from .app_settings import app_settings
from .models import EnterpriseVerification, LicenceAccess
from .storage import licence_delete

Status = EnterpriseVerification.Status


def licences_to_delete(now: datetime) -> QuerySet[EnterpriseVerification]:
    cutoff = now - timedelta(days=app_settings.LICENCE_RETENTION_DAYS)
    return EnterpriseVerification.objects.filter(
        status__in=[Status.APPROVED, Status.REJECTED], completed_at__lt=cutoff
    ).exclude(licence_name="")


@register(
    "enterprise.licences",
    "Delete business licence files ENTERPRISE_LICENCE_RETENTION_DAYS after the decision.",
)
def purge_licences(now: datetime, dry_run: bool, batch_size: int) -> dict[str, int]:
    if dry_run:
        return {"licences_deleted": licences_to_delete(now).count()}

    @transaction.atomic
    def apply(pks: list[int]) -> int:
        rows = licences_to_delete(now).filter(pk__in=pks).select_for_update(skip_locked=True)
        done = 0
        for verification in rows:
            # The files first: if the process stops between, the next run finds the row again
            # and deleting a file already gone is no error. Never a row pointing nowhere while
            # the file lives on.
            licence_delete(verification.licence_preview_name)
            licence_delete(verification.licence_name)
            verification.licence_name = verification.licence_preview_name = ""
            verification.save(update_fields=["licence_name", "licence_preview_name", "updated_at"])
            VerificationEvent.objects.create(
                kind=verification.kind,
                verification_id=verification.pk,
                event=VerificationEvent.Event.PURGED,
                detail={"licence_deleted": True},
            )
            done += 1
        return done

    def select() -> list[int]:
        return list(
            licences_to_delete(now).order_by("pk").values_list("pk", flat=True)[:batch_size]
        )

    return {"licences_deleted": in_batches(select, apply)}


@erased_records_purger("enterprise")
def erased_enterprise_records(user_ids: list[int], dry_run: bool) -> dict[str, int]:
    """The minimal records of closed accounts' enterprise verifications, their timelines and the
    views of their licences (``accounts.erased``, in its transaction). The licence files went
    when the account was closed; one still named (a closing stopped half-way) goes now."""
    verifications = EnterpriseVerification.objects.filter(user_id__in=user_ids)
    if dry_run:
        return {"enterprise_verifications": verifications.count()}
    pks = list(verifications.values_list("pk", flat=True))
    for names in verifications.exclude(licence_name="").values_list(
        "licence_name", "licence_preview_name"
    ):
        for name in names:
            transaction.on_commit(lambda name=name: licence_delete(name))  # type: ignore[misc]
    accesses = LicenceAccess.objects.filter(verification_id__in=pks)
    accesses.delete()
    events = VerificationEvent.objects.filter(kind=Kind.ENTERPRISE, verification_id__in=pks)
    events.delete()
    deleted = EnterpriseVerification.objects.filter(pk__in=pks)
    return {"enterprise_verifications": deleted.delete()[0]}
