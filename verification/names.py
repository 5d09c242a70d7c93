"""Names as printed on a document: letters of one alphabet, with the few separators names use.

What a person types is normalised first (full-width forms, the several "middle dots" input
methods produce, runs of spaces). Refused, with a message that says why: characters that are not
part of a name (digits, symbols, control and invisible formatting characters such as zero-width
spaces or right-to-left overrides) and letters of look-alike alphabets mixed in one name (a Latin
"a" beside a Cyrillic "а"), which is how a forged name is made to look like a real one."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

MAX_PERSON_NAME = 100
MAX_COMPANY_NAME = 200
MIDDLE_DOT = "\u00b7"
_DOT_VARIANTS = str.maketrans({"\u2022": MIDDLE_DOT, "\u30fb": MIDDLE_DOT, "\u2027": MIDDLE_DOT})
PERSON_SEPARATORS = frozenset(" -'." + MIDDLE_DOT)
COMPANY_SEPARATORS = frozenset(" -'.,&()" + MIDDLE_DOT)
# Alphabets whose letters look alike: a name uses at most one of them.
CONFUSABLE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE"})


def _script(character: str) -> str:
    name = unicodedata.name(character, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def _normalise(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value or "").translate(_DOT_VARIANTS).split())


def _check(value: str, *, field: str, maximum: int, allowed: frozenset[str], digits: bool) -> str:
    text = _normalise(value)
    if not text:
        return text
    if len(text) > maximum:
        raise ValidationError(
            {field: ValidationError(_("At most %(max)d characters."), "too_long", {"max": maximum})}
        )
    scripts = set()
    for character in text:
        category = unicodedata.category(character)
        if category[0] in "LM":
            if category[0] == "L":
                scripts.add(_script(character))
            continue
        if character in allowed or (digits and category == "Nd"):
            continue
        raise ValidationError(
            {
                field: ValidationError(
                    _(
                        "This contains characters that are not part of a name (digits, symbols "
                        "or invisible characters). Enter it exactly as printed on the document."
                    ),
                    "bad_character",
                )
            }
        )
    if len(scripts & CONFUSABLE_SCRIPTS) > 1:
        raise ValidationError(
            {
                field: ValidationError(
                    _(
                        "This mixes letters of different alphabets that look alike (for example "
                        "Latin and Cyrillic). Enter it exactly as printed on the document."
                    ),
                    "mixed_scripts",
                )
            }
        )
    return text


def clean_person_name(value: str, *, field: str = "name") -> str:
    """The normalised name, '' when empty, or a ValidationError keyed by ``field``."""
    return _check(
        value, field=field, maximum=MAX_PERSON_NAME, allowed=PERSON_SEPARATORS, digits=False
    )


def clean_company_name(value: str, *, field: str = "company_name") -> str:
    """Company names also hold digits and a few punctuation marks ("（北京）", "3D", "&")."""
    return _check(
        value, field=field, maximum=MAX_COMPANY_NAME, allowed=COMPANY_SEPARATORS, digits=True
    )


def clean_name_into(
    errors: dict[str, Any],
    value: str,
    *,
    field: str,
    required: StrOrPromise,
    company: bool = False,
) -> str:
    """Clean one name field of a submission, collecting rather than raising: its problems, or
    ``required`` when it is empty, go into ``errors`` under ``field`` (so a form shows every
    problem at once)."""
    clean = clean_company_name if company else clean_person_name
    try:
        value = clean(value, field=field)
    except ValidationError as error:
        errors.update(error.error_dict)
        return value
    if not value:
        errors[field] = ValidationError(required, "required")
    return value
