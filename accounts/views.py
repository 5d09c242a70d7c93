from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kernel.request import client_ip

from . import legal
from .app_settings import app_settings
from .consent import ConsentForm
from .identity import identity_kind
from .models import ConsentRecord, LegalDocument, User
from .selectors import consent_history, consent_missing, legal_document_current
from .services import consent_accept, consent_withdraw


def _user(request: HttpRequest) -> User:
    """The logged-in user (the views below are all behind login_required)."""
    assert isinstance(request.user, User)  # noqa: S101 - guaranteed by login_required
    return request.user


def _next_url(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _consent_page(
    request: HttpRequest, *, slugs: tuple[str, ...], template_title: str, intro: str
) -> HttpResponse:
    user = _user(request)
    missing = consent_missing(user=user, slugs=slugs)
    next_url = _next_url(request, reverse("accounts:profile"))
    if not missing:
        return HttpResponseRedirect(next_url)
    form = ConsentForm(request.POST if request.method == "POST" else None, documents=missing)
    if request.method == "POST" and form.is_valid():
        consent_accept(
            user=user,
            documents=missing,
            ip_address=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
        messages.success(request, _("Thank you. Your consent has been recorded."))
        return HttpResponseRedirect(next_url)
    return render(
        request,
        "accounts/consent.html",
        {"form": form, "next": next_url, "page_title": template_title, "intro": intro},
    )


@login_required
@require_http_methods(["GET", "POST"])
def consent(request: HttpRequest) -> HttpResponse:
    """Accept the documents still missing: after log-in only the account documents
    (``?scope=account``), before verification also the service description."""
    scope = request.GET.get("scope") or request.POST.get("scope")
    slugs = (
        app_settings.SIGNUP_DOCUMENTS if scope == "account" else app_settings.VERIFICATION_DOCUMENTS
    )
    return _consent_page(
        request,
        slugs=slugs,
        template_title=_("Before you continue"),
        intro=_(
            "Please read the documents below. Each has its own checkbox; you can continue once "
            "you have accepted them. You can see what you accepted on your account page."
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def consent_face(request: HttpRequest) -> HttpResponse:
    """Separate consent to the face rules, asked right before a face step (sensitive data)."""
    return _consent_page(
        request,
        slugs=(app_settings.FACE_DOCUMENT,),
        template_title=_("Consent to face information processing"),
        intro=_(
            "The next step is a face liveness check at our identity provider. Face information is "
            "sensitive personal information, so we ask for your separate consent. We never "
            "receive or store images or videos of your face. You can withdraw this consent at "
            "any time on your account page."
        ),
    )


@login_required
@require_POST
def consent_face_withdraw(request: HttpRequest) -> HttpResponse:
    try:
        consent_withdraw(
            user=_user(request),
            slug=app_settings.FACE_DOCUMENT,
            ip_address=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(
            request,
            _("Consent withdrawn. Face verification is blocked until you give consent again."),
        )
    return HttpResponseRedirect(reverse("accounts:profile"))


@login_required
@require_GET
def profile(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    face_missing = bool(consent_missing(user=user, slugs=(app_settings.FACE_DOCUMENT,)))
    return render(
        request,
        "accounts/profile.html",
        {
            "records": consent_history(user=user),
            "account_consent_missing": consent_missing(
                user=user, slugs=app_settings.SIGNUP_DOCUMENTS
            ),
            "face_consent_given": not face_missing,
            "identity_kind": identity_kind(user=user),
            "accepted": ConsentRecord.Action.ACCEPTED,
        },
    )


@require_GET
def legal_document(request: HttpRequest, slug: str, version: int | None = None) -> HttpResponse:
    """Stable URLs: /legal/<slug>/ is the version in force, /legal/<slug>/v<n>/ any version."""
    if slug not in legal.DOCUMENT_SLUGS:
        raise Http404
    if version is None:
        document = legal_document_current(slug)
        if document is None:
            raise Http404
    else:
        document = get_object_or_404(LegalDocument, slug=slug, version=version)
    return render(
        request,
        "accounts/legal_document.html",
        {"document": document, "body_html": legal.render_html(document.body)},
    )
