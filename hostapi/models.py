"""API clients: the host platform's services that call realname. A client has scopes and one or
more keys; a key is shown once and stored as a hash. Rotation issues a new key and lets the old
one work until the end of an overlap period."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    READ_STATUS = "status:read", _("Read verification status")
    CREATE_SESSIONS = "sessions:write", _("Create verification sessions")
    MANAGE_WEBHOOKS = "webhooks:manage", _("Manage webhook endpoints")


class ApiClient(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=100, unique=True)
    # A list of Scope values; validated by the admin form and the services.
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        permissions = [("manage_api_clients", _("Can create, rotate and revoke API client keys"))]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class ApiKey(models.Model):
    """One key of a client. ``prefix`` is the public part (shown in the admin and in the
    client's own logs); ``key_hash`` is SHA-256 of the whole key, which is 256 random bits, so a
    slow password hash would add nothing but latency."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="keys")
    prefix = models.CharField(_("key prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Set when a newer key replaced this one: it works until then (the rotation overlap).
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.prefix}…"

    def is_usable(self, now: object = None) -> bool:
        moment = now or timezone.now()
        return self.expires_at is None or self.expires_at > moment  # type: ignore[operator]


class AccountLink(models.Model):
    """The platform's own user reference for a realname account, recorded when the person
    completes a verification session the platform created. A client only ever sees accounts
    linked to it (status API, webhooks)."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="links")
    reference = models.CharField(_("platform user reference"), max_length=128)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="platform_links"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("account link")
        verbose_name_plural = _("account links")
        constraints = [
            models.UniqueConstraint(
                fields=["client", "reference"], name="hostapi_link_reference_unique"
            ),
            models.UniqueConstraint(fields=["client", "user"], name="hostapi_link_user_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.client}: {self.reference}"
