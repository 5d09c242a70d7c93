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
    # Where sessions may send the person back: absolute URLs, each an origin and a path
    # prefix (``https://platform.example/realname/``); see ``services.return_url_allowed``.
    return_urls = models.JSONField(_("return URLs"), default=list, blank=True)
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


class VerificationSession(models.Model):
    """A platform's request that one of its users verify: the person opens ``url`` (our page
    for this session), signs in, verifies or already has, and is sent back to ``return_url``
    with the session's id. Its ``public_id`` is the id the platform sees; it says nothing about
    the person."""

    class Kind(models.TextChoices):
        PERSONAL = "personal", _("Personal")
        ENTERPRISE = "enterprise", _("Enterprise")

    class Status(models.TextChoices):
        CREATED = "created", _("Created")
        OPENED = "opened", _("Opened")
        COMPLETED = "completed", _("Completed")
        # Never stored: a session not completed by ``expires_at`` reads as expired.
        EXPIRED = "expired", _("Expired")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="sessions")
    reference = models.CharField(_("platform user reference"), max_length=128)
    return_url = models.URLField(_("return URL"), max_length=1000)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PERSONAL)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.CREATED
    )
    # The account that took the session (when the person went on to verify, or returned).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("verification session")
        verbose_name_plural = _("verification sessions")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["created", "opened", "completed"]),
                name="hostapi_session_stored_status",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="completed")
                | models.Q(completed_at__isnull=False, user__isnull=False),
                name="hostapi_session_completed_has_account",
            ),
        ]

    def __str__(self) -> str:
        return str(self.public_id)

    def effective_status(self, now: object = None) -> str:
        """The status the platform sees: an unfinished session past ``expires_at`` is expired."""
        moment = now or timezone.now()
        if self.status != self.Status.COMPLETED and self.expires_at <= moment:  # type: ignore[operator]
            return self.Status.EXPIRED
        return self.status

    @property
    def is_expired(self) -> bool:
        return self.effective_status() == self.Status.EXPIRED


class ApiCall(models.Model):
    """One call of the API by a client: which operation, the method and the status code. No
    query values, no body, no address: nothing about the person it was about."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="calls")
    operation = models.CharField(_("operation"), max_length=64)
    method = models.CharField(_("method"), max_length=8)
    status_code = models.PositiveSmallIntegerField(_("status code"))
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("API call")
        verbose_name_plural = _("API calls")
        indexes = [models.Index(fields=["client", "-at"], name="hostapi_call_client_at")]

    def __str__(self) -> str:
        return f"{self.client} {self.method} {self.operation} {self.status_code}"
