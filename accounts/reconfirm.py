"""Re-confirmation with a fresh SMS code, before the person sees their personal values, takes
an export or closes the account.

allauth's own reauthentication (``account_reauthenticate``) asks for a password or an MFA
factor; accounts here have neither, only the phone. So the step is ours: a six-digit code texted
through the adapter (same carriers, same per-number limit as log-in codes), kept in the session
only as a keyed hash with an expiry and a count of wrong tries. A right code opens a window of
``ACCOUNTS_RECONFIRM_WINDOW`` seconds."""

from __future__ import annotations

import secrets
import time

from django.http import HttpRequest
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from .adapter import AccountAdapter
from .app_settings import app_settings
from .models import User

SESSION_CODE = "accounts_reconfirm_code"
SESSION_AT = "accounts_reconfirmed_at"
MAX_WRONG = 3


def _digest(user: User, code: str) -> str:
    return salted_hmac("accounts.reconfirm", f"{user.pk}:{code}", algorithm="sha256").hexdigest()


def reconfirm_send(request: HttpRequest, *, user: User) -> None:
    """Text a new code to the account's number (raises allauth's RateLimited over the limit)."""
    code = "".join(secrets.choice("0123456789") for _unused in range(6))
    minutes = max(1, app_settings.RECONFIRM_CODE_TIMEOUT // 60)
    AccountAdapter(request)._send(  # the adapter's one way to text within the number's limit
        phone=user.phone or "",
        code=code,
        body=_(
            "Your code to see or export your data, or to close your account, is %(code)s. It "
            "expires in %(minutes)s minutes. Never share it with anyone."
        )
        % {"code": code, "minutes": minutes},
    )
    # Only once texted: a refused request (RateLimited) leaves the code already sent valid.
    request.session[SESSION_CODE] = {
        "digest": _digest(user, code),
        "expires": time.time() + app_settings.RECONFIRM_CODE_TIMEOUT,
        "wrong": 0,
    }


def reconfirm_check(request: HttpRequest, *, user: User, code: str) -> str | None:
    """None when ``code`` is the one texted (the window opens); else the message to show next
    to the field. A code is void after three wrong tries or when it expires."""
    pending = request.session.get(SESSION_CODE)
    if not pending or pending["expires"] < time.time() or pending["wrong"] >= MAX_WRONG:
        request.session.pop(SESSION_CODE, None)
        return _("This code has expired. Please ask for a new one.")
    if not constant_time_compare(pending["digest"], _digest(user, code.strip())):
        pending["wrong"] += 1
        request.session[SESSION_CODE] = pending
        return _("This code is not right. Please check the text message and try again.")
    request.session.pop(SESSION_CODE, None)
    request.session[SESSION_AT] = time.time()
    return None


def reconfirmed(request: HttpRequest) -> bool:
    """Whether the person re-confirmed with a code within the window."""
    at = request.session.get(SESSION_AT)
    return at is not None and time.time() - float(at) < app_settings.RECONFIRM_WINDOW


def reconfirm_end(request: HttpRequest) -> None:
    """Close the window now (the person hides their values again)."""
    request.session.pop(SESSION_AT, None)
