from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kernel.forms import ServiceErrorsMixin

from .app_settings import app_settings
from .documents import DocumentType, validate_document


class PersonalVerificationForm(ServiceErrorsMixin, forms.Form):
    """Name, document and (for documents whose number does not carry it) date of birth.

    The form checks only what a field can check alone; the document rules (check digits, dates,
    age) run in ``verification_submit``, whose errors are keyed by these field names and shown
    next to each field."""

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Exactly as printed on the document."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    document_type = forms.ChoiceField(
        label=_("Document type"), choices=DocumentType.choices, initial=DocumentType.CN_RESIDENT_ID
    )
    document_number = forms.CharField(
        label=_("Document number"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    birth_date = forms.DateField(
        label=_("Date of birth"),
        required=False,
        help_text=_("Needed for the travel permits, whose numbers do not include it."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Required for two document types only; the help text says which, not "(optional)".
        self.fields["birth_date"].show_optional = False  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        """Every document problem at once, each next to its field (the service checks again)."""
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            validate_document(
                document_type=data["document_type"],
                number=data["document_number"],
                birth_date=data.get("birth_date"),
                minimum_age=app_settings.MINIMUM_AGE,
            )
        except ValidationError as error:
            self.add_service_errors(error)
        return data
