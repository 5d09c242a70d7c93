"""The person's privacy pages: Your data, re-confirmation by SMS code, export, withdrawing
consent and closing the account. The work is in ``realname.privacy`` and the apps' services."""

from __future__ import annotations

import json

from allauth.core.exceptions import RateLimited
from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.app_settings import app_settings as accounts_settings
from accounts.models import User
from accounts.reconfirm import reconfirm_check, reconfirm_end, reconfirm_send, reconfirmed
from accounts.selectors import consent_missing, legal_documents_current
from accounts.services import consent_withdraw
from kernel.request import client_ip

from . import privacy

#: What withdrawing each consent does, shown before the click.
WITHDRAW_CONSEQUENCES = {
    "face-rules": gettext_lazy(
        "No new face check is made for you. A verification that already passed stays valid; "
        "a new one cannot use the face step until you consent again."
    ),
    "realname-service": gettext_lazy(
        "Your real-name verification (personal or enterprise) ends and its personal details "
        "are erased: actions that need it (such as recharging) are closed to you again until "
        "you accept the service description again and verify again."
    ),
}


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # noqa: S101 - guaranteed by login_required
    return request.user


def _reconfirm_redirect(next_url: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse('privacy:reconfirm')}?{urlencode({'next': next_url})}")


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code from the text message"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class CloseForm(forms.Form):
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that my account and my data are erased for good."),
        error_messages={"required": gettext_lazy("Please tick the box to close the account.")},
    )


@never_cache
@login_required
@require_GET
def your_data(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    revealed = reconfirmed(request)
    withdrawable = [
        document
        for document in legal_documents_current(accounts_settings.WITHDRAWABLE_DOCUMENTS)
        if document not in consent_missing(user=user, slugs=(document.slug,))
    ]
    return render(
        request,
        "privacy/your_data.html",
        {
            "sections": [
                (
                    section,
                    [
                        [(item.label, item.shown(revealed)) for item in record]
                        for record in section.records
                    ],
                )
                for section in privacy.your_data(user=user)
            ],
            "revealed": revealed,
            "withdrawable": [
                (document, WITHDRAW_CONSEQUENCES[document.slug]) for document in withdrawable
            ],
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def reconfirm(request: HttpRequest) -> HttpResponse:
    """Ask for a code (``action=send``), then type it (``action=check``)."""
    user = _user(request)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("privacy:your_data")
    form = CodeForm()
    sent = False
    if request.method == "POST" and request.POST.get("action") == "send":
        try:
            reconfirm_send(request, user=user)
        except RateLimited:
            messages.error(
                request, _("Too many requests. Please wait a minute before asking for a new code.")
            )
        else:
            sent = True
    elif request.method == "POST":
        sent = True
        form = CodeForm(request.POST)
        if form.is_valid():
            error = reconfirm_check(request, user=user, code=form.cleaned_data["code"])
            if error is None:
                return HttpResponseRedirect(next_url)
            form.add_error("code", error)
    return render(
        request,
        "privacy/reconfirm.html",
        {"form": form, "sent": sent, "next": next_url, "masked_phone": user.masked_phone},
    )


@login_required
@require_POST
def hide(request: HttpRequest) -> HttpResponse:
    reconfirm_end(request)
    return HttpResponseRedirect(reverse("privacy:your_data"))


@never_cache
@login_required
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    """The readable page; ``?format=json`` downloads the machine-readable file."""
    if not reconfirmed(request):
        return _reconfirm_redirect(request.get_full_path())
    user = _user(request)
    data = privacy.export_build(user=user)
    fmt = "json" if request.GET.get("format") == "json" else "html"
    privacy.export_record(user=user, data=data, fmt=fmt)
    if fmt == "json":
        response = HttpResponse(
            json.dumps(data, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="realname-my-data.json"'
        return response
    return render(request, "privacy/export.html", {"data": data})


@login_required
@require_POST
def withdraw(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        consent_withdraw(
            user=_user(request),
            slug=slug,
            ip_address=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(
            request,
            _("Consent withdrawn. %(consequence)s")
            % {"consequence": WITHDRAW_CONSEQUENCES.get(slug, "")},
        )
    return HttpResponseRedirect(reverse("privacy:your_data"))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def close(request: HttpRequest) -> HttpResponse:
    """What goes and what stays, then a fresh code and a tick close the account."""
    if not reconfirmed(request):
        return _reconfirm_redirect(reverse("privacy:close"))
    user = _user(request)
    form = CloseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            privacy.person_erase(user=user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            logout(request)
            messages.success(request, _("Your account is closed and your data erased."))
            return HttpResponseRedirect(reverse("home"))
    return render(
        request, "privacy/close.html", {"form": form, "kept_after": privacy.kept_after_closing()}
    )
