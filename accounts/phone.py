"""Phone numbers are stored in E.164 ("+8613800138000"), parsed with the phonenumbers library;
a number without a country code is read as a mainland China number."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

DEFAULT_REGION = "CN"
E164_REGEX = r"^\+[1-9][0-9]{6,14}$"
#: What a verification of a closed account keeps instead of the number: "+999" (a country code
#: the ITU reserves, so never a real number) and the record's own id, so the number is free and
#: the "one active verification per number" constraints still hold (and still parse as E.164).
ERASED_PHONE_PREFIX = "+999"


def erased_phone(record_id: int) -> str:
    """The placeholder a closed account's verification ``record_id`` keeps as its number."""
    return f"{ERASED_PHONE_PREFIX}{record_id:011d}"


def is_erased_phone(value: str | None) -> bool:
    return bool(value) and str(value).startswith(ERASED_PHONE_PREFIX)


def normalize_phone(value: str, region: str = DEFAULT_REGION) -> str:
    """Return ``value`` in E.164, or raise ValidationError with a message a person can act on."""
    try:
        parsed = phonenumbers.parse(str(value).strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("Enter a valid mobile number, for example 138 0013 8000 or +852 6123 4567."),
            code="invalid_phone",
        ) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(
            _("This number does not exist. Check the digits and the country code."),
            code="invalid_phone",
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str | None) -> str:
    """Masked for display: "+86 138****8000". Empty when there is no number."""
    if not e164:
        return ""
    if is_erased_phone(e164):
        return str(_("(erased)"))
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "*" * len(e164)
    national = str(parsed.national_number)
    keep_head = 3 if len(national) >= 10 else 2
    keep_tail = 4 if len(national) >= 8 else 2
    hidden = len(national) - keep_head - keep_tail
    return f"+{parsed.country_code} {national[:keep_head]}{'*' * hidden}{national[-keep_tail:]}"
