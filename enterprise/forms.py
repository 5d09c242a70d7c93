from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kernel.forms import ServiceErrorsMixin


class EnterpriseVerificationForm(ServiceErrorsMixin, forms.Form):
    """The form only collects; ``enterprise_verification_submit`` checks the credit code and the
    licence file and its errors are shown next to these fields."""

    company_name = forms.CharField(
        label=_("Company name"),
        max_length=200,
        help_text=_("Exactly as on the business licence."),
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=24,
        help_text=_("18 characters, printed on the business licence."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
    )
    legal_representative = forms.CharField(
        label=_("Legal representative"),
        max_length=100,
        help_text=_("The name of the legal representative on the licence."),
    )
    licence = forms.FileField(
        label=_("Business licence"),
        help_text=_("A photo or scan: JPEG, PNG or PDF, up to %(size)s MB."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}),
    )

    def __init__(self, *args: object, max_megabytes: int = 10, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["licence"]
        field.help_text = str(field.help_text) % {"size": max_megabytes}
