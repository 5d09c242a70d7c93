from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kernel.forms import ServiceErrorsMixin

from .app_settings import app_settings
from .documents import DocumentType, validate_document
from .providers import route


class DocumentTypeSelect(forms.Select):
    """Offers every document type, with those no provider can check greyed out and marked, so
    a person sees that their document exists here but cannot be verified (the help text says
    why), rather than wondering where it went."""

    unavailable: frozenset[str] = frozenset()

    def create_option(self, name: str, value: Any, label: Any, *args: Any, **kwargs: Any) -> Any:
        option = super().create_option(name, value, label, *args, **kwargs)
        if str(value) in self.unavailable:
            option["attrs"]["disabled"] = True
            option["label"] = _("%(document)s (not available)") % {"document": label}
        return option


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
        label=_("Document type"),
        choices=DocumentType.choices,
        initial=DocumentType.CN_RESIDENT_ID,
        widget=DocumentTypeSelect,
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
        # Only the types some configured provider covers can be chosen (VERIFICATION_ROUTES).
        unavailable = [(value, label) for value, label in DocumentType.choices if not route(value)]
        if unavailable:
            field = cast(forms.ChoiceField, self.fields["document_type"])
            widget = cast(DocumentTypeSelect, field.widget)
            widget.unavailable = frozenset(value for value, _label in unavailable)
            available = [c for c in DocumentType.choices if c not in unavailable]
            field.choices = available + unavailable
            field.help_text = _(
                "Not available here: %(documents)s. None of the identity providers this site "
                "works with can check it; if it is the only document you have, please contact "
                "customer service."
            ) % {"documents": "; ".join(str(label) for _value, label in unavailable)}
            if field.initial in widget.unavailable:
                field.initial = available[0][0] if available else None

    def clean(self) -> dict[str, Any]:
        """Every document problem at once, each next to its field (the service checks again)."""
        data = super().clean() or {}
        if self.errors:
            return data
        if not route(data["document_type"]):
            self.add_error(
                "document_type",
                ValidationError(
                    _(
                        "This document type cannot be verified here: no identity provider we "
                        "work with checks it."
                    ),
                    code="no_provider",
                ),
            )
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
