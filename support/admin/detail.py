"""One verification in the desk: the detail page (masked facts, timeline, notes, guidance, the
licence) and its actions, and the watermarked licence itself.

Every action on the page is a row of ``DESK_ACTIONS``: one small dispatcher binds the row's form,
checks its permission, calls its service and answers the same way for all of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Field, Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.phone import mask_phone
from enterprise.guidance import guidance_for as enterprise_guidance
from enterprise.licence import licence_response
from enterprise.models import EnterpriseVerification
from kernel.forms import ServiceErrorsMixin
from kernel.request import client_ip
from verification.documents import mask_document_number, mask_name
from verification.guidance import guidance_for as personal_guidance

from .. import selectors, services
from ..forms import NoteForm, RejectForm, RevealForm
from ..models import Kind, ReviewQueue, Verification

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def staff_member(request: HttpRequest) -> User:
    """The member of staff behind the request (the admin site lets in no one else)."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def field_label(model: type[Model] | Model, field: str) -> str:
    """A model field's verbose name as a label, in the active language ("Mobile number")."""
    model_field = model._meta.get_field(field)
    if not isinstance(model_field, Field):  # a reverse relation has no verbose name
        raise TypeError(field)
    return str(capfirst(model_field.verbose_name))


@dataclass(frozen=True)
class DeskAction:
    """One action of the detail page, chosen by the ``action`` field of the POST.

    ``service`` is called with ``actor``, ``verification`` and ``ip_address``, plus the form's
    cleaned data when there is a form (its field names are the service's keyword arguments).
    After success the page redirects to itself with ``message``; an action without a message
    (a reveal) shows its result in this one response instead."""

    permission: str
    service: Callable[..., object]
    form_class: type[ServiceErrorsMixin] | None = None
    message: StrOrPromise | None = None


DESK_ACTIONS: dict[str, DeskAction] = {
    "reveal": DeskAction(
        permission="support.reveal_personal_data",
        service=services.personal_data_reveal,
        form_class=RevealForm,
    ),
    "note": DeskAction(
        permission="support.add_staffnote",
        service=services.staff_note_add,
        form_class=NoteForm,
        message=gettext_lazy("Note added."),
    ),
    "approve": DeskAction(
        permission="support.review_licence",
        service=services.licence_approve,
        message=gettext_lazy("Licence approved."),
    ),
    "reject": DeskAction(
        permission="support.review_licence",
        service=services.licence_reject,
        form_class=RejectForm,
        message=gettext_lazy("Licence rejected."),
    ),
    "reset_attempts": DeskAction(
        permission="support.reset_attempts",
        service=services.attempts_reset,
        message=gettext_lazy("Attempt counter reset: the user can retry."),
    ),
    "rerun": DeskAction(
        permission="support.rerun_check",
        service=services.check_rerun,
        message=gettext_lazy("Provider check re-run."),
    ),
}


class ReviewDetailMixin(admin.ModelAdmin):
    """The pages behind a row of the review queue (``ReviewQueueAdmin`` adds the queue)."""

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
        if not isinstance(verification, EnterpriseVerification) or not verification.licence_name:
            raise Http404  # none, or erased with its person's account
        services.licence_view(
            actor=staff_member(request), verification=verification, ip_address=client_ip(request)
        )
        return licence_response(verification, for_staff=True)

    def detail_view(self, request: HttpRequest, kind: str, public_id: Any) -> HttpResponse:
        verification = self._verification(request, kind, public_id)
        actor = staff_member(request)
        forms = {
            name: action.form_class()
            for name, action in DESK_ACTIONS.items()
            if action.form_class is not None
        }
        revealed = None
        if request.method == "POST":
            outcome = self._perform(
                request,
                actor=actor,
                verification=verification,
                forms=forms,
                done_url=reverse("admin:support_review_detail", args=[kind, public_id]),
            )
            if isinstance(outcome, HttpResponse):
                return outcome
            revealed = outcome if isinstance(outcome, services.Revealed) else None
            verification.refresh_from_db()

        def may(action: str) -> bool:
            return actor.has_perm(DESK_ACTIONS[action].permission)

        # The person closed the account: their values are blank; the desk says so.
        erased = verification.user.erased_at is not None

        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Verification %(id)s") % {"id": str(verification.public_id)[:8]},
            "verification": verification,
            "kind": kind,
            "is_enterprise": kind == Kind.ENTERPRISE,
            "facts": self._facts(verification),
            "revealed": [
                (field, field_label(verification, field), value)
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
            **{f"{name}_form": form for name, form in forms.items()},
            "erased": erased,
            "can_reveal": may("reveal") and not erased,
            "can_note": may("note"),
            "can_review": may("approve")
            and not erased
            and kind == Kind.ENTERPRISE
            and verification.status == EnterpriseVerification.Status.PENDING_REVIEW,
            "can_reset": may("reset_attempts"),
            "can_rerun": may("rerun") and verification.status == "error",
            "licence_is_image": kind == Kind.ENTERPRISE
            and bool(
                verification.licence_preview_name
                or verification.licence_content_type != "application/pdf"
            ),
            "licence_url": reverse("admin:support_review_licence", args=[kind, public_id])
            if kind == Kind.ENTERPRISE and not erased
            else "",
        }
        return TemplateResponse(request, "support/review_detail.html", context)

    @staticmethod
    def _perform(
        request: HttpRequest,
        *,
        actor: User,
        verification: Verification,
        forms: dict[str, ServiceErrorsMixin],
        done_url: str,
    ) -> object:
        """Run the posted action. Returns the redirect after success, or what the page shows
        (a reveal's data), or None when the page shows errors: next to the field for a form's
        fields, as a message for the rest."""
        name = request.POST.get("action", "")
        action = DESK_ACTIONS.get(name)
        if action is None or not actor.has_perm(action.permission):
            raise PermissionDenied
        form = None
        arguments: dict[str, Any] = {}
        if action.form_class is not None:
            form = forms[name] = action.form_class(request.POST)
            if not form.is_valid():
                return None
            arguments = form.cleaned_data
        try:
            result = action.service(
                actor=actor, verification=verification, ip_address=client_ip(request), **arguments
            )
        except ValidationError as error:
            if form is not None and hasattr(error, "error_dict"):
                form.add_service_errors(error)
            else:
                messages.error(request, " ".join(error.messages))
            return None
        if action.message is None:
            return result
        messages.success(request, str(action.message))
        return HttpResponseRedirect(done_url)

    @staticmethod
    def _facts(verification: Verification) -> list[tuple[str, str]]:
        """What staff see by default: masked personal data, plain facts about the check. For a
        person who closed their account, "erased" instead of each personal value."""
        erased_at = verification.user.erased_at
        if erased_at is not None:
            return ReviewDetailMixin._erased_facts(verification, erased_at)
        common = [
            (field_label(verification, "status"), verification.get_status_display()),
            (field_label(verification, "reason_code"), verification.reason_code or "—"),
            (field_label(verification, "provider"), verification.provider or "—"),
            (_("Provider failures"), str(verification.provider_failures)),
            (field_label(verification, "phone"), mask_phone(verification.phone)),
            (_("Account"), str(verification.user.public_id)),
        ]
        if isinstance(verification, EnterpriseVerification):
            return [
                (field_label(verification, "company_name"), verification.company_name),
                (field_label(verification, "credit_code"), verification.credit_code),
                (
                    field_label(verification, "legal_representative"),
                    mask_name(verification.legal_representative),
                ),
                *common,
            ]
        return [
            (field_label(verification, "name"), mask_name(verification.name)),
            (field_label(verification, "document_type"), verification.get_document_type_display()),
            (
                field_label(verification, "document_number"),
                mask_document_number(verification.document_number),
            ),
            *common,
        ]

    @staticmethod
    def _erased_facts(verification: Verification, erased_at: Any) -> list[tuple[str, str]]:
        """What stays of a closed account's verification: the outcome, not the person."""
        erased = str(_("(erased)"))
        facts = [
            (
                _("Account"),
                _("Erased at the person's request on %(date)s") % {"date": f"{erased_at:%Y-%m-%d}"},
            ),
            (field_label(verification, "status"), verification.get_status_display()),
            (field_label(verification, "reason_code"), verification.reason_code or "—"),
            (field_label(verification, "provider"), verification.provider or "—"),
            (field_label(verification, "phone"), erased),
        ]
        if isinstance(verification, EnterpriseVerification):
            return [
                (field_label(verification, "company_name"), verification.company_name),
                (field_label(verification, "credit_code"), verification.credit_code),
                (field_label(verification, "legal_representative"), erased),
                *facts,
            ]
        return [
            (field_label(verification, "name"), erased),
            (field_label(verification, "document_type"), verification.get_document_type_display()),
            (field_label(verification, "document_number"), erased),
            *facts,
        ]
