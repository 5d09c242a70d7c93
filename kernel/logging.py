"""Log hygiene: no phone number or identity-document number ever reaches a log line.

The filter rewrites the formatted message, exception text and extra string fields of every
record, so it protects whatever a developer (or a library) passes to the logger."""

from __future__ import annotations

import logging
import re

# Phone numbers: E.164 ("+8613800138000", "+852 6123 4567"), mainland mobiles with or without
# country code and separators ("138-0013-8000", "0086 138 0013 8000").
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)\d{1,3}[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\w)"
    r"|(?<![\w+])\+[1-9][\d\s-]{6,17}\d(?!\w)"
)
# Identity documents: letter-prefixed numbers (HK/Macau permits "H12345678", passports, the old
# 15-character foreign permanent resident ID "ABC123456789012"), and any standalone run of eight
# or more digits, optionally ending in X: resident and residence-permit IDs (15/18), Taiwan
# travel permits (8), the 2023 foreign permanent resident ID (18). Over-masking a long number
# in a log costs little; leaking an ID number costs a great deal.
_ID_NUMBER = re.compile(r"(?<![\w])(?:[A-Za-z]{1,3}\d{7,12}|\d{7,17}[\dXx])(?![\w])")

PHONE_PLACEHOLDER = "[phone]"
ID_PLACEHOLDER = "[id-number]"


def mask_personal_data(text: str) -> str:
    """Replace phone numbers and ID-number-like strings in free text."""
    text = _PHONE.sub(PHONE_PLACEHOLDER, text)
    return _ID_NUMBER.sub(ID_PLACEHOLDER, text)


_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}


class PersonalDataFilter(logging.Filter):
    """Masks personal data in the message, its arguments, exception text and extra fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_personal_data(record.getMessage())
        record.args = None
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = mask_personal_data(formatted)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = mask_personal_data(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_personal_data(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, mask_personal_data(value))
        return True
