"""Enterprise verification: an account proves it acts for a company, with the three-factor
registry check and a support-staff review of the business licence.

As for personal verification, the rules are database constraints: one active enterprise
verification per mobile number and one per account. Neither the credit code nor the licence is
unique: one company may verify several accounts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kernel.fields import EncryptedTextField
from verification.models import (
    Kind,
    VerificationBase,
    one_active_constraints,
    outcome_constraint,
    queue_indexes,
)
from verification.providers.base import ReasonCode


class ReviewReason(models.TextChoices):
    """Why support staff rejected a licence; the user sees guidance for each."""

    LICENCE_UNREADABLE = "licence_unreadable", _("The licence image is unreadable")
    LICENCE_MISMATCH = "licence_mismatch", _("The licence does not match the details entered")
    NOT_A_LICENCE = "not_a_licence", _("The file is not a business licence")
    LICENCE_INVALID = "licence_invalid", _("The licence is expired, revoked or incomplete")


REASON_CHOICES = [(code.value, code.value) for code in ReasonCode] + [
    (code.value, code.value) for code in ReviewReason
]


class EnterpriseVerification(VerificationBase):
    kind = Kind.ENTERPRISE

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")  # saved; the registry check is queued
        PENDING_REVIEW = "pending_review", _("Pending review")  # registry check passed
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        ERROR = "error", _("Needs attention")  # the provider kept failing; support can retry
        ENDED = "ended", _("Ended")  # approved, then consent to the service was withdrawn

    ACTIVE_STATUSES = (Status.SUBMITTED, Status.PENDING_REVIEW, Status.APPROVED)
    PROVIDER_STATUSES = (Status.SUBMITTED,)
    VERIFIED = Status.APPROVED
    status_url_name = "enterprise:status"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="enterprise_verifications"
    )
    # Company facts are public registry data; the legal representative's name is personal data.
    company_name = models.CharField(_("company name"), max_length=200)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, db_index=True)
    legal_representative = EncryptedTextField(_("legal representative"), owner="user_id")

    # The licence, encrypted, in private storage (enterprise.storage); never a public URL.
    licence_name = models.CharField(max_length=100, editable=False)
    licence_content_type = models.CharField(max_length=40, editable=False)
    licence_sha256 = models.CharField(max_length=64, db_index=True, editable=False)
    licence_preview_name = models.CharField(max_length=100, blank=True, editable=False)

    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SUBMITTED
    )
    reason_code = models.CharField(_("reason"), max_length=40, blank=True, choices=REASON_CHOICES)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    checked_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("enterprise verification")
        verbose_name_plural = _("enterprise verifications")
        ordering = ["-created_at"]
        indexes = queue_indexes("enterprise", attention=["pending_review", "rejected", "error"])
        constraints = [
            *one_active_constraints(
                "enterprise", active=["submitted", "pending_review", "approved"]
            ),
            models.CheckConstraint(
                condition=Q(credit_code__regex=r"^[0-9A-HJ-NPQRTUWXY]{18}$"),
                name="enterprise_credit_code_format",
            ),
            outcome_constraint(
                "enterprise",
                waiting=Q(status="submitted", reason_code="", completed_at=None)
                | Q(
                    status="pending_review",
                    reason_code="",
                    completed_at=None,
                    checked_at__isnull=False,
                ),
                verified=Q(
                    status="approved",
                    reason_code="ok",
                    completed_at__isnull=False,
                    reviewed_at__isnull=False,
                    reviewed_by__isnull=False,
                ),
                failed="rejected",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company_name} ({self.credit_code[:4]}…{self.credit_code[-4:]})"

    @property
    def step(self) -> str:
        """The registry check while it runs, else the status."""
        return "registry_check" if self.status == self.Status.SUBMITTED else str(self.status)


class LicenceAccess(models.Model):
    """Every view of a licence file: who, when, from where, and whether as support staff."""

    verification = models.ForeignKey(
        EnterpriseVerification, on_delete=models.PROTECT, related_name="licence_accesses"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    as_staff = models.BooleanField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("licence access")
        verbose_name_plural = _("licence accesses")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.verification_id} @ {self.at:%Y-%m-%d %H:%M}"
