"""Webhook endpoints of the host platform's API clients, the events sent to them and each
delivery with its log of attempts.

An event is written in the transaction that changes a verification's state (the outbox): it
exists exactly when the change does. One delivery per endpoint of each client linked to the
account; its body is fixed when the event is written (a retry or a redelivery sends the same
bytes, signed anew)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hostapi.models import ApiClient
from kernel.fields import EncryptedTextField


class WebhookEndpoint(models.Model):
    class DisabledReason(models.TextChoices):
        FAILING = "failing", _("Every delivery failed for too long")
        STAFF = "staff", _("Disabled by support staff")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(
        ApiClient,
        verbose_name=_("API client"),
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
    )
    url = models.URLField(_("URL"), max_length=1000)
    enabled = models.BooleanField(_("enabled"), default=True)
    disabled_reason = models.CharField(
        _("why disabled"), max_length=16, blank=True, choices=DisabledReason.choices
    )
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True, editable=False)
    # Not personal data: the master key seals them (no owner). Shown once, when made.
    secret = EncryptedTextField(_("signing secret"), editable=False)
    previous_secret = EncryptedTextField(null=True, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(
        _("previous secret signs until"), null=True, blank=True, editable=False
    )
    # Failed attempts since the last success, and when the first of them came.
    consecutive_failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        constraints = [
            models.CheckConstraint(
                condition=Q(enabled=True, disabled_reason="") | Q(enabled=False),
                name="webhooks_endpoint_enabled_has_no_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.url


class AccountSequence(models.Model):
    """The last sequence number given to an event of one account (a counter row, taken under a
    row lock in the changing transaction: an account's events are numbered in commit order)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.last}"


class Event(models.Model):
    """One state change of one account's verification (or its closing), as the platform hears
    it. No personal data: ids, kinds, states, reason codes, the document type, the provider."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(_("type"), max_length=16)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sequence = models.BigIntegerField(_("sequence"))
    kind = models.CharField(max_length=16, blank=True)
    verification_public_id = models.UUIDField(null=True, blank=True)
    state = models.CharField(max_length=16, blank=True)
    reason_code = models.CharField(max_length=40, blank=True)
    document_type = models.CharField(max_length=40, blank=True)
    provider = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        constraints = [
            models.UniqueConstraint(fields=["user", "sequence"], name="webhooks_event_sequence")
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.sequence}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("endpoint"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    # The JSON document sent, exactly: the same bytes at every attempt.
    body = models.TextField(editable=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # When the next attempt is due; while an attempt runs, the end of its lease.
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    # The retry window counts from here: the first attempt, or the last redelivery.
    window_started_at = models.DateTimeField()
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    # The attempt that holds the delivery now (a random token set when it is claimed): only
    # that attempt's outcome moves the status and the schedule; a stale one is only logged.
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhooks_one_per_endpoint"),
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_at__isnull=False),
                name="webhooks_delivered_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhooks_delivery_pending",
                condition=Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"


class DeliveryAttempt(models.Model):
    """One try of one delivery: what the receiver answered (its status code, never its body),
    how long it took, or the class of the error."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(_("at"))
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    error = models.CharField(_("error"), max_length=64, blank=True)
    will_retry = models.BooleanField(_("will retry"), default=False)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error}"
