"""No phone number or ID number survives into a log line, whatever shape it arrives in."""

import io
import logging
from collections.abc import Iterator

import pytest

from kernel.logging import PersonalDataFilter, mask_personal_data


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PersonalDataFilter())
    handler.setFormatter(logging.Formatter("%(message)s|%(exc_text)s|%(detail)s"))
    logger = logging.getLogger("tests.masking")
    logger.addHandler(handler)
    logger.propagate = False
    yield stream
    logger.removeHandler(handler)


@pytest.mark.parametrize(
    "sensitive",
    [
        "+8613800138000",
        "13800138000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "0086 13800138000",
        "+85261234567",
        "+852 6123 4567",
        "11010519491231002X",  # resident ID, 18 characters
        "110105491231002",  # resident ID, 15 digits (first generation)
        "810000199408230021",  # Hong Kong residence permit
        "H12345678",  # HK/Macau travel permit
        "M1234567890",
        "12345678",  # Taiwan travel permit
        "USA110079061505",  # old foreign permanent resident ID
        "911101196001010015",  # 2023 foreign permanent resident ID
    ],
)
def test_masks_phone_and_id_numbers(sensitive):
    masked = mask_personal_data(f"verification for {sensitive} failed")

    assert sensitive not in masked
    assert masked.startswith("verification for [")
    assert masked.endswith("] failed")


def test_keeps_ordinary_text_and_small_numbers():
    text = "verification 42 moved to passed after 3 attempts in 120 ms (HTTP 503)"

    assert mask_personal_data(text) == text


def test_filter_masks_arguments_exceptions_and_extra_fields(captured):
    logger = logging.getLogger("tests.masking")
    try:
        raise ValueError("lookup failed for 11010519491231002X")
    except ValueError:
        logger.exception("user %s failed", "+8613800138000", extra={"detail": "13912345678"})

    line = captured.getvalue()
    assert "+8613800138000" not in line
    assert "11010519491231002X" not in line
    assert "13912345678" not in line
    assert "user [phone] failed" in line
    assert "ValueError: lookup failed for [id-number]" in line
