"""The support desk: the review queue (a database view over both kinds of verification), staff
notes, and the audit log of everything staff do. The audit log and the notes are append-only:
a database trigger refuses UPDATE and DELETE (migration 0001); TRUNCATE is left to privileges."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enterprise.models import REASON_CHOICES, EnterpriseVerification
from kernel.fields import EncryptedTextField
from verification.models import Kind, PersonalVerification

Verification = PersonalVerification | EnterpriseVerification


QUEUE_STATUSES = [
    ("failed", _("Failed")),
    ("error", _("Needs attention")),
    ("pending_review", _("Pending review")),
    ("rejected", _("Rejected")),
]


class ReviewQueue(models.Model):
    """One row per verification needing attention: personal ones that failed or stopped in
    error, enterprise ones pending review, rejected or in error (the ``support_reviewqueue``
    view). Read-only; every change goes through a service on the verification itself."""

    public_id = models.UUIDField(primary_key=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    verification_id = models.BigIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="+"
    )
    phone = models.CharField(_("mobile number"), max_length=16)
    status = models.CharField(_("status"), max_length=16, choices=QUEUE_STATUSES)
    reason_code = models.CharField(_("reason"), max_length=40, choices=REASON_CHOICES)
    provider = models.CharField(_("provider"), max_length=40)
    document_number_hash = models.CharField(max_length=64)
    credit_code = models.CharField(_("unified social credit code"), max_length=18)
    created_at = models.DateTimeField(_("submitted"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        managed = False
        db_table = "support_reviewqueue"
        ordering = ["-created_at"]
        verbose_name = _("verification to review")
        verbose_name_plural = _("review desk")
        default_permissions = ("view",)
        permissions = [
            ("review_licence", _("Can approve or reject business licences")),
            ("reset_attempts", _("Can reset a user's verification attempt counter")),
            ("rerun_check", _("Can re-run a provider check")),
            ("reveal_personal_data", _("Can reveal full personal data (with a reason)")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id}"


class StaffNote(models.Model):
    """A note on a verification, for the next member of staff. Notes can mention personal
    details, so they are encrypted; they are never edited, only added."""

    kind = models.CharField(max_length=16, choices=Kind.choices)
    verification_id = models.BigIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The person the note is about (the verification's account): the note is sealed under their
    # person key, so erasing them makes it unreadable. Empty on notes written before person keys
    # until ``manage.py migrate_to_person_keys`` moves them (the one update the trigger allows).
    subject_id = models.BigIntegerField(null=True, blank=True, editable=False)
    text = EncryptedTextField(_("note"), owner="subject_id")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("staff note")
        verbose_name_plural = _("staff notes")
        default_permissions = ("add", "view")
        indexes = [models.Index(fields=["kind", "verification_id", "at"], name="note_by_target")]

    def __str__(self) -> str:
        return f"{self.kind} {self.verification_id} {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.subject_id is None:
            self.subject_id = self.owners_of([self])[self.pk]
        super().save(*args, **kwargs)

    @classmethod
    def owners_of(cls, notes: Iterable[StaffNote]) -> dict[Any, int | None]:
        """The person each note is about (for migrate_to_person_keys), by note pk."""
        notes = list(notes)
        owners: dict[tuple[str, int], int] = {}
        for kind, model in (
            (Kind.PERSONAL, PersonalVerification),
            (Kind.ENTERPRISE, EnterpriseVerification),
        ):
            ids = [note.verification_id for note in notes if note.kind == kind]
            for pk, user_id in model._base_manager.filter(pk__in=ids).values_list("pk", "user_id"):
                owners[(str(kind), pk)] = user_id
        return {note.pk: owners.get((str(note.kind), note.verification_id)) for note in notes}


class AuditEntry(models.Model):
    """Who did what to which record, when, why and from where. Written in the same transaction
    as the action it records; never changed afterwards."""

    class Action(models.TextChoices):
        REVEAL = "reveal", _("Revealed personal data")
        NOTE = "note", _("Added a note")
        LICENCE_APPROVE = "licence_approve", _("Approved a licence")
        LICENCE_REJECT = "licence_reject", _("Rejected a licence")
        LICENCE_VIEW = "licence_view", _("Viewed a licence")
        ATTEMPTS_RESET = "attempts_reset", _("Reset the attempt counter")
        CHECK_RERUN = "check_rerun", _("Re-ran the provider check")

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    verification_id = models.BigIntegerField()
    public_id = models.UUIDField(_("verification"))
    reason = models.TextField(_("reason"), blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)  # field names, codes
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at"]
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["kind", "verification_id", "at"], name="audit_by_target"),
            models.Index(fields=["-at"], name="audit_newest"),
            models.Index(fields=["actor", "-at"], name="audit_by_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.public_id}"
