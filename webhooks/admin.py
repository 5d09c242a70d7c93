"""Webhooks in the support desk: each endpoint with its state and a link to its delivery log;
each delivery with its attempts (status code, duration, error class; never a body received),
and the actions support staff need: redeliver, enable an endpoint again, disable one."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy, ngettext

from kernel.admin import ReadOnlyAdminMixin

from . import services
from .models import Delivery, DeliveryAttempt, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Clients manage their endpoints over the API; staff see them, enable or disable them."""

    list_display = (
        "url",
        "client",
        "enabled",
        "disabled_reason",
        "consecutive_failures",
        "failing_since",
        "delivery_log",
    )
    list_filter = ("enabled", "disabled_reason", "client")
    list_select_related = ("client",)
    search_fields = ("url", "client__name")
    fields = (
        "client",
        "url",
        "enabled",
        "disabled_reason",
        "disabled_at",
        "consecutive_failures",
        "failing_since",
        "previous_secret_expires_at",
        "created_at",
        "delivery_log",
    )
    readonly_fields = fields
    actions = ["enable", "disable"]

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("webhooks.change_webhookendpoint")

    @admin.display(description=gettext_lazy("delivery log"))
    def delivery_log(self, endpoint: WebhookEndpoint) -> str:
        url = reverse("admin:webhooks_delivery_changelist")
        return format_html(
            '<a href="{}?endpoint__id__exact={}">{}</a>',
            url,
            endpoint.pk,
            gettext_lazy("deliveries"),
        )

    @admin.action(
        description=gettext_lazy("Enable (send the held deliveries)"), permissions=["manage"]
    )
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        endpoints = list(queryset)
        for endpoint in endpoints:
            services.endpoint_enable(endpoint=endpoint)
        self.message_user(
            request,
            ngettext("%d endpoint enabled.", "%d endpoints enabled.", len(endpoints))
            % len(endpoints),
            messages.SUCCESS,
        )

    @admin.action(description=gettext_lazy("Disable (hold new deliveries)"), permissions=["manage"])
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        endpoints = list(queryset)
        for endpoint in endpoints:
            services.endpoint_disable(endpoint=endpoint)
        self.message_user(
            request,
            ngettext("%d endpoint disabled.", "%d endpoints disabled.", len(endpoints))
            % len(endpoints),
            messages.SUCCESS,
        )


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ("at", "status_code", "duration_ms", "error", "will_retry")
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "event_type",
        "sequence",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    )
    list_filter = ("status", "endpoint")
    list_select_related = ("event", "endpoint")
    fields = (
        "event_id",
        "event_type",
        "sequence",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "window_started_at",
        "delivered_at",
        "created_at",
        "body",
    )
    readonly_fields = fields
    inlines = [DeliveryAttemptInline]
    actions = ["redeliver"]

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("webhooks.change_delivery")

    @admin.display(description=gettext_lazy("event"))
    def event_type(self, delivery: Delivery) -> str:
        return delivery.event.type

    @admin.display(description=gettext_lazy("event id"))
    def event_id(self, delivery: Delivery) -> str:
        return str(delivery.event.public_id)

    @admin.display(description=gettext_lazy("sequence"))
    def sequence(self, delivery: Delivery) -> int:
        return delivery.event.sequence

    @admin.action(description=gettext_lazy("Redeliver"), permissions=["redeliver"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        deliveries = list(queryset)
        for delivery in deliveries:
            services.delivery_redeliver(delivery=delivery)
        self.message_user(
            request,
            ngettext("%d delivery queued again.", "%d deliveries queued again.", len(deliveries))
            % len(deliveries),
            messages.SUCCESS,
        )
