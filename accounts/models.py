from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .fields import PhoneNumberField
from .managers import UserManager
from .phone import E164_REGEX, mask_phone


class User(AbstractBaseUser, PermissionsMixin):
    """An account. People sign up with a mobile number; e-mail is optional.

    The mobile number is unique among accounts (a database constraint, so it holds when two
    sign-ups race) and is stored in E.164. ``public_id`` is what URLs show, never the phone."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    phone = PhoneNumberField(_("mobile number"), null=True, blank=True)
    phone_verified = models.BooleanField(_("mobile number verified"), default=False)
    email = models.EmailField(_("e-mail address"), blank=True, default="")
    is_staff = models.BooleanField(
        _("staff status"),
        default=False,
        help_text=_("Can log in to the support desk (the admin site)."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # Set when the person closed the account: the row stays as the anchor of the records the
    # law keeps (consents, that a verification passed), with no phone, e-mail or password.
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "phone"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(fields=["phone"], name="accounts_user_phone_unique"),
            models.CheckConstraint(
                condition=models.Q(phone__isnull=True) | models.Q(phone__regex=E164_REGEX),
                name="accounts_user_phone_e164",
                violation_error_message=_("The mobile number must be stored in E.164 form."),
            ),
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="accounts_user_email_unique_ci",
                violation_error_message=_("An account with this e-mail address already exists."),
            ),
            models.CheckConstraint(
                condition=models.Q(phone_verified=False) | models.Q(phone__isnull=False),
                name="accounts_user_verified_phone_present",
            ),
        ]

    def __str__(self) -> str:
        if self.erased_at:
            return f"erased {self.public_id}"
        return self.masked_phone or self.email or f"user {self.public_id}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def get_full_name(self) -> str:
        return str(self)

    def get_short_name(self) -> str:
        return str(self)


class LegalDocument(models.Model):
    """One published version of a legal text, in both languages. Never edited: a change is a new
    version, and people are asked again. ``content_hash`` fingerprints exactly what was shown."""

    class Slug(models.TextChoices):
        USER_AGREEMENT = "user-agreement", _("User Agreement")
        PRIVACY_POLICY = "privacy-policy", _("Privacy Policy")
        REALNAME_SERVICE = "realname-service", _("Real-name Authentication Service Description")
        FACE_RULES = "face-rules", _("Face Information Processing Rules")

    slug = models.CharField(max_length=40, choices=Slug.choices)
    version = models.PositiveIntegerField()
    effective_at = models.DateTimeField()
    title_zh_hans = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200)
    body_zh_hans = models.TextField()
    body_en = models.TextField()
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("legal document")
        verbose_name_plural = _("legal documents")
        ordering = ["slug", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["slug", "version"], name="accounts_legal_slug_version"),
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="accounts_legal_version_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_slug_display()} v{self.version}"

    @property
    def title(self) -> str:
        return self.title_en if (get_language() or "").startswith("en") else self.title_zh_hans

    @property
    def body(self) -> str:
        return self.body_en if (get_language() or "").startswith("en") else self.body_zh_hans


class ConsentRecord(models.Model):
    """An acceptance or withdrawal of one document version. Append-only: a database trigger
    refuses UPDATE and DELETE, so the history is evidence, not state."""

    class Action(models.TextChoices):
        ACCEPTED = "accepted", _("accepted")
        WITHDRAWN = "withdrawn", _("withdrawn")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="consent_records")
    document = models.ForeignKey(LegalDocument, on_delete=models.PROTECT, related_name="+")
    document_version = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    action = models.CharField(max_length=10, choices=Action.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "document", "-created_at"], name="accounts_consent_latest")
        ]

    def __str__(self) -> str:
        return f"{self.document} {self.action}"


class PersonKey(models.Model):
    """A person's data key, wrapped (encrypted) under the primary master key: every personal
    value of theirs is sealed under it (``kernel.crypto``, crypto-shredding). Erasing the person
    empties ``wrapped_key`` and stamps ``shredded_at``; the row stays, holding no key, so the
    shredding is on record (a count, no personal data) and nothing new is sealed for them.

    ``user_id`` is a plain column, not a foreign key: the record of a shredding outlives the
    account row. See docs/privacy/person-keys.md for how backups of this table are handled."""

    user_id = models.BigIntegerField(primary_key=True)
    wrapped_key = models.TextField(blank=True, editable=False)
    # The master key id wrapped_key is sealed under (also inside the token; kept for queries).
    master_key_id = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    rewrapped_at = models.DateTimeField(null=True, blank=True, editable=False)
    shredded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("person key")
        verbose_name_plural = _("person keys")
        default_permissions = ()
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(shredded_at__isnull=True) & ~models.Q(wrapped_key="")
                    | models.Q(shredded_at__isnull=False, wrapped_key="", master_key_id="")
                ),
                name="accounts_personkey_key_or_shredded",
            )
        ]

    def __str__(self) -> str:
        return f"person key {self.user_id}" + (" (shredded)" if self.shredded_at else "")


class PrivacyEvent(models.Model):
    """A privacy right exercised: a re-confirmation by SMS code, an export, a withdrawal, an
    account closed. Append-only evidence with counts only (what was exported, how many rows
    were erased): never a personal value."""

    class Kind(models.TextChoices):
        RECONFIRMED = "reconfirmed", _("Re-confirmed with an SMS code")
        EXPORTED = "exported", _("Exported their data")
        ERASED = "erased", _("Closed the account")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="privacy_events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    detail = models.JSONField(default=dict, blank=True)  # counts and format names only
    at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("privacy event")
        verbose_name_plural = _("privacy events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"], name="accounts_privacy_by_user")]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"
