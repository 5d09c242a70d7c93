"""Consent checkboxes any page may show: one unticked checkbox per legal document, its label
linking to the text. The sign-up form, the consent page and the face step of verification use
them; accepting is ``accounts.services.consent_accept``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import LegalDocument


def consent_field(document: LegalDocument) -> forms.BooleanField:
    """One unticked checkbox for one document, its label linking to the text."""
    link = format_html(
        '<a href="{}" target="_blank" rel="noopener">{}</a>',
        reverse("accounts:legal_document", args=[document.slug]),
        document.title,
    )
    return forms.BooleanField(
        required=True,
        label=format_html(str(_("I have read and accept the {}")), link),
        error_messages={"required": _("Please read and accept this document to continue.")},
    )


class ConsentFormMixin(forms.Form):
    """Adds a ``consent_<slug>`` checkbox for each document in ``consent_documents``."""

    consent_documents: list[LegalDocument]

    def add_consent_fields(self, documents: list[LegalDocument]) -> None:
        self.consent_documents = documents
        for document in documents:
            self.fields[f"consent_{document.slug}"] = consent_field(document)

    def consent_fields(self) -> list[forms.BoundField]:
        return [self[f"consent_{document.slug}"] for document in self.consent_documents]


class ConsentForm(ConsentFormMixin, forms.Form):
    def __init__(self, *args: Any, documents: list[LegalDocument], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_consent_fields(documents)
