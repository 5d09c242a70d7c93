"""``realname_required``: the gate in front of anything that needs a verified identity
(buying, recharging, publishing). Browsing needs nothing."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from .app_settings import app_settings
from .identity import identity_verified
from .models import User
from .selectors import consent_missing


def consent_redirect(request: HttpRequest, user: User) -> HttpResponse | None:
    """To the consent page, and back here afterwards, when ``user`` has not accepted the
    documents verification needs (the service description among them); else None."""
    if not consent_missing(user=user, slugs=app_settings.VERIFICATION_DOCUMENTS):
        return None
    next_url = urlencode({"next": request.get_full_path()})
    return HttpResponseRedirect(f"{reverse('accounts:consent')}?{next_url}")


def realname_gate(request: HttpRequest) -> HttpResponse | None:
    """None when the user may go on; otherwise a redirect to the next step, which sends them
    back here when done: log in, then accept the documents, then verify."""
    path = request.get_full_path()
    user = request.user
    if not isinstance(user, User):
        return redirect_to_login(path)
    consent = consent_redirect(request, user)
    if consent is not None:
        return consent
    if not identity_verified(user=user):
        return HttpResponseRedirect(
            f"{reverse('verification:overview')}?{urlencode({'next': path})}"
        )
    return None


def realname_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return realname_gate(request) or view(request, *args, **kwargs)

    return wrapped


class RealnameRequiredMixin:
    """The class-based-view form of :func:`realname_required`."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return realname_gate(request) or super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
