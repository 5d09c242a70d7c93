"""The audit log, for Support lead."""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from kernel.admin import ReadOnlyAdminMixin

from ..models import AuditEntry
from ..paginator import CappedCountPaginator


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Support lead only (the view permission). Nothing here can change an entry, and the
    database refuses it anyway."""

    list_display = ("at", "actor", "action", "kind", "public_id", "reason", "ip_address")
    list_filter = ("action", "kind", ("at", admin.DateFieldListFilter))
    search_fields = ("public_id",)
    search_help_text = gettext_lazy("Exact verification id.")
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 100
    list_select_related = ("actor",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        try:
            return queryset.filter(public_id=uuid.UUID(search_term.strip())), False
        except ValueError:
            return (queryset.none() if search_term.strip() else queryset), False
