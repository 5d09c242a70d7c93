"""django-allauth adapter: where allauth reads and writes phone numbers and sends texts.

allauth keeps no phone numbers itself; these methods store them on ``accounts.User``.
(``manage.py check`` reports accounts.E002 if any of them goes missing.)"""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context, ratelimit
from allauth.core.exceptions import RateLimited
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .app_settings import app_settings
from .forms import PhoneFormField
from .models import User
from .phone import normalize_phone
from .selectors import consent_missing
from .sms import (
    ACCOUNT_EXISTS,
    CODE,
    UNKNOWN_ACCOUNT,
    SmsInvalidNumberError,
    SmsNumberLimitError,
    SmsSendError,
    send_sms,
)

logger = logging.getLogger(__name__)

#: allauth's message after each (re)send of a phone code, texted or not (see ``add_message``).
_SENT_MESSAGE = "account/messages/phone_verification_sent.txt"
#: Per-number limits (ACCOUNT_RATE_LIMITS, allauth's notation) of the two kinds of texts. They
#: are counted apart, so the "this number already has an account" text of a sign-up that lost
#: a race never takes the winner's code slot (allauth's own ``verify_phone`` limit is per
#: network only, see realname/settings/base.py).
CODE_LIMIT, NOTICE_LIMIT = "sms_code", "sms_notice"
#: How long a number the carrier called invalid is refused by the number fields (no new call).
REFUSED_NUMBER_SECONDS = 24 * 60 * 60


def _refused_number_key(phone: str) -> str:
    """A cache key naming the number by a keyed hash: no number in Redis's key space."""
    digest = salted_hmac("accounts.adapter.refused-number", phone, algorithm="sha256")
    return f"accounts:sms:refused:{digest.hexdigest()}"


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

    def clean_phone(self, phone: str) -> str:
        """A number the carrier called invalid in the last day is refused next to the field,
        without asking the carrier again."""
        if cache.get(_refused_number_key(phone)):
            raise ValidationError(
                _(
                    "The mobile carrier says this number cannot receive text messages. Please "
                    "check it."
                ),
                code="sms_refused",
            )
        return super().clean_phone(phone)

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

    def _send(self, *, phone: str, body: str, code: str = "", purpose: str = CODE) -> None:
        """Text ``phone`` within its per-number limit; a failure is a message on the next page,
        never an error page. Over the limit, a code is refused as allauth refuses it
        (``RateLimited``: "please wait a minute"); a notice is silently not sent."""
        request = context.request
        request._accounts_sms_sent = True  # type: ignore[attr-defined]  # see add_message
        limit = CODE_LIMIT if purpose == CODE else NOTICE_LIMIT
        if not ratelimit.consume(request, action=limit, key=phone):
            if purpose == CODE:
                raise RateLimited
            return
        signed = f"【{app_settings.SMS_SIGNATURE}】{body}"
        try:
            send_sms(to=phone, body=signed, code=code, purpose=purpose)
            return
        except SmsNumberLimitError as exc:
            logger.warning("SMS not sent: %s", exc)
            messages.error(
                request,
                _("Too many codes have been sent to this number today. Please try again tomorrow."),
            )
        except SmsInvalidNumberError as exc:
            logger.warning("SMS not sent: %s", exc)
            # The number fields refuse it from now on, next to the field (clean_phone).
            cache.set(_refused_number_key(phone), True, REFUSED_NUMBER_SECONDS)
            messages.error(
                request,
                _(
                    "The mobile carrier says this number cannot receive text messages. Please "
                    "check it and start again with the right number."
                ),
            )
        except SmsSendError as exc:
            logger.warning("SMS not sent: %s", exc)
            messages.error(
                request,
                _(
                    "We could not send the text message just now. Please request a new code in a minute."
                ),
            )
        request._accounts_sms_failed = True  # type: ignore[attr-defined]  # see add_message

    def add_message(
        self,
        request: HttpRequest,
        level: int,
        message_template: str | None = None,
        message_context: dict[str, Any] | None = None,
        extra_tags: str = "",
        message: str | None = None,
    ) -> None:
        """allauth resends nothing to a number that has no code coming (a sign-up with a
        taken number, which must look like any other): such a resend still counts against
        the number's notice limit, so it is refused within a minute exactly like a resent
        code, and the page does not tell a taken number from a free one. When the text could
        not be sent, allauth's "a code has been sent" is left out."""
        if message_template == _SENT_MESSAGE and getattr(request, "_accounts_sms_failed", False):
            return
        if (
            message_template == _SENT_MESSAGE
            and not getattr(request, "_accounts_sms_sent", False)
            and message_context
            and not ratelimit.consume(request, action=NOTICE_LIMIT, key=message_context["phone"])
        ):
            raise RateLimited
        super().add_message(request, level, message_template, message_context, extra_tags, message)

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
            purpose=ACCOUNT_EXISTS,
            body=_(
                "Someone tried to sign up with this number, which already has an account. "
                "If it was you, log in with this number and we will text you a code. "
                "If not, you can ignore this message."
            ),
        )

    def send_unknown_account_sms(self, phone: str, **kwargs: Any) -> None:
        self._send(
            phone=phone,
            purpose=UNKNOWN_ACCOUNT,
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
