"""The person's side of a verification session: the page a platform sends them to."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.models import User

from . import selectors, services
from .models import VerificationSession

#: States in which the person may go back to the platform: verified, or a verification of
#: theirs ended without passing (they give up for now; the platform sees why).
FINAL_FAILED = ("failed", "rejected")
REFUSAL_STATUS = {"expired": 410}


def _refused(
    request: HttpRequest, session: VerificationSession, error: ValidationError
) -> HttpResponse:
    return render(
        request,
        "hostapi/session_refused.html",
        {"session": session, "message": error.messages[0], "code": error.code},
        status=REFUSAL_STATUS.get(error.code or "", 409),
    )


def _flow_url(request: HttpRequest, session: VerificationSession) -> str:
    """Where verifying starts, with the session's page as where to come back to."""
    name = (
        "verification:personal_start"
        if session.kind == VerificationSession.Kind.PERSONAL
        else "verification:overview"
    )
    return f"{reverse(name)}?{urlencode({'next': request.path})}"


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def session(request: HttpRequest, public_id: str) -> HttpResponse:
    """Who asked, where the account stands, and one button: go on to verify, or share the
    status and go back to the platform. Taking either links the platform's reference to the
    account; a conflicting link or an expired session is refused and changes nothing."""
    user = request.user
    assert isinstance(user, User)  # noqa: S101 - guaranteed by login_required
    session = selectors.session_for_person(public_id=public_id)  # type: ignore[arg-type]
    if session is None:
        raise Http404
    if (refusal := services.session_refusal(session=session, user=user)) is not None:
        return _refused(request, session, refusal)
    status = selectors.account_status(user=user)
    can_return = status.verified or status.state in FINAL_FAILED
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "continue" and not status.verified:
                services.session_start(session=session, user=user)
                return HttpResponseRedirect(_flow_url(request, session))
            if action == "return" and can_return:
                session = services.session_complete(session=session, user=user)
                return HttpResponseRedirect(services.return_url_with_session(session=session))
        except ValidationError as error:
            return _refused(request, session, error)
    session = services.session_open(session=session)
    response = render(
        request,
        "hostapi/session.html",
        {"session": session, "status": status, "can_return": can_return},
    )
    # The browser follows the form's redirect to the platform only if the page's CSP lets its
    # forms go there (form-action covers redirects): this page, and the return URL's origin.
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(session.return_url))
    csp: dict[str, Any] = dict(settings.SECURE_CSP)
    csp["form-action"] = [*csp.get("form-action", []), origin]
    response._csp_config = csp  # type: ignore[attr-defined]  # as django's csp_override does
    return response
