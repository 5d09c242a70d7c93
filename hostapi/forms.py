"""The admin's forms for API clients: scopes as checkboxes, the return-URL allow-list one a
line (checked as the services check it, errors next to the field), the rotation overlap."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import services
from .models import ApiClient, Scope

OVERLAPS = {
    "0": timedelta(0),
    "3600": timedelta(hours=1),
    "86400": timedelta(days=1),
    "604800": timedelta(days=7),
}


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple
    )
    return_urls = forms.CharField(
        label=_("Allowed return URLs"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "One a line: an origin and a path prefix, e.g. https://platform.example/realname/ "
            "(https; http only for localhost). A session's return URL must start with one."
        ),
    )

    class Meta:
        model = ApiClient
        fields = ["name", "scopes", "return_urls"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["return_urls"] = "\n".join(self.instance.return_urls)

    def clean_return_urls(self) -> list[str]:
        try:
            return services.return_urls_clean(self.cleaned_data["return_urls"].splitlines())
        except ValidationError as error:
            raise ValidationError(error.messages) from None


class RotateForm(forms.Form):
    overlap = forms.ChoiceField(
        label=_("The current keys keep working for"),
        choices=[
            ("0", _("No overlap: they stop now")),
            ("3600", _("1 hour")),
            ("86400", _("1 day")),
            ("604800", _("7 days")),
        ],
        initial="86400",
    )

    def clean_overlap(self) -> timedelta:
        return OVERLAPS[self.cleaned_data["overlap"]]
