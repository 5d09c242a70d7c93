"""The review queue: one list of every verification needing attention, with filters, a search
by exact keys, and bulk actions."""

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
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.phone import mask_phone
from enterprise.models import ReviewReason
from kernel.admin import ReadOnlyAdminMixin
from kernel.request import client_ip
from verification.providers import provider_name

from .. import selectors, services
from ..models import Kind, ReviewQueue
from ..paginator import CappedCountPaginator
from .detail import ReviewDetailMixin, staff_member


class ProviderFilter(admin.SimpleListFilter):
    """The configured provider and the sandbox: listing the providers from the data would mean
    a scan of the whole queue on every page."""

    title = gettext_lazy("provider")
    parameter_name = "provider"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = dict.fromkeys([provider_name(), "sandbox"])
        return [(name, name) for name in names]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(provider=self.value()) if self.value() else queryset


def _bulk(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[ReviewQueue],
    act: Callable[[Any], object],
    *,
    kinds: tuple[str, ...] = (Kind.PERSONAL, Kind.ENTERPRISE),
) -> None:
    done = 0
    for row in queryset:
        if row.kind not in kinds:
            continue
        verification = selectors.verification_for_review(kind=row.kind, public_id=row.public_id)
        if verification is None:
            continue
        try:
            act(verification)
        except ValidationError as error:
            modeladmin.message_user(
                request, f"{row.public_id}: {error.messages[0]}", messages.WARNING
            )
        else:
            done += 1
    modeladmin.message_user(request, _("%(count)d done.") % {"count": done})


def _reject_action(reason: ReviewReason) -> Any:
    def action(
        modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[ReviewQueue]
    ) -> None:
        _bulk(
            modeladmin,
            request,
            queryset,
            lambda v: services.licence_reject(
                actor=staff_member(request),
                verification=v,
                reason=reason,
                ip_address=client_ip(request),
            ),
            kinds=(Kind.ENTERPRISE,),
        )

    action.__name__ = f"reject_{reason.value}"
    return admin.action(
        description=format_lazy(gettext_lazy("Reject licence: {reason}"), reason=reason.label),
        permissions=["review_licence"],
    )(action)


@admin.register(ReviewQueue)
class ReviewQueueAdmin(ReadOnlyAdminMixin, ReviewDetailMixin):
    list_display = (
        "open_link",
        "kind",
        "status",
        "reason_code",
        "provider",
        "masked_phone",
        "created_at",
    )
    list_display_links = None
    list_filter = (
        "status",
        "kind",
        "reason_code",
        ProviderFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("phone",)  # shows the search box; the search itself is get_search_results
    search_help_text = gettext_lazy(
        "Exact mobile number, document number, unified social credit code or verification id."
    )
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    ordering = ("-created_at",)
    actions = [
        "approve_licences",
        *[_reject_action(reason) for reason in ReviewReason],
        "reset_attempts",
        "rerun_checks",
    ]

    @admin.display(description=gettext_lazy("verification"))
    def open_link(self, row: ReviewQueue) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:support_review_detail", args=[row.kind, row.public_id]),
            str(row.public_id)[:8],
        )

    @admin.display(description=gettext_lazy("mobile number"))
    def masked_phone(self, row: ReviewQueue) -> str:
        return mask_phone(row.phone)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        return selectors.review_queue_search(queryset, search_term), False

    def has_review_licence_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("support.review_licence")

    def has_reset_attempts_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("support.reset_attempts")

    def has_rerun_check_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("support.rerun_check")

    @admin.action(
        description=gettext_lazy("Approve licence: Identity Verified"),
        permissions=["review_licence"],
    )
    def approve_licences(self, request: HttpRequest, queryset: QuerySet[ReviewQueue]) -> None:
        _bulk(
            self,
            request,
            queryset,
            lambda v: services.licence_approve(
                actor=staff_member(request), verification=v, ip_address=client_ip(request)
            ),
            kinds=(Kind.ENTERPRISE,),
        )

    @admin.action(
        description=gettext_lazy("Reset the attempt counter of the accounts"),
        permissions=["reset_attempts"],
    )
    def reset_attempts(self, request: HttpRequest, queryset: QuerySet[ReviewQueue]) -> None:
        _bulk(
            self,
            request,
            queryset,
            lambda v: services.attempts_reset(
                actor=staff_member(request), verification=v, ip_address=client_ip(request)
            ),
        )

    @admin.action(
        description=gettext_lazy("Re-run the provider check (verifications needing attention)"),
        permissions=["rerun_check"],
    )
    def rerun_checks(self, request: HttpRequest, queryset: QuerySet[ReviewQueue]) -> None:
        _bulk(
            self,
            request,
            queryset,
            lambda v: services.check_rerun(
                actor=staff_member(request), verification=v, ip_address=client_ip(request)
            ),
        )
