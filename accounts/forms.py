from __future__ import annotations

from typing import Any

from allauth.account.adapter import get_adapter
from allauth.account.forms import LoginForm, SignupForm
from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kernel.request import client_ip

from .app_settings import app_settings
from .consent import ConsentFormMixin
from .phone import normalize_phone
from .selectors import legal_documents_current
from .services import consent_accept


class PhoneFormField(forms.CharField):
    """A mobile number as people type it ("138 0013 8000", "+852 6123 4567"), cleaned to E.164."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Mobile number"))
        kwargs.setdefault(
            "help_text",
            _(
                "Mainland China numbers need no country code; other numbers start with + and the country code."
            ),
        )
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "type": "tel",
                    "autocomplete": "tel",
                    "inputmode": "tel",
                    "placeholder": "138 0013 8000",
                }
            ),
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if value:
            value = get_adapter().clean_phone(normalize_phone(value))
        return value


class PhoneSignupForm(ConsentFormMixin, SignupForm):
    """Sign-up with a mobile number and the User Agreement and Privacy Policy checkboxes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        documents = legal_documents_current(app_settings.SIGNUP_DOCUMENTS)
        if len(documents) != len(app_settings.SIGNUP_DOCUMENTS):
            raise ImproperlyPublished()
        self.add_consent_fields(documents)

    def try_save(self, request: HttpRequest) -> Any:
        """A second sign-up with a number that won a race a moment earlier is answered exactly
        like any other sign-up with a taken number: no account, an SMS to the owner."""
        try:
            with transaction.atomic():
                return super().try_save(request)
        except IntegrityError as exc:
            if "accounts_user_phone_unique" not in str(exc):
                raise
            self.account_already_exists = True
            return super().try_save(request)

    def custom_signup(self, request: HttpRequest, user: Any) -> None:
        consent_accept(
            user=user,
            documents=self.consent_documents,
            ip_address=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )


class ImproperlyPublished(ValidationError):
    """The legal documents needed for sign-up are not published (see accounts.E003)."""

    def __init__(self) -> None:
        super().__init__(_("Sign-up is closed until the legal documents are published."))


class PhoneLoginForm(LoginForm):
    """Log in with the mobile number and a code by SMS, or with a password if one was set."""

    def _setup_password_field(self) -> None:
        password = self.fields["password"]
        password.required = False
        password.help_text = _("Optional. Leave it empty and we will text you a log-in code.")
