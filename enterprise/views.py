"""Enterprise verification pages, and the owner's link to their licence."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.decorators import consent_redirect
from accounts.models import User
from accounts.sessions import session_matches, session_user_id
from kernel.ratelimit import rate_limit
from kernel.request import client_ip
from kernel.views import never_cached
from verification.app_settings import app_settings as verification_settings

from . import services
from .app_settings import app_settings
from .forms import EnterpriseVerificationForm
from .guidance import guidance_for
from .licence import licence_response
from .models import EnterpriseVerification
from .selectors import enterprise_attempts_today, enterprise_verification_current

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


Status = EnterpriseVerification.Status
# Each state in a few words (the status page's heading), for the polled answer.
STATUS_MESSAGES: dict[str, StrOrPromise] = {
    Status.SUBMITTED: _("Checking your company"),
    Status.PENDING_REVIEW: _("Licence under review"),
    Status.APPROVED: _("Identity Verified"),
    Status.REJECTED: _("Enterprise verification not passed"),
    Status.ERROR: _("Your verification is waiting for us"),
}


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
            "refresh": verification.status == Status.SUBMITTED,
            # The registry's provider is failing and we keep retrying: say so.
            "provider_slow": verification.status == Status.SUBMITTED
            and verification.provider_failures > 0,
            "retry_window_minutes": max(1, verification_settings.PROVIDER_RETRY_WINDOW // 60),
            "guidance": guidance_for(verification.reason_code),
            "attempts_left": max(0, attempts_left),
        },
    )


@never_cached
@require_GET
def status_poll(request: HttpRequest, public_id: str) -> JsonResponse:
    """Where the verification stands, for its status page's script (as the personal one's:
    ``verification.views.personal_status_poll``): the session, one indexed query joined to
    the owner, nothing personal. 403 signed out, 404 for someone else's."""
    user_id = session_user_id(request)
    if user_id is None:
        return JsonResponse({"error": "login_required"}, status=403)
    verification = (
        EnterpriseVerification.objects.filter(public_id=public_id, user_id=user_id)
        .select_related("user")
        .only("public_id", "status", "provider_failures", "user__password", "user__is_active")
        .first()
    )
    if verification is None:
        return JsonResponse({"error": "not_found"}, status=404)
    if not session_matches(request, verification.user):
        return JsonResponse({"error": "login_required"}, status=403)
    waiting = verification.status == Status.SUBMITTED
    slow = waiting and verification.provider_failures > 0
    return JsonResponse(
        {
            "status": verification.status,
            "step": verification.status,
            "message": str(STATUS_MESSAGES.get(verification.status, "")),
            "slow": slow,
            "poll": waiting,
            "poll_seconds": 10 if slow else 2,
            "page": verification.get_absolute_url(),
            "next": "",
        }
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
