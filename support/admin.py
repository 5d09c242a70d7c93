"""The review desk: one queue of every verification needing attention, a detail page with the
timeline, masked data, the licence, notes and actions, and the audit log. Every action goes
through support.services, which checks the permission and writes the audit entry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.phone import mask_phone
from enterprise.guidance import guidance_for as enterprise_guidance
from enterprise.licence import licence_response
from enterprise.models import EnterpriseVerification, ReviewReason
from kernel.admin import ReadOnlyAdminMixin
from kernel.request import client_ip
from verification.documents import mask_document_number, mask_name
from verification.guidance import guidance_for as personal_guidance
from verification.providers import provider_name

from . import selectors, services
from .forms import NoteForm, RejectForm, RevealForm
from .models import AuditEntry, Kind, ReviewQueue
from .paginator import CappedCountPaginator

REVEALED_LABELS = {
    "name": gettext_lazy("Name"),
    "document_number": gettext_lazy("Document number"),
    "birth_date": gettext_lazy("Date of birth"),
    "phone": gettext_lazy("Mobile number"),
    "legal_representative": gettext_lazy("Legal representative"),
}


def _actor(request: HttpRequest) -> User:
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


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
                actor=_actor(request), verification=v, reason=reason, ip_address=client_ip(request)
            ),
            kinds=(Kind.ENTERPRISE,),
        )

    action.__name__ = f"reject_{reason.value}"
    return admin.action(
        description=format_lazy(gettext_lazy("Reject licence: {reason}"), reason=reason.label),
        permissions=["review_licence"],
    )(action)


@admin.register(ReviewQueue)
class ReviewQueueAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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

    # --- the queue ----------------------------------------------------------------------------

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
                actor=_actor(request), verification=v, ip_address=client_ip(request)
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
                actor=_actor(request), verification=v, ip_address=client_ip(request)
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
            queryset.filter(status="error"),
            lambda v: services.check_rerun(
                actor=_actor(request), verification=v, ip_address=client_ip(request)
            ),
        )

    # --- one verification ---------------------------------------------------------------------

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<str:kind>/<uuid:public_id>/",
                wrap(self.detail_view),
                name="support_review_detail",
            ),
            path(
                "<str:kind>/<uuid:public_id>/licence/",
                wrap(self.licence_view),
                name="support_review_licence",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> Any:
        row = ReviewQueue.objects.filter(pk=object_id).first()
        if row is None:
            raise Http404
        return HttpResponseRedirect(
            reverse("admin:support_review_detail", args=[row.kind, row.public_id])
        )

    def _verification(self, request: HttpRequest, kind: str, public_id: Any) -> Any:
        if not self.has_view_permission(request):
            raise PermissionDenied
        if kind not in Kind.values:
            raise Http404
        verification = selectors.verification_for_review(kind=kind, public_id=public_id)
        if verification is None:
            raise Http404
        return verification

    def licence_view(self, request: HttpRequest, kind: str, public_id: Any) -> HttpResponse:
        verification = self._verification(request, kind, public_id)
        if not isinstance(verification, EnterpriseVerification):
            raise Http404
        services.licence_view(
            actor=_actor(request), verification=verification, ip_address=client_ip(request)
        )
        return licence_response(verification, for_staff=True)

    def detail_view(self, request: HttpRequest, kind: str, public_id: Any) -> HttpResponse:
        verification = self._verification(request, kind, public_id)
        actor = _actor(request)
        ip = client_ip(request)
        reveal_form, note_form, reject_form = RevealForm(), NoteForm(), RejectForm()
        revealed = None
        if request.method == "POST":
            action = request.POST.get("action", "")
            try:
                if action == "reveal":
                    reveal_form = RevealForm(request.POST)
                    if reveal_form.is_valid():
                        revealed = services.personal_data_reveal(
                            actor=actor,
                            verification=verification,
                            reason=reveal_form.cleaned_data["reason"],
                            ip_address=ip,
                        )
                elif action == "note":
                    note_form = NoteForm(request.POST)
                    if note_form.is_valid():
                        services.staff_note_add(
                            actor=actor,
                            verification=verification,
                            text=note_form.cleaned_data["text"],
                            ip_address=ip,
                        )
                        return self._done(request, kind, public_id, _("Note added."))
                elif action == "approve":
                    services.licence_approve(actor=actor, verification=verification, ip_address=ip)
                    return self._done(request, kind, public_id, _("Licence approved."))
                elif action == "reject":
                    reject_form = RejectForm(request.POST)
                    if reject_form.is_valid():
                        services.licence_reject(
                            actor=actor,
                            verification=verification,
                            reason=reject_form.cleaned_data["reason"],
                            ip_address=ip,
                        )
                        return self._done(request, kind, public_id, _("Licence rejected."))
                elif action == "reset_attempts":
                    services.attempts_reset(actor=actor, verification=verification, ip_address=ip)
                    return self._done(
                        request, kind, public_id, _("Attempt counter reset: the user can retry.")
                    )
                elif action == "rerun":
                    services.check_rerun(actor=actor, verification=verification, ip_address=ip)
                    return self._done(request, kind, public_id, _("Provider check re-run."))
                else:
                    raise PermissionDenied
            except ValidationError as error:
                forms = {"reveal": reveal_form, "note": note_form, "reject": reject_form}
                form = forms.get(action)
                if form is not None and hasattr(error, "error_dict"):
                    for field, errors in error.error_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    messages.error(request, " ".join(error.messages))
            verification.refresh_from_db()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Verification %(id)s") % {"id": str(verification.public_id)[:8]},
            "verification": verification,
            "kind": kind,
            "is_enterprise": kind == Kind.ENTERPRISE,
            "facts": self._facts(verification),
            "revealed": [
                (field, REVEALED_LABELS.get(field, field), value)
                for field, value in revealed.fields.items()
            ]
            if revealed
            else None,
            "timeline": selectors.verification_timeline(verification=verification),
            "notes": selectors.staff_notes(verification=verification),
            "guidance": (
                enterprise_guidance(verification.reason_code)
                if kind == Kind.ENTERPRISE
                else personal_guidance(verification.reason_code)
            ),
            "reveal_form": reveal_form,
            "note_form": note_form,
            "reject_form": reject_form,
            "can_reveal": actor.has_perm("support.reveal_personal_data"),
            "can_note": actor.has_perm("support.add_staffnote"),
            "can_review": actor.has_perm("support.review_licence")
            and kind == Kind.ENTERPRISE
            and verification.status == EnterpriseVerification.Status.PENDING_REVIEW,
            "can_reset": actor.has_perm("support.reset_attempts"),
            "can_rerun": actor.has_perm("support.rerun_check") and verification.status == "error",
            "licence_is_image": kind == Kind.ENTERPRISE
            and bool(
                verification.licence_preview_name
                or verification.licence_content_type != "application/pdf"
            ),
            "licence_url": reverse("admin:support_review_licence", args=[kind, public_id])
            if kind == Kind.ENTERPRISE
            else "",
        }
        return TemplateResponse(request, "support/review_detail.html", context)

    def _done(self, request: HttpRequest, kind: str, public_id: Any, text: str) -> HttpResponse:
        messages.success(request, text)
        return HttpResponseRedirect(reverse("admin:support_review_detail", args=[kind, public_id]))

    @staticmethod
    def _facts(verification: Any) -> list[tuple[str, str]]:
        """What staff see by default: masked personal data, plain facts about the check."""
        common = [
            (_("Status"), verification.get_status_display()),
            (_("Reason"), verification.reason_code or "—"),
            (_("Provider"), verification.provider or "—"),
            (_("Provider failures"), str(verification.provider_failures)),
            (_("Mobile number"), mask_phone(verification.phone)),
            (_("Account"), str(verification.user.public_id)),
        ]
        if isinstance(verification, EnterpriseVerification):
            return [
                (_("Company name"), verification.company_name),
                (_("Unified social credit code"), verification.credit_code),
                (_("Legal representative"), mask_name(verification.legal_representative)),
                *common,
            ]
        return [
            (_("Name"), mask_name(verification.name)),
            (_("Document type"), verification.get_document_type_display()),
            (_("Document number"), mask_document_number(verification.document_number)),
            *common,
        ]


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
        import uuid

        try:
            return queryset.filter(public_id=uuid.UUID(search_term.strip())), False
        except ValueError:
            return (queryset.none() if search_term.strip() else queryset), False
