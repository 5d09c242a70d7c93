"""Identity documents a person can verify with, and the checks we can make before asking a vendor.

Local validation catches typos and impossible input at once, in words a person understands; the
identity provider still decides whether the document exists and belongs to the person. Every
error message is generic: none repeats the number or the date of birth.

What each number tells us:

* Resident Identity Card, and the residence permits for Hong Kong/Macao and Taiwan residents:
  18 characters, GB 11643-1999 (6-digit region code, YYYYMMDD date of birth, 3-digit sequence,
  ISO 7064 MOD 11-2 check character, ``X`` = 10). The permits use region codes 810000 (Hong
  Kong), 820000 (Macao) and 830000 (Taiwan).
* Mainland Travel Permits (Hong Kong/Macao, Taiwan): no public check digit and no date of birth,
  so the person must give their date of birth.
* Foreign Permanent Resident ID Card, December 2023 onwards: 18 characters, ``9`` + 2-digit
  province code of the issuing authority + 3-digit ISO 3166 numeric nationality code + YYYYMMDD
  + 3-digit sequence + GB 11643 check character (National Immigration Administration, 2023).
* Foreign Permanent Resident ID Card, 2004-2023 form: 3 letters (ISO 3166 alpha-3 nationality)
  + 12 digits. See ``_parse_foreign_permanent_resident_15`` for what is and is not checked.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import numdb
from stdnum.cn import ric

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

EARLIEST_BIRTH_DATE = date(1900, 1, 1)


class DocumentType(models.TextChoices):
    CN_RESIDENT_ID = "cn_resident_id", _("Resident Identity Card of the People's Republic of China")
    HK_MO_TRAVEL_PERMIT = (
        "hk_mo_travel_permit",
        _("Mainland Travel Permit for Hong Kong and Macao Residents"),
    )
    TW_TRAVEL_PERMIT = "tw_travel_permit", _("Mainland Travel Permit for Taiwan Residents")
    HK_MO_RESIDENCE_PERMIT = (
        "hk_mo_residence_permit",
        _("Residence Permit for Hong Kong and Macao Residents"),
    )
    TW_RESIDENCE_PERMIT = "tw_residence_permit", _("Residence Permit for Taiwan Residents")
    FOREIGN_PERMANENT_RESIDENT_ID = (
        "foreign_permanent_resident_id",
        _("Foreign Permanent Resident ID Card"),
    )


# Their numbers carry no date of birth, so the person has to type it.
_TYPES_WITHOUT_BIRTH_DATE = frozenset(
    {DocumentType.HK_MO_TRAVEL_PERMIT.value, DocumentType.TW_TRAVEL_PERMIT.value}
)


@dataclass(frozen=True)
class ValidDocument:
    document_type: str
    number: str  # normalised
    birth_date: date  # from the number, or the one given


def document_requires_birth_date(document_type: str) -> bool:
    """Whether the form must ask for the date of birth: only numbers that do not encode one."""
    return document_type in _TYPES_WITHOUT_BIRTH_DATE


_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−_]+")


def normalize_document_number(number: str) -> str:
    """The form we store, hash and send: people type full-width characters (Chinese input
    methods), spaces, hyphens and a lower-case ``x``, none of which change the number."""
    half_width = unicodedata.normalize("NFKC", number)
    return _SEPARATORS.sub("", half_width).upper()


def mask_document_number(number: str) -> str:
    """A display form that lets a person recognise their document without revealing it:
    ``110***********1234`` for 18 characters, and never more than 40% of any number."""
    normalised = normalize_document_number(number)
    length = len(normalised)
    revealed = length * 2 // 5
    shown_at_end = -(-revealed * 4 // 7)  # ceil: the end distinguishes documents best
    shown_at_start = revealed - shown_at_end
    hidden = length - revealed
    return normalised[:shown_at_start] + "*" * hidden + normalised[length - shown_at_end :]


def mask_name(name: str) -> str:
    """``张三丰`` -> ``张**``, ``Li Lei`` -> ``L*****``: enough to tell records apart."""
    name = name.strip()
    return (name[:1] + "*" * (len(name) - 1)) if len(name) > 1 else "*" * len(name)


class _NumberError(Exception):
    """A problem with the number itself; becomes the ``document_number`` field error."""

    def __init__(self, message: StrOrPromise, code: str) -> None:
        super().__init__(code)
        self.message = message
        self.code = code


_CHECKSUM_MESSAGE = _(
    "This number does not add up: its last character does not match the others. "
    "Please check it for typos."
)
_BIRTH_DATE_IN_NUMBER_MESSAGE = _(
    "The date of birth inside this number is not a possible date. Please check it for typos."
)
_GB11643_FORMAT = re.compile(r"[0-9]{17}[0-9X]")


def _require_format(number: str, pattern: re.Pattern[str], message: StrOrPromise) -> None:
    """Every document type first checks the shape of its number, and says in its own words what
    that shape is."""
    if not pattern.fullmatch(number):
        raise _NumberError(message, "invalid_format")


def _check_gb11643(number: str) -> None:
    # stdnum's calc_check_digit is the ISO 7064 MOD 11-2 of GB 11643 (it ignores the last char).
    if ric.calc_check_digit(number) != number[-1]:
        raise _NumberError(_CHECKSUM_MESSAGE, "invalid_checksum")


def _encoded_date(year: int, month: int, day: int, *, today: date) -> date:
    try:
        encoded = date(year, month, day)
    except ValueError:
        raise _NumberError(_BIRTH_DATE_IN_NUMBER_MESSAGE, "invalid_birth_date") from None
    if not EARLIEST_BIRTH_DATE <= encoded <= today:
        raise _NumberError(_BIRTH_DATE_IN_NUMBER_MESSAGE, "invalid_birth_date")
    return encoded


def _yyyymmdd(digits: str, *, today: date) -> date:
    return _encoded_date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]), today=today)


@cache
def _region_codes() -> numdb.NumDB:
    return numdb.get("cn/loc")


def _region_is_known(code: str) -> bool:
    """Whether the 6-digit code is, or ever was, a region in python-stdnum's GB/T 2260 data.

    We do not call ``stdnum.cn.ric.validate``: it also rejects a person born before their
    county's code was created (numbers were assigned years after birth, so real people hold
    them), rejects 810000/820000 for anyone born before 1997/1999 (every adult residence permit)
    and raises ``KeyError`` instead of a validation error for an unknown county."""
    properties: dict[str, str] = {}
    for _part, part_properties in _region_codes().info(code):
        properties.update(part_properties)
    return "county" in properties


def _province_is_known(code: str) -> bool:
    return any("province" in props for _part, props in _region_codes().info(code))


_RESIDENT_ID_FORMAT_MESSAGE = _(
    "A Resident Identity Card number has 18 characters: 17 digits, then a digit or the letter X."
)


def _parse_resident_id(number: str, today: date) -> date:
    _require_format(number, _GB11643_FORMAT, _RESIDENT_ID_FORMAT_MESSAGE)
    if number[:2] in {"81", "82", "83"}:
        raise _NumberError(
            _(
                "This looks like the number of a residence permit for Hong Kong, Macao or Taiwan "
                "residents. Please choose that residence permit as your document."
            ),
            "invalid_region",
        )
    _check_gb11643(number)
    birth_date = _yyyymmdd(number[6:14], today=today)
    if not _region_is_known(number[:6]):
        raise _NumberError(
            _("This number does not start with a known region code. Please check it for typos."),
            "invalid_region",
        )
    return birth_date


_RESIDENCE_PERMIT_FORMAT_MESSAGE = _(
    "A residence permit number has 18 characters: 17 digits, then a digit or the letter X."
)


def _residence_permit_parser(
    region_codes: frozenset[str], region_message: StrOrPromise
) -> Callable[[str, date], date]:
    def parse(number: str, today: date) -> date:
        _require_format(number, _GB11643_FORMAT, _RESIDENCE_PERMIT_FORMAT_MESSAGE)
        if number[:6] not in region_codes:
            raise _NumberError(region_message, "invalid_region")
        _check_gb11643(number)
        return _yyyymmdd(number[6:14], today=today)

    return parse


_HK_MO_TRAVEL_PERMIT = re.compile(r"[HM][0-9]{8}([0-9]{2})?")
_HK_MO_TRAVEL_PERMIT_FORMAT_MESSAGE = _(
    "A Mainland Travel Permit for Hong Kong and Macao Residents number is H or M "
    "followed by 8 digits (older permits have 10 digits)."
)
# 8 digits since 2008 (the lifetime number); 8 digits + a 2-digit issue count on permits issued
# 1992-2008, which also carried a bracketed issuing-office code: those have all expired.
_TW_TRAVEL_PERMIT = re.compile(r"[0-9]{8}([0-9]{2})?")
_TW_TRAVEL_PERMIT_FORMAT_MESSAGE = _(
    "A Mainland Travel Permit for Taiwan Residents number has 8 digits (older permits have 10)."
)


def _parse_hk_mo_travel_permit(number: str, today: date) -> None:
    _require_format(number, _HK_MO_TRAVEL_PERMIT, _HK_MO_TRAVEL_PERMIT_FORMAT_MESSAGE)


def _parse_tw_travel_permit(number: str, today: date) -> None:
    _require_format(number, _TW_TRAVEL_PERMIT, _TW_TRAVEL_PERMIT_FORMAT_MESSAGE)


_FOREIGN_PERMANENT_RESIDENT_18 = re.compile(r"9[0-9]{16}[0-9X]")
_FOREIGN_PERMANENT_RESIDENT_15 = re.compile(r"[A-Z]{3}[0-9]{12}")
_FOREIGN_PERMANENT_RESIDENT_FORMAT_MESSAGE = _(
    "A Foreign Permanent Resident ID Card number has 18 characters starting with 9 "
    "(cards issued before December 2023: 3 letters followed by 12 digits)."
)


def _parse_foreign_permanent_resident_15(number: str, today: date) -> date:
    """The 2004-2023 number: nationality letters + 4-digit issuing-authority code + YYMMDD date
    of birth + 1 digit + 1 check character.

    The National Immigration Administration states only "3 Latin letters + 12 digits"; the
    position of the date of birth follows the one public implementation found that checks it.
    The CHECK CHARACTER IS NOT VERIFIED: no reliable public description of its algorithm was
    found (one unofficial library uses the ICAO 9303 7-3-1 scheme, unconfirmed against a real
    card), and a wrong guess would turn away every holder of these cards. Nor is the nationality
    checked against ISO 3166: no list of codes is installed."""
    digits = number[7:13]
    year, month, day = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    # Two-digit year: the most recent century that does not put the birth in the future.
    try:
        return _encoded_date(2000 + year, month, day, today=today)
    except _NumberError:
        return _encoded_date(1900 + year, month, day, today=today)


def _parse_foreign_permanent_resident_id(number: str, today: date) -> date:
    if _FOREIGN_PERMANENT_RESIDENT_15.fullmatch(number):
        return _parse_foreign_permanent_resident_15(number, today)
    _require_format(
        number, _FOREIGN_PERMANENT_RESIDENT_18, _FOREIGN_PERMANENT_RESIDENT_FORMAT_MESSAGE
    )
    if not _province_is_known(number[1:3]):
        raise _NumberError(
            _(
                "This number does not contain a known province code of the issuing office. "
                "Please check it for typos."
            ),
            "invalid_region",
        )
    _check_gb11643(number)
    return _yyyymmdd(number[6:14], today=today)


# Each parser raises _NumberError, or returns the date of birth the number encodes (None if not).
_PARSERS: dict[str, Callable[[str, date], date | None]] = {
    DocumentType.CN_RESIDENT_ID.value: _parse_resident_id,
    DocumentType.HK_MO_TRAVEL_PERMIT.value: _parse_hk_mo_travel_permit,
    DocumentType.TW_TRAVEL_PERMIT.value: _parse_tw_travel_permit,
    DocumentType.HK_MO_RESIDENCE_PERMIT.value: _residence_permit_parser(
        frozenset({"810000", "820000"}),
        _(
            "The number of a residence permit for Hong Kong and Macao residents starts with "
            "810000 (Hong Kong) or 820000 (Macao)."
        ),
    ),
    DocumentType.TW_RESIDENCE_PERMIT.value: _residence_permit_parser(
        frozenset({"830000"}),
        _("The number of a residence permit for Taiwan residents starts with 830000."),
    ),
    DocumentType.FOREIGN_PERMANENT_RESIDENT_ID.value: _parse_foreign_permanent_resident_id,
}


def _age_on(day: date, *, birth_date: date) -> int:
    """Completed years on ``day``: a year is added on the birthday itself, and people born on
    29 February add it on 1 March in common years (never early for a minor)."""
    had_birthday = (day.month, day.day) >= (birth_date.month, birth_date.day)
    return day.year - birth_date.year - (0 if had_birthday else 1)


def validate_document(
    *,
    document_type: str,
    number: str,
    birth_date: date | None,
    today: date | None = None,
    minimum_age: int = 18,
) -> ValidDocument:
    """Check a document before it is sent to the identity provider.

    Raises ``ValidationError`` whose ``error_dict`` is keyed by the form fields
    ``document_type``, ``document_number`` and ``birth_date`` (every problem found at once, one
    per field), each error with a stable ``code``. ``underage`` is reported on the field the date
    of birth came from: the number when it encodes one, otherwise ``birth_date``."""
    today = today or timezone.localdate()
    errors: dict[str, ValidationError] = {}

    def add(
        field: str, message: StrOrPromise, code: str, params: dict[str, int] | None = None
    ) -> None:
        errors.setdefault(field, ValidationError(message, code=code, params=params))

    if birth_date is not None:
        if birth_date > today:
            add(
                "birth_date",
                _("Your date of birth cannot be in the future."),
                "birth_date_in_future",
            )
        elif birth_date < EARLIEST_BIRTH_DATE:
            add("birth_date", _("Please check your date of birth."), "invalid_birth_date")

    normalised = normalize_document_number(number)
    parser = _PARSERS.get(document_type)
    encoded_birth_date: date | None = None
    if parser is None:
        add("document_type", _("Please choose one of the listed documents."), "unknown_type")
    elif not normalised:
        add("document_number", _("Please enter your document number."), "invalid_format")
    else:
        try:
            encoded_birth_date = parser(normalised, today)
        except _NumberError as error:
            add("document_number", error.message, error.code)

    if document_requires_birth_date(document_type) and birth_date is None:
        add(
            "birth_date",
            _("Please enter your date of birth: this document's number does not include it."),
            "birth_date_required",
        )
    given_date_disagrees = bool(encoded_birth_date and birth_date != encoded_birth_date)
    if birth_date and given_date_disagrees and "birth_date" not in errors:
        add(
            "birth_date",
            _(
                "This date of birth does not match the one in your document number. "
                "Please check both."
            ),
            "birth_date_mismatch",
        )

    effective_birth_date, source = (
        (encoded_birth_date, "document_number")
        if encoded_birth_date
        else (birth_date, "birth_date")
    )
    if (
        effective_birth_date
        and source not in errors
        and _age_on(today, birth_date=effective_birth_date) < minimum_age
    ):
        add(
            source,
            _("Real-name authentication is for adults only. You can verify once you turn %(age)s."),
            "underage",
            {"age": minimum_age},
        )

    # Without errors there is always a date: the number encodes one, or one was required.
    if errors or effective_birth_date is None:
        raise ValidationError(errors)
    return ValidDocument(
        document_type=document_type, number=normalised, birth_date=effective_birth_date
    )
