"""Enterprise verification pages, and the owner's link to their licence."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.decorators import consent_redirect
from accounts.models import User
from kernel.ratelimit import rate_limit
from kernel.request import client_ip
from verification.app_settings import app_settings as verification_settings

from . import services
from .app_settings import app_settings
from .forms import EnterpriseVerificationForm
from .guidance import guidance_for
from .licence import licence_response
from .models import EnterpriseVerification
from .selectors import enterprise_attempts_today, enterprise_verification_current


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # noqa: S101 - guaranteed by login_required
    return request.user


@login_required
@require_http_methods(["GET", "POST"])
@rate_limit("verification_submit")
def start(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if (elsewhere := consent_redirect(request, user)) is not None:
        return elsewhere
    current = enterprise_verification_current(user=user)
    if current is not None and current.status in current.ACTIVE_STATUSES:
        return redirect(current)  # the one under way or completed, not a new form
    form = EnterpriseVerificationForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        max_megabytes=app_settings.LICENCE_MAX_BYTES // (1024 * 1024),
    )
    if request.method == "POST" and form.is_valid():
        verification = form.call_service(
            services.enterprise_verification_submit, user=user, **form.cleaned_data
        )
        if verification is not None:
            return redirect(verification)
    return render(
        request,
        "enterprise/form.html",
        {"form": form, "max_bytes": app_settings.LICENCE_MAX_BYTES},
        status=400 if form.errors else 200,
    )


@never_cache
@login_required
@require_GET
def status(request: HttpRequest, public_id: str) -> HttpResponse:
    verification = EnterpriseVerification.objects.filter(
        public_id=public_id, user=_user(request)
    ).first()
    if verification is None:
        raise Http404
    attempts_left = verification_settings.MAX_ATTEMPTS_PER_DAY - enterprise_attempts_today(
        user=verification.user
    )
    return render(
        request,
        "enterprise/status.html",
        {
            "verification": verification,
            "refresh": verification.status == EnterpriseVerification.Status.SUBMITTED,
            # The registry's provider is failing and we keep retrying: say so.
            "provider_slow": verification.status == EnterpriseVerification.Status.SUBMITTED
            and verification.provider_failures > 0,
            "retry_window_minutes": max(1, verification_settings.PROVIDER_RETRY_WINDOW // 60),
            "guidance": guidance_for(verification.reason_code),
            "attempts_left": max(0, attempts_left),
        },
    )


@never_cache
@require_GET
def licence_file(request: HttpRequest, public_id: str) -> HttpResponse:
    """The licence, to its owner, as uploaded (after sanitising); every view is recorded.
    Support staff see it in the support desk instead, watermarked and audited."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    verification = EnterpriseVerification.objects.filter(public_id=public_id, user=user).first()
    if verification is None:
        raise Http404
    services.licence_access_record(
        verification=verification, user=user, as_staff=False, ip_address=client_ip(request)
    )
    return licence_response(verification, for_staff=False)
