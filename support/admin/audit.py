"""The audit log, for Support lead."""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from enterprise.models import EnterpriseVerification
from kernel.admin import ReadOnlyAdminMixin
from verification.models import Kind, PersonalVerification

from ..models import AuditEntry
from ..paginator import CappedCountPaginator


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Support lead only (the view permission). Nothing here can change an entry, and the
    database refuses it anyway."""

    list_display = ("at", "actor", "action", "kind", "public_id", "person", "reason", "ip_address")
    list_filter = ("action", "kind", ("at", admin.DateFieldListFilter))
    search_fields = ("public_id",)
    search_help_text = gettext_lazy("Exact verification id.")
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 100
    list_select_related = ("actor",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        """Each entry knows whether the person behind its verification closed their account
        (or the record is gone: ``accounts.erased`` deleted it after the legal period)."""

        def erased(model: type[PersonalVerification | EnterpriseVerification]) -> Q:
            return ~Q(
                Exists(
                    model.objects.filter(
                        pk=OuterRef("verification_id"), user__erased_at__isnull=True
                    )
                )
            )

        return (
            super()
            .get_queryset(request)
            .annotate(
                person_erased=ExpressionWrapper(
                    (Q(kind=Kind.PERSONAL) & erased(PersonalVerification))
                    | (Q(kind=Kind.ENTERPRISE) & erased(EnterpriseVerification)),
                    output_field=BooleanField(),
                )
            )
        )

    @admin.display(description=gettext_lazy("person"))
    def person(self, entry: AuditEntry) -> str:
        return str(gettext_lazy("(erased)")) if getattr(entry, "person_erased", False) else "—"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        try:
            return queryset.filter(public_id=uuid.UUID(search_term.strip())), False
        except ValueError:
            return (queryset.none() if search_term.strip() else queryset), False
