from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from enterprise.models import ReviewReason
from kernel.forms import ServiceErrorsMixin

from .services import REASON_MIN_LENGTH


class RevealForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(
        label=_("Why do you need the full data?"),
        help_text=_("Recorded in the audit log with your name, the time and your IP address."),
        min_length=REASON_MIN_LENGTH,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class NoteForm(ServiceErrorsMixin, forms.Form):
    text = forms.CharField(
        label=_("Add a note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class RejectForm(ServiceErrorsMixin, forms.Form):
    reason = forms.ChoiceField(label=_("Reason shown to the company"), choices=ReviewReason.choices)
