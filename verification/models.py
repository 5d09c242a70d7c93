"""Personal verification: one attempt of one account to prove who is behind it.

The rules that must hold under concurrent requests are database constraints: one active
verification per mobile number (one number verifies one account) and one per user. The identity
document is deliberately not unique: one person may verify several accounts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kernel.fields import EncryptedDateField, EncryptedJSONField, EncryptedTextField

from .documents import DocumentType, mask_document_number
from .providers.base import ReasonCode

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class Kind(models.TextChoices):
    """The kinds of verification: the one vocabulary of the timeline, the support queue, staff
    notes and the audit log. Each kind's app registers it in ``accounts.identity``."""

    PERSONAL = "personal", _("Personal")
    ENTERPRISE = "enterprise", _("Enterprise")


def queue_indexes(prefix: str, *, attention: list[str]) -> list[models.Index]:
    """Support staff's queue (support.ReviewQueue): newest first among those needing attention
    (statuses ``attention``), by status, by reason, and search by mobile number; all stay index
    scans at millions of rows."""
    needs_attention = Q(status__in=attention)
    return [
        *(
            models.Index(
                fields=fields, name=f"{prefix}_attention_{suffix}", condition=needs_attention
            )
            for suffix, fields in (
                ("new", ["-created_at"]),
                ("status", ["status", "-created_at"]),
                ("reason", ["reason_code", "-created_at"]),
            )
        ),
        models.Index(fields=["phone"], name=f"{prefix}_phone"),
    ]


def one_active_constraint_name(prefix: str, field: str) -> str:
    """The name of the rule "one active verification per ``field``" ("user", "phone")."""
    return f"{prefix}_one_active_per_{field}"


def one_active_constraints(
    prefix: str, *, active: list[str], messages: tuple[StrOrPromise, StrOrPromise] | None = None
) -> list[models.BaseConstraint]:
    """One mobile number verifies one account, and an account has one verification, per kind:
    among active verifications (statuses ``active``), phone and user are each unique. The
    database decides races; ``messages`` (phone, user) are the constraints' own messages."""
    phone_message, user_message = messages or (None, None)
    is_active = Q(status__in=active)
    return [
        models.UniqueConstraint(
            fields=["phone"],
            condition=is_active,
            name=one_active_constraint_name(prefix, "phone"),
            violation_error_message=phone_message,
        ),
        models.UniqueConstraint(
            fields=["user"],
            condition=is_active,
            name=one_active_constraint_name(prefix, "user"),
            violation_error_message=user_message,
        ),
        models.CheckConstraint(
            condition=Q(phone__regex=r"^\+[1-9][0-9]{6,14}$"), name=f"{prefix}_phone_e164"
        ),
    ]


def outcome_constraint(
    prefix: str, *, waiting: Q, verified: Q, failed: str
) -> models.CheckConstraint:
    """Status and outcome agree: records still ``waiting`` have no outcome, ``verified`` ones
    are OK and complete, ``failed`` ones carry a reason and are complete, errors carry a
    reason (support staff see why), ``ended`` ones (consent to the service withdrawn after
    they completed) keep their completion time and say why."""
    has_reason = ~Q(reason_code__in=["", "ok"])
    return models.CheckConstraint(
        condition=(
            waiting
            | verified
            | (Q(status=failed, completed_at__isnull=False) & has_reason)
            | (Q(status="error") & has_reason)
            | Q(status="ended", completed_at__isnull=False, reason_code="consent_withdrawn")
        ),
        name=f"{prefix}_status_matches_outcome",
    )


class VerificationBase(models.Model):
    """What every kind of verification has: the lifecycle (``verification.lifecycle``) reads and
    writes these. A kind adds its owner (``user``), its ``status`` and ``reason_code`` fields,
    its details and its steps' times."""

    kind: ClassVar[str]
    # Statuses that hold the account's one verification of this kind (the partial unique
    # constraints), and those in which a provider call is still to answer.
    ACTIVE_STATUSES: ClassVar[tuple[str, ...]]
    PROVIDER_STATUSES: ClassVar[tuple[str, ...]]
    SUBMITTED: ClassVar[str] = "submitted"
    ERROR: ClassVar[str] = "error"
    # A completed verification the person's withdrawal of consent ended: it no longer counts,
    # and (not active) holds neither the account's one verification nor the mobile number.
    ENDED: ClassVar[str] = "ended"
    VERIFIED: ClassVar[str]  # the status of a completed verification
    status_url_name: ClassVar[str]  # the URL name of its owner's status page

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The account's verified mobile number when the verification was submitted, in E.164.
    phone = models.CharField(_("mobile number"), max_length=16)
    # Provider references and step times, encrypted: {"<step>": {...}, "error": {...}}.
    result = EncryptedJSONField(_("result"), default=dict, owner="user_id")
    provider = models.CharField(_("provider"), max_length=40, blank=True, editable=False)
    provider_failures = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    # Declared by each kind (with its own choices and reverse names).
    user_id: int
    status: str
    reason_code: str

    class Meta:
        abstract = True

    def get_absolute_url(self) -> str:
        """Its status page (its owner's only: the view checks)."""
        return reverse(self.status_url_name, args=[self.public_id])

    @property
    def step(self) -> str:
        """Where the verification stands, for its timeline (and support staff's view of it)."""
        return str(self.status)


class PersonalVerification(VerificationBase):
    kind = Kind.PERSONAL

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")  # saved; the identity check is queued
        IN_PROGRESS = "in_progress", _("In progress")  # identity confirmed; face step next
        PASSED = "passed", _("Passed")
        FAILED = "failed", _("Failed")
        ERROR = "error", _("Needs attention")  # the provider kept failing; support can retry
        ENDED = "ended", _("Ended")  # passed, then consent to the service was withdrawn

    ACTIVE_STATUSES = (Status.SUBMITTED, Status.IN_PROGRESS, Status.PASSED)
    PROVIDER_STATUSES = (Status.SUBMITTED, Status.IN_PROGRESS)
    VERIFIED = Status.PASSED
    status_url_name = "verification:personal_status"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="personal_verifications"
    )
    document_type = models.CharField(
        _("document type"), max_length=40, choices=DocumentType.choices
    )
    # Personal data, encrypted at rest (kernel.fields); looked up only by the blind index.
    name = EncryptedTextField(_("name"), owner="user_id")
    document_number = EncryptedTextField(_("document number"), owner="user_id")
    document_number_hash = models.CharField(max_length=64, db_index=True, editable=False)
    # Empty (null) once the retention job purged the personal values (verification.retention),
    # or the person closed the account (accounts.User.erased_at).
    birth_date = EncryptedDateField(_("date of birth"), owner="user_id", null=True, blank=True)
    personal_data_purged_at = models.DateTimeField(
        _("personal data purged at"), null=True, blank=True, editable=False
    )

    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SUBMITTED
    )
    reason_code = models.CharField(
        _("reason"), max_length=32, blank=True, choices=[(c.value, c.value) for c in ReasonCode]
    )
    liveness_ref = models.CharField(max_length=128, blank=True, db_index=True)
    liveness_url = models.URLField(max_length=1000, blank=True)
    # Where the provider sends the person back, and where it posts its notification.
    return_url = models.URLField(max_length=1000, blank=True)
    notify_url = models.URLField(max_length=1000, blank=True)
    # Face sessions started after the first one (a retry after the provider lost the session);
    # part of the idempotency key, so a new session is a new request at the provider.
    liveness_restarts = models.PositiveSmallIntegerField(default=0)

    identity_checked_at = models.DateTimeField(null=True, blank=True)
    # The provider checks name and number with the face (Alipay): no separate answer came.
    identity_deferred = models.BooleanField(default=False, db_default=False, editable=False)
    face_requested_at = models.DateTimeField(null=True, blank=True)
    liveness_started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("personal verification")
        verbose_name_plural = _("personal verifications")
        ordering = ["-created_at"]
        indexes = queue_indexes("verification", attention=["failed", "error"])
        constraints = [
            *one_active_constraints(
                "verification",
                active=["submitted", "in_progress", "passed"],
                messages=(
                    _("This mobile number has already been used to verify another account."),
                    _("This account already has a verification under way."),
                ),
            ),
            models.CheckConstraint(
                condition=Q(document_type__in=DocumentType.values),
                name="verification_document_type_known",
            ),
            outcome_constraint(
                "verification",
                waiting=Q(
                    status__in=["submitted", "in_progress"], reason_code="", completed_at=None
                ),
                verified=Q(status="passed", reason_code="ok", completed_at__isnull=False),
                failed="failed",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["in_progress", "passed"])
                | Q(identity_checked_at__isnull=False)
                | Q(identity_deferred=True),
                name="verification_identity_checked_before_progress",
            ),
            models.CheckConstraint(
                condition=~Q(status="passed") | Q(liveness_started_at__isnull=False),
                name="verification_passed_after_liveness",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_document_type_display()} {mask_document_number(self.document_number)}"

    def blank_personal_values(self, *, at: datetime) -> None:
        """Blank the person's values and record when (a retention purge, a withdrawal): that a
        check ran, its outcome, the document type and the provider stay. Through ``save()``, so
        the blanks are sealed under the person's key like any value of theirs."""
        self.name = self.document_number = self.document_number_hash = ""
        self.birth_date = None
        self.result = {}
        self.liveness_url = ""
        self.personal_data_purged_at = at
        self.save(
            update_fields=[
                "name",
                "document_number",
                "document_number_hash",
                "birth_date",
                "result",
                "liveness_url",
                "personal_data_purged_at",
                "updated_at",
            ]
        )

    @property
    def step(self) -> str:
        """Where an open verification stands, for the status page and the timeline."""
        return self.step_of(
            self.status,
            face_requested=self.face_requested_at is not None,
            face_url=self.liveness_url,
        )

    @classmethod
    def step_of(cls, status: str, *, face_requested: bool, face_url: str) -> str:
        """``step`` from the columns it depends on (the polled status answer reads only those)."""
        if status == cls.Status.SUBMITTED:
            return "identity_check"
        if status != cls.Status.IN_PROGRESS:
            return str(status)
        if not face_requested:
            return "face_consent"
        if not face_url:
            return "face_preparing"
        return "face_pending"


class VerificationEvent(models.Model):
    """One step in the life of a verification (personal or enterprise), for support staff's
    timeline: submitted, each provider call that failed, each result, errors, retries. Nothing
    personal: a step, a reason code, a count."""

    class Event(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        PROVIDER_FAILED = "provider_failed", _("Provider call failed, will retry")
        IDENTITY_RESULT = "identity_result", _("Identity check answered")
        IDENTITY_DEFERRED = (
            "identity_deferred",
            _("Identity to be checked with the face (the provider checks both at once)"),
        )
        FACE_REQUESTED = "face_requested", _("Face check requested (face consent given)")
        FACE_SESSION = "face_session", _("Face session opened at the provider")
        FACE_RESULT = "face_result", _("Face check answered")
        REGISTRY_RESULT = "registry_result", _("Registry check answered")
        ERROR = "error", _("Stopped: needs attention")
        RETRIED = "retried", _("Provider check re-run")
        REVIEWED = "reviewed", _("Licence reviewed")
        ABANDONED = "abandoned", _("Abandoned: untouched for the retention period")
        PURGED = "purged", _("Personal data purged (retention period over)")
        ENDED = "ended", _("Ended: the person withdrew consent to the real-name service")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    verification_id = models.BigIntegerField()
    event = models.CharField(max_length=20, choices=Event.choices)
    reason_code = models.CharField(max_length=40, blank=True)
    detail = models.JSONField(default=dict, blank=True)  # counts and step names only
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("verification event")
        verbose_name_plural = _("verification events")
        indexes = [models.Index(fields=["kind", "verification_id", "at"], name="event_timeline")]

    def __str__(self) -> str:
        return f"{self.kind} {self.verification_id}: {self.event}"


class AttemptReset(models.Model):
    """Support staff gave a user their daily verification attempts back: attempts started
    before ``at`` no longer count against the limit (personal and enterprise alike)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attempt_resets"
    )
    reset_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attempt counter reset")
        verbose_name_plural = _("attempt counter resets")
        indexes = [models.Index(fields=["user", "-at"], name="attempt_reset_latest")]

    def __str__(self) -> str:
        return f"{self.user} {self.at:%Y-%m-%d %H:%M}"
