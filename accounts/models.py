from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
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
        return self.masked_phone or self.email or f"user {self.public_id}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def get_full_name(self) -> str:
        return str(self)

    def get_short_name(self) -> str:
        return str(self)
