"""The review queue: one list of every verification needing attention, with filters, a search
by exact keys, and bulk actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

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
from verification.providers import BUILT_IN, configured, router

from .. import selectors, services
from ..models import Kind, ReviewQueue
from ..paginator import CappedCountPaginator
from .detail import ReviewDetailMixin, staff_member

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class ProviderFilter(admin.SimpleListFilter):
    """The configured providers and the built-in ones: listing the providers from the data
    would mean a scan of the whole queue on every page."""

    title = gettext_lazy("provider")
    parameter_name = "provider"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = dict.fromkeys([*configured(), *BUILT_IN])
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


def bulk_action(
    name: str,
    description: StrOrPromise,
    permission: str,
    service: Callable[..., object],
    *,
    kinds: tuple[str, ...] = (Kind.PERSONAL, Kind.ENTERPRISE),
    status: str = "",
    **arguments: Any,
) -> Callable[..., None]:
    """An action on the rows ticked in the queue: ``service`` runs on each (with the member of
    staff, the verification, their address and ``arguments``), for the ``kinds`` it applies to
    (and, with ``status``, only rows in that status). Offered to staff with the support
    permission ``permission`` (the admin's ``has_<permission>_permission``)."""

    def action(
        modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[ReviewQueue]
    ) -> None:
        actor, ip_address = staff_member(request), client_ip(request)
        _bulk(
            modeladmin,
            request,
            queryset.filter(status=status) if status else queryset,
            lambda verification: service(
                actor=actor, verification=verification, ip_address=ip_address, **arguments
            ),
            kinds=kinds,
        )

    action.__name__ = name
    return admin.action(description=description, permissions=[permission])(action)


def _has_support_permission(codename: str) -> Callable[[Any, HttpRequest], bool]:
    def has_permission(modeladmin: Any, request: HttpRequest) -> bool:
        return request.user.has_perm(f"support.{codename}")

    return has_permission


BULK_ACTIONS = [
    bulk_action(
        "approve_licences",
        gettext_lazy("Approve licence: Identity Verified"),
        "review_licence",
        services.licence_approve,
        kinds=(Kind.ENTERPRISE,),
    ),
    *(
        bulk_action(
            f"reject_{reason.value}",
            format_lazy(gettext_lazy("Reject licence: {reason}"), reason=reason.label),
            "review_licence",
            services.licence_reject,
            kinds=(Kind.ENTERPRISE,),
            reason=reason,
        )
        for reason in ReviewReason
    ),
    bulk_action(
        "reset_attempts",
        gettext_lazy("Reset the attempt counter of the accounts"),
        "reset_attempts",
        services.attempts_reset,
    ),
    bulk_action(
        "rerun_checks",
        gettext_lazy("Re-run the provider check (verifications needing attention)"),
        "rerun_check",
        services.check_rerun,
        status="error",
    ),
]


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
    actions = BULK_ACTIONS
    change_list_template = "support/review_queue.html"

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        """The queue, with each provider's circuit above it: staff see at once that a vendor
        is failing and new verifications are going to the next one."""
        context = {**(extra_context or {}), "circuits": router.circuits()}
        return super().changelist_view(request, extra_context=context)

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

    has_review_licence_permission = _has_support_permission("review_licence")
    has_reset_attempts_permission = _has_support_permission("reset_attempts")
    has_rerun_check_permission = _has_support_permission("rerun_check")
