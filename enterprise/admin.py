"""Support staff review licences here: the review queue, the watermarked licence (each view
logged), approve, or reject with a reason the company sees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import User

from . import services
from .models import EnterpriseVerification, LicenceAccess, ReviewReason


def _reviewer(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # noqa: S101 - the admin requires a staff user
    return request.user


def _apply(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[EnterpriseVerification],
    review: Callable[[EnterpriseVerification], object],
) -> None:
    done = 0
    for verification in queryset:
        try:
            review(verification)
        except ValidationError as error:
            modeladmin.message_user(
                request, f"{verification}: {error.messages[0]}", messages.WARNING
            )
        else:
            done += 1
    modeladmin.message_user(request, _("%(count)d updated.") % {"count": done})


def _reject_action(reason: ReviewReason) -> Any:
    def action(
        modeladmin: admin.ModelAdmin,
        request: HttpRequest,
        queryset: QuerySet[EnterpriseVerification],
    ) -> None:
        _apply(
            modeladmin,
            request,
            queryset,
            lambda v: services.licence_review_reject(
                verification=v, reviewer=_reviewer(request), reason=reason
            ),
        )

    action.__name__ = f"reject_{reason.value}"
    return admin.action(
        description=format_lazy(_("Reject: {reason}"), reason=reason.label), permissions=["change"]
    )(action)


@admin.register(EnterpriseVerification)
class EnterpriseVerificationAdmin(admin.ModelAdmin):
    list_display = (
        "company_name",
        "credit_code",
        "status",
        "reason_code",
        "checked_at",
        "licence_link",
    )
    list_filter = ("status", "reason_code")
    search_fields = ("company_name", "credit_code", "public_id")
    date_hierarchy = "created_at"
    fields = (
        "public_id",
        "user",
        "company_name",
        "credit_code",
        "licence_link",
        "status",
        "reason_code",
        "provider_failures",
        "created_at",
        "checked_at",
        "reviewed_by",
        "reviewed_at",
        "completed_at",
    )
    readonly_fields = fields
    actions = [
        "approve",
        *[_reject_action(reason) for reason in ReviewReason],
        "retry",
    ]

    @admin.display(description=_("licence"))
    def licence_link(self, obj: EnterpriseVerification) -> str:
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            reverse("enterprise:licence", args=[obj.public_id]),
            _("View (watermarked; logged)"),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description=_("Approve: Identity Verified"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[EnterpriseVerification]) -> None:
        _apply(
            self,
            request,
            queryset,
            lambda v: services.licence_review_approve(verification=v, reviewer=_reviewer(request)),
        )

    @admin.action(
        description=_("Retry the registry check of verifications that need attention"),
        permissions=["change"],
    )
    def retry(self, request: HttpRequest, queryset: QuerySet[EnterpriseVerification]) -> None:
        _apply(self, request, queryset, lambda v: services.enterprise_retry(verification=v))


@admin.register(LicenceAccess)
class LicenceAccessAdmin(admin.ModelAdmin):
    list_display = ("verification", "user", "as_staff", "ip_address", "at")
    list_filter = ("as_staff",)
    readonly_fields = ("verification", "user", "as_staff", "ip_address", "at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
