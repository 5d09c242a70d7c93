"""Property-based tests (hypothesis): whatever anyone types, the validators answer with a
ValidationError at worst — never an unexpected exception, never a crash — and what they accept
is normalised and stable."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enterprise.services import validate_credit_code
from verification.documents import (
    DocumentType,
    mask_document_number,
    normalize_document_number,
    validate_document,
)
from verification.names import clean_company_name, clean_person_name

EXAMPLES = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Anything a browser can send, plus strings shaped like the numbers (digits, X, separators).
ANY_TEXT = st.text(max_size=60)
NUMBERISH = st.text(alphabet="0123456789Xx -（）HMCLTW\u3000０１２３４５６７８９", max_size=30)
DATES = st.one_of(st.none(), st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))


@EXAMPLES
@given(
    document_type=st.one_of(st.sampled_from(DocumentType.values), ANY_TEXT),
    number=st.one_of(ANY_TEXT, NUMBERISH),
    birth_date=DATES,
    today=st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 1, 1)),
)
def test_document_validation_only_ever_refuses_politely(document_type, number, birth_date, today):
    try:
        document = validate_document(
            document_type=document_type, number=number, birth_date=birth_date, today=today
        )
    except ValidationError:
        return
    assert document.number == normalize_document_number(document.number)
    assert document.birth_date is not None and document.birth_date <= today
    assert len(mask_document_number(document.number)) == len(document.number)


@EXAMPLES
@given(code=st.one_of(ANY_TEXT, st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", max_size=20)))
def test_credit_code_validation_only_ever_refuses_politely(code):
    try:
        normalised = validate_credit_code(code)
    except ValidationError:
        return
    assert len(normalised) == 18 and validate_credit_code(normalised) == normalised


@EXAMPLES
@given(value=st.text(max_size=120))
@pytest.mark.parametrize("clean", [clean_person_name, clean_company_name])
def test_name_cleaning_only_ever_refuses_politely_and_is_stable(clean, value):
    try:
        cleaned = clean(value)
    except ValidationError:
        return
    assert clean(cleaned) == cleaned
    assert all(ord(character) >= 32 for character in cleaned)
