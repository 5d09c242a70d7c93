"""Thin views: parse the form, call one service, choose the response. Provider calls happen
in workers; these pages show where a verification stands and refresh themselves."""

from __future__ import annotations

import contextlib
import logging

from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotFound,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.app_settings import app_settings as accounts_settings
from accounts.consent import ConsentForm
from accounts.decorators import consent_redirect
from accounts.identity import identity_current
from accounts.models import User
from accounts.selectors import consent_missing
from accounts.services import consent_accept
from accounts.sessions import session_matches, session_user_id
from kernel.public import public_url
from kernel.ratelimit import rate_limit
from kernel.request import client_ip
from kernel.views import never_cached

from . import services
from .app_settings import app_settings
from .forms import PersonalVerificationForm
from .guidance import guidance_for
from .models import PersonalVerification
from .providers import get_provider
from .providers.base import ProviderError
from .selectors import (
    verification_attempts_today,
    verification_current,
    verification_lockout_lifts_at,
    verification_poll_state,
)

Status = PersonalVerification.Status
logger = logging.getLogger(__name__)
NEXT_SESSION_KEY = "verification_next"
# The steps during which a worker or the person's face check is under way: the status page
# asks again every few seconds (JSON, personal_status_poll; without JavaScript, meta refresh).
POLLED_STEPS = ("identity_check", "face_preparing", "face_pending")
# Each step in a few words (the status page's heading), for the polled answer.
STEP_MESSAGES = {
    "identity_check": _("Checking your details"),
    "face_consent": _("Details confirmed: face check next"),
    "face_preparing": _("Preparing your face check"),
    "face_pending": _("Face check"),
    "passed": _("Real-Name Authentication Completed"),
    "failed": _("Verification not passed"),
    "error": _("Your verification is waiting for us"),
}


def _remember_next(request: HttpRequest) -> None:
    """A guarded page sent the person here: remember it, to offer it once they are verified."""
    candidate = request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        request.session[NEXT_SESSION_KEY] = candidate


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # noqa: S101 - guaranteed by login_required
    return request.user


def _own_verification(request: HttpRequest, public_id: str) -> PersonalVerification:
    """Only the owner sees a verification; anyone else gets a 404, not a hint."""
    user = _user(request)
    verification = (
        PersonalVerification.objects.filter(public_id=public_id, user=user)
        # The pages show none of the personal values: not decrypted for nothing.
        .defer("name", "document_number", "birth_date", "result")
        .first()
    )
    if verification is None:
        raise Http404
    verification.user = user  # the signed-in account, already loaded: no second query
    return verification


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """What real-name authentication is, the two kinds, and where this account stands."""
    user = request.user if isinstance(request.user, User) else None
    if user is not None:
        _remember_next(request)
    kinds = identity_current(user=user)
    active = [
        current for _, current in kinds if current and current.status in current.ACTIVE_STATUSES
    ]
    verified = next(
        (
            (kind, current)
            for kind, current in kinds
            if current and current.status == current.VERIFIED
        ),
        None,
    )
    return render(
        request,
        "verification/overview.html",
        {
            # Each kind's card, from its own app; a new verification of any kind may start only
            # while none is under way or completed (an account is a person or an enterprise).
            "cards": [(kind.card_template, current) for kind, current in kinds],
            "can_start": not active,
            "verified": verified[1] if verified else None,
            "verified_label": verified[0].verified_label if verified else "",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@rate_limit("verification_submit")
def personal_start(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _remember_next(request)
    # A submission's consents are checked by the service (once, not here as well).
    if request.method == "GET" and (elsewhere := consent_redirect(request, user)) is not None:
        return elsewhere
    current = verification_current(user=user)
    if current is not None and current.status in current.ACTIVE_STATUSES:
        return redirect(current)  # the one under way or completed, not a new form
    form = PersonalVerificationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        verification = form.call_service(
            services.verification_submit, user=user, **form.cleaned_data
        )
        if verification is not None:
            return redirect(verification)
        consent_needed = form.has_error(NON_FIELD_ERRORS, "consent_required")
        if consent_needed and (elsewhere := consent_redirect(request, user)) is not None:
            return elsewhere
    attempts = verification_attempts_today(user=user)
    limit = app_settings.MAX_ATTEMPTS_PER_DAY
    return render(
        request,
        "verification/personal_form.html",
        {
            "form": form,
            "attempts_left": max(0, limit - attempts),
            "attempt_limit": limit,
            "locked_until": verification_lockout_lifts_at(user=user) if attempts >= limit else None,
        },
    )


def _status_page(
    request: HttpRequest,
    verification: PersonalVerification,
    face_form: ConsentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    # Only what this state shows is read: the page refreshes itself every few seconds while a
    # check runs, so it is the most requested page (bench/results.md, "Web throughput").
    step = verification.step
    if face_form is None and step in ("face_consent", "face_pending"):
        missing = consent_missing(user=verification.user, slugs=(accounts_settings.FACE_DOCUMENT,))
        if missing:
            face_form = ConsentForm(documents=missing)
    return render(
        request,
        "verification/personal_status.html",
        {
            "verification": verification,
            "step": step,
            "refresh": step in POLLED_STEPS and face_form is None,
            # The provider is failing and we keep retrying: say so, and refresh less often.
            "provider_slow": verification.status in verification.PROVIDER_STATUSES
            and verification.provider_failures > 0,
            "retry_window_minutes": max(1, app_settings.PROVIDER_RETRY_WINDOW // 60),
            "face_form": face_form,
            "guidance": guidance_for(
                verification.reason_code, identity_deferred=verification.identity_deferred
            ),
            "attempts_left": max(
                0,
                app_settings.MAX_ATTEMPTS_PER_DAY
                - verification_attempts_today(user=verification.user),
            )
            if step == "failed"
            else 0,
            "continue_url": request.session.get(NEXT_SESSION_KEY) or reverse("recharge"),
        },
        status=status,
    )


@never_cache
@login_required
@require_GET
def personal_status(request: HttpRequest, public_id: str) -> HttpResponse:
    """One page for every state, marked ``data-verification-status`` for automation. While a
    worker or the person's face check is under way it refreshes itself."""
    return _status_page(request, _own_verification(request, public_id))


def poll_seconds(*, slow: bool) -> int:
    """How often a waiting status page asks again: less often while the provider is failing."""
    return 10 if slow else 2


@never_cached
@require_GET
def personal_status_poll(request: HttpRequest, public_id: str) -> JsonResponse:
    """Where the verification stands, for its status page's script: the session, then one
    indexed query (the verification joined to its owner), no template and nothing personal.
    The page swaps in its new state when ``step`` or ``slow`` change, and asks again while
    ``poll`` holds. Signed out: 403 (the script reloads the page, which asks to log in);
    someone else's: 404."""
    user_id = session_user_id(request)
    if user_id is None:
        return JsonResponse({"error": "login_required"}, status=403)
    state = verification_poll_state(public_id=public_id, user_id=user_id)
    if state is None:
        return JsonResponse({"error": "not_found"}, status=404)
    if not session_matches(request, state.owner):
        return JsonResponse({"error": "login_required"}, status=403)
    step = state.step
    slow = state.status in PersonalVerification.PROVIDER_STATUSES and bool(state.provider_failures)
    next_url = ""
    if step == "face_pending":
        next_url = state.face_url
    elif step == "passed":
        next_url = request.session.get(NEXT_SESSION_KEY) or reverse("recharge")
    return JsonResponse(
        {
            "status": state.status,
            "step": step,
            "message": str(STEP_MESSAGES.get(step, "")),
            "slow": slow,
            "poll": step in POLLED_STEPS,
            "poll_seconds": poll_seconds(slow=slow),
            "page": request.path.removesuffix("status.json"),  # the page of this answer
            "next": next_url,
        }
    )


@login_required
@require_POST
@rate_limit("verification_submit")
def personal_face(request: HttpRequest, public_id: str) -> HttpResponse:
    """Start the face step. The face rules have their own checkbox on the status page (sensitive
    personal information needs separate consent); unticked, nothing starts."""
    verification = _own_verification(request, public_id)
    missing = consent_missing(user=verification.user, slugs=(accounts_settings.FACE_DOCUMENT,))
    if missing:
        face_form = ConsentForm(request.POST, documents=missing)
        if not face_form.is_valid():
            return _status_page(request, verification, face_form=face_form, status=400)
        consent_accept(
            user=verification.user,
            documents=missing,
            ip_address=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    # On a ValidationError the status page explains the state the verification is in.
    with contextlib.suppress(ValidationError):
        services.verification_request_face(
            verification=verification,
            # On our configured public address, never the request's Host header: a person
            # must not be able to aim the vendor's signed callbacks somewhere else.
            return_url=public_url(
                reverse("verification:personal_return", args=[verification.public_id])
            ),
            notify_url=public_url(
                reverse("verification:provider_notify_named", args=[verification.provider])
                if verification.provider
                else reverse("verification:provider_notify")
            ),
        )
    return redirect(verification)


@login_required
@require_GET
def personal_return(request: HttpRequest, public_id: str) -> HttpResponse:
    """The provider sends the person back here after the face page."""
    verification = _own_verification(request, public_id)
    services.verification_result_requested(verification=verification, throttle_seconds=10)
    return redirect(verification)


@csrf_exempt
@require_http_methods(["GET", "POST"])
@rate_limit("provider_notify", methods=("GET", "POST"))
def provider_notify(request: HttpRequest, provider: str = "") -> HttpResponse:
    """A provider's notification (or, for Aliyun, its unsigned GET callback) that a face
    session finished. Nothing in it is trusted beyond naming the session: a worker fetches the
    result through the provider's query API. The path names the provider (the URL was given to
    it when the session opened); the bare path is the first configured one's. Refusals are
    logged with their reason and the sender's address, never the body or the query."""
    ip = client_ip(request)
    try:
        adapter = get_provider(provider)
    except LookupError:
        return HttpResponseNotFound("unknown provider", content_type="text/plain")
    try:
        provider_ref = adapter.parse_notification(
            body=request.body, headers=dict(request.headers), query=request.GET.dict()
        )
    except ProviderError as refusal:
        logger.warning("provider notification refused from %s: %s", ip, refusal)
        return HttpResponseBadRequest("bad notification", content_type="text/plain")
    verification = PersonalVerification.objects.filter(
        liveness_ref=provider_ref, provider=adapter.name
    ).first()
    if verification is None:
        logger.warning("provider notification from %s names an unknown session", ip)
        return HttpResponseNotFound("unknown session", content_type="text/plain")
    services.verification_result_requested(verification=verification)
    return HttpResponse("ok", content_type="text/plain")
