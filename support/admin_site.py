"""The admin site for support staff. Log-in is allauth's (phone and SMS code, rate-limited), and
the admin opens only for active staff whose session was confirmed with a second factor (TOTP or
a recovery code) — Django's own password log-in form is never shown."""

from __future__ import annotations

from typing import Any

from allauth.account.decorators import secure_admin_login
from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


def session_used_second_factor(request: HttpRequest) -> bool:
    """Whether this session was signed in (or re-confirmed) with TOTP or a recovery code."""
    records = get_authentication_records(request, getattr(request, "user", None))
    return any(record.get("method") == "mfa" for record in records)


class SupportAdminSite(admin.AdminSite):
    site_header = gettext_lazy("realname support desk")
    site_title = gettext_lazy("realname support")
    index_title = gettext_lazy("Support desk")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active
            and user.is_staff
            and is_mfa_enabled(user)
            and session_used_second_factor(request)
        )

    @method_decorator(secure_admin_login)
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """Reached when ``has_permission`` says no. Anonymous: allauth's log-in (the decorator).
        Not staff: 403 (the decorator). Staff without a second factor: set one up. Staff with
        one, in a session not confirmed with it: confirm it now."""
        next_url = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = reverse("admin:index")
        if self.has_permission(request):
            return HttpResponseRedirect(next_url)
        if not is_mfa_enabled(request.user):
            messages.warning(
                request,
                _(
                    "Support staff need two-factor authentication: set up an authenticator "
                    "app, then open the support desk again."
                ),
            )
            return HttpResponseRedirect(reverse("mfa_activate_totp"))
        query = urlencode({"next": next_url})
        return HttpResponseRedirect(f"{reverse('mfa_reauthenticate')}?{query}")

    def logout(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return HttpResponseRedirect(reverse("account_logout"))

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        def refuse_non_staff(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            # A signed-in account that is not staff gets a plain 403, not a log-in page.
            if request.user.is_authenticated and not (
                request.user.is_active and request.user.is_staff
            ):
                raise PermissionDenied
            return inner(request, *args, **kwargs)

        return refuse_non_staff
