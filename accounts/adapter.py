"""django-allauth adapter: where allauth reads and writes phone numbers and sends texts.

allauth keeps no phone numbers itself; these methods store them on ``accounts.User``.
(``manage.py check`` reports accounts.E002 if any of them goes missing.)"""

from __future__ import annotations

import logging
import time
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kernel import metrics

from .app_settings import app_settings
from .forms import PhoneFormField
from .models import User
from .phone import normalize_phone
from .selectors import consent_missing
from .sms import SmsSendError, send_sms

logger = logging.getLogger(__name__)


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "rate_limited": gettext_lazy(
            "Too many requests. Please wait a minute before asking for a new code or trying again."
        ),
    }

    def phone_form_field(self, **kwargs: Any) -> PhoneFormField:
        kwargs.pop("label", None)  # allauth says "Phone"; people here say "mobile number"
        return PhoneFormField(**kwargs)

    def set_phone(self, user: Any, phone: str, verified: bool) -> None:
        user.phone = phone
        user.phone_verified = verified
        if user.pk:
            user.save(update_fields=["phone", "phone_verified"])

    def get_phone(self, user: Any) -> tuple[str, bool] | None:
        return (user.phone, user.phone_verified) if user.phone else None

    def set_phone_verified(self, user: Any, phone: str) -> None:
        User.objects.filter(pk=user.pk, phone=phone).update(phone_verified=True)
        user.phone_verified = True

    def get_user_by_phone(self, phone: str) -> User | None:
        try:
            normalized = normalize_phone(phone)
        except ValidationError:
            return None
        return User.objects.filter(phone=normalized).first()

    def _send(self, *, phone: str, body: str, code: str = "") -> None:
        signed = f"【{app_settings.SMS_SIGNATURE}】{body}"
        started, outcome = time.monotonic(), "error"
        try:
            send_sms(to=phone, body=signed, code=code)
            outcome = "ok"
        except SmsSendError as exc:
            logger.warning("SMS not sent: %s", exc)
            request = context.request
            messages.error(
                request,
                _(
                    "We could not send the text message just now. Please request a new code in a minute."
                ),
            )
        finally:
            # The carrier by the name of its backend's module (accounts.sms.aliyun: "aliyun").
            metrics.observe_call(
                kind="sms",
                name=app_settings.SMS_BACKEND.rpartition(".")[0].rpartition(".")[2],
                outcome=outcome,
                seconds=time.monotonic() - started,
            )

    def send_verification_code_sms(self, user: Any, phone: str, code: str, **kwargs: Any) -> None:
        minutes = max(1, self._code_timeout() // 60)
        self._send(
            phone=phone,
            code=code,
            body=_(
                "Your verification code is %(code)s. It expires in %(minutes)s minutes. "
                "Never share it with anyone."
            )
            % {"code": code, "minutes": minutes},
        )

    def send_account_already_exists_sms(self, phone: str) -> None:
        self._send(
            phone=phone,
            body=_(
                "Someone tried to sign up with this number, which already has an account. "
                "If it was you, log in with this number and we will text you a code. "
                "If not, you can ignore this message."
            ),
        )

    def send_unknown_account_sms(self, phone: str, **kwargs: Any) -> None:
        self._send(
            phone=phone,
            body=_(
                "Someone asked for a log-in code for this number, but no account uses it. "
                "If it was you, please sign up first. If not, you can ignore this message."
            ),
        )

    @staticmethod
    def _code_timeout() -> int:
        from allauth.account import app_settings as allauth_settings

        return min(
            allauth_settings.PHONE_VERIFICATION_TIMEOUT, allauth_settings.LOGIN_BY_CODE_TIMEOUT
        )

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        """After log-in, a newly published User Agreement or Privacy Policy is asked for first."""
        url = super().get_login_redirect_url(request)
        user = request.user
        if isinstance(user, User) and consent_missing(
            user=user, slugs=app_settings.SIGNUP_DOCUMENTS
        ):
            return f"{reverse('accounts:consent')}?{urlencode({'next': url})}"
        return url
