"""Local checks of identity document numbers: formats, check digits, dates of birth and age.

Every number here is made up: the GB 11643 check character is computed by ``gb11643`` below
(written from the standard, independently of the code under test), with sequence codes such as
000 and birth dates such as 1 January 2000."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import date

import pytest
from django.core.exceptions import ValidationError

from verification.documents import (
    DocumentType,
    ValidDocument,
    document_requires_birth_date,
    mask_document_number,
    normalize_document_number,
    validate_document,
)

TODAY = date(2024, 6, 15)


def gb11643(body: str) -> str:
    """``body`` (17 digits) plus its ISO 7064 MOD 11-2 check character, ``X`` standing for 10."""
    assert len(body) == 17 and body.isdigit()
    total = sum(int(digit) * (2 ** (17 - position) % 11) for position, digit in enumerate(body))
    check = (12 - total % 11) % 11
    return body + ("X" if check == 10 else str(check))


def wrong_check(number: str) -> str:
    """The same number with a check character that cannot be right."""
    replacement = "0" if number[-1] != "0" else "1"
    return number[:-1] + replacement


def errors_of(excinfo: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    """Field name -> error codes, as a form would show them."""
    return {
        field: [error.code or "" for error in field_errors]
        for field, field_errors in excinfo.value.error_dict.items()
    }


def messages_of(excinfo: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [message for messages in excinfo.value.message_dict.values() for message in messages]


def validate(
    document_type: str,
    number: str,
    birth_date: date | None = None,
    today: date = TODAY,
    minimum_age: int = 18,
) -> ValidDocument:
    return validate_document(
        document_type=document_type,
        number=number,
        birth_date=birth_date,
        today=today,
        minimum_age=minimum_age,
    )


def rejected(
    document_type: str,
    number: str,
    birth_date: date | None = None,
    today: date = TODAY,
    minimum_age: int = 18,
) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as excinfo:
        validate(document_type, number, birth_date, today, minimum_age)
    return errors_of(excinfo)


RESIDENT_ID = gb11643("11010120000101000")  # Beijing Dongcheng, born 2000-01-01
HK_RESIDENCE = gb11643("81000019800101000")  # Hong Kong, born 1980-01-01
MO_RESIDENCE = gb11643("82000019850704000")  # Macao, born 1985-07-04
TW_RESIDENCE = gb11643("83000019920315000")  # Taiwan, born 1992-03-15
FOREIGN_18 = gb11643("91184019900101000")  # issued in Beijing (11), nationality 840, 1990-01-01
FOREIGN_15 = "USA110099010100"  # nationality, authority 1100, born 99-01-01, digit, check


# --- the API others build on ------------------------------------------------------------------


def test_document_type_codes_are_stable() -> None:
    assert DocumentType.values == [
        "cn_resident_id",
        "hk_mo_travel_permit",
        "tw_travel_permit",
        "hk_mo_residence_permit",
        "tw_residence_permit",
        "foreign_permanent_resident_id",
    ]
    assert DocumentType.CN_RESIDENT_ID.label == (
        "Resident Identity Card of the People's Republic of China"
    )


def test_only_travel_permits_require_a_birth_date() -> None:
    assert {t for t in DocumentType.values if document_requires_birth_date(t)} == {
        "hk_mo_travel_permit",
        "tw_travel_permit",
    }
    assert document_requires_birth_date("passport") is False


def test_valid_document_is_immutable() -> None:
    document = validate("cn_resident_id", RESIDENT_ID)
    with pytest.raises(FrozenInstanceError):
        document.number = "other"  # type: ignore[misc]


def test_the_test_helper_agrees_with_python_stdnum() -> None:
    from stdnum.cn import ric

    for body in [
        "11010120000101000",
        "81000019800101000",
        "91184019900101000",
        "44030620011231999",
    ]:
        assert gb11643(body)[-1] == ric.calc_check_digit(body + "0")


# --- Resident Identity Card -------------------------------------------------------------------


def test_resident_id_valid_gives_the_encoded_birth_date() -> None:
    document = validate("cn_resident_id", RESIDENT_ID)
    assert document == ValidDocument(
        document_type="cn_resident_id", number=RESIDENT_ID, birth_date=date(2000, 1, 1)
    )


def test_resident_id_wrong_check_digit() -> None:
    assert rejected("cn_resident_id", wrong_check(RESIDENT_ID)) == {
        "document_number": ["invalid_checksum"]
    }


def test_resident_id_check_character_x() -> None:
    number = next(
        n for n in (gb11643(f"11010120000101{seq:03d}") for seq in range(1000)) if n.endswith("X")
    )
    assert validate("cn_resident_id", number).number == number
    assert validate("cn_resident_id", number.lower()).number == number
    # X where a digit belongs is a wrong check character, not a wrong format.
    assert rejected("cn_resident_id", number[:-1] + "0") == {
        "document_number": ["invalid_checksum"]
    }


@pytest.mark.parametrize(
    "number",
    [
        RESIDENT_ID[:-1],  # 17 characters
        RESIDENT_ID + "1",  # 19 characters
        "110101000101001",  # first-generation 15-digit number, no longer valid
        "11010120000101000A",  # a letter other than X
        "X10101200001010001",  # X anywhere but last
        "ABCDEFGHIJKLMNOPQR",
    ],
)
def test_resident_id_wrong_format(number: str) -> None:
    assert rejected("cn_resident_id", number) == {"document_number": ["invalid_format"]}


def test_digits_of_other_scripts_are_not_accepted_as_digits() -> None:
    arabic_indic = RESIDENT_ID[:-1].translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert rejected("cn_resident_id", arabic_indic + RESIDENT_ID[-1]) == {
        "document_number": ["invalid_format"]
    }


def test_empty_number_is_reported_on_the_number_field() -> None:
    assert rejected("cn_resident_id", "   ") == {"document_number": ["invalid_format"]}


@pytest.mark.parametrize(
    "birth_digits",
    [
        "20010229",  # 29 February in a common year
        "20000230",  # 30 February
        "20001301",  # 13th month
        "20000100",  # day 0
        "18991231",  # before 1900
    ],
)
def test_resident_id_impossible_encoded_birth_date(birth_digits: str) -> None:
    number = gb11643(f"110101{birth_digits}000")
    assert rejected("cn_resident_id", number) == {"document_number": ["invalid_birth_date"]}


def test_resident_id_leap_day_birth_is_possible() -> None:
    number = gb11643("11010120000229000")
    assert validate("cn_resident_id", number).birth_date == date(2000, 2, 29)


def test_resident_id_birth_date_in_the_future() -> None:
    number = gb11643("11010120240616000")  # the day after TODAY
    assert rejected("cn_resident_id", number) == {"document_number": ["invalid_birth_date"]}


@pytest.mark.parametrize("region", ["990000", "119999", "000000"])
def test_resident_id_unknown_region(region: str) -> None:
    number = gb11643(f"{region}19900101000")
    assert rejected("cn_resident_id", number) == {"document_number": ["invalid_region"]}


@pytest.mark.parametrize("number", [HK_RESIDENCE, MO_RESIDENCE, TW_RESIDENCE])
def test_resident_id_refuses_residence_permit_numbers(number: str) -> None:
    assert rejected("cn_resident_id", number) == {"document_number": ["invalid_region"]}


@pytest.mark.parametrize(
    "body",
    [
        "11011119500101000",  # Fangshan's code dates from 1986: numbers were given out later
        "11010319800101000",  # Chongwen district, merged away in 2010: its numbers remain
    ],
)
def test_resident_id_region_codes_are_not_tied_to_the_birth_year(body: str) -> None:
    # python-stdnum's own validate() would refuse these real-world shapes.
    assert validate("cn_resident_id", gb11643(body)).birth_date.year in {1950, 1980}


# --- residence permits ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "birth_date"),
    [(HK_RESIDENCE, date(1980, 1, 1)), (MO_RESIDENCE, date(1985, 7, 4))],
)
def test_hk_mo_residence_permit_valid(number: str, birth_date: date) -> None:
    # Born before 1997/1999: python-stdnum's validate() would refuse these.
    assert validate("hk_mo_residence_permit", number).birth_date == birth_date


def test_hk_mo_residence_permit_wrong_check_digit() -> None:
    assert rejected("hk_mo_residence_permit", wrong_check(HK_RESIDENCE)) == {
        "document_number": ["invalid_checksum"]
    }


@pytest.mark.parametrize("number", [TW_RESIDENCE, RESIDENT_ID, gb11643("81000119800101000")])
def test_hk_mo_residence_permit_wrong_region(number: str) -> None:
    assert rejected("hk_mo_residence_permit", number) == {"document_number": ["invalid_region"]}


def test_hk_mo_residence_permit_wrong_format_and_impossible_date() -> None:
    assert rejected("hk_mo_residence_permit", "81000019800101") == {
        "document_number": ["invalid_format"]
    }
    assert rejected("hk_mo_residence_permit", gb11643("81000019800230000")) == {
        "document_number": ["invalid_birth_date"]
    }


def test_tw_residence_permit_valid() -> None:
    document = validate("tw_residence_permit", TW_RESIDENCE)
    assert document.birth_date == date(1992, 3, 15)
    assert document.number == TW_RESIDENCE


def test_tw_residence_permit_wrong_check_digit() -> None:
    assert rejected("tw_residence_permit", wrong_check(TW_RESIDENCE)) == {
        "document_number": ["invalid_checksum"]
    }


@pytest.mark.parametrize("number", [HK_RESIDENCE, RESIDENT_ID, gb11643("71000019920315000")])
def test_tw_residence_permit_wrong_region(number: str) -> None:
    assert rejected("tw_residence_permit", number) == {"document_number": ["invalid_region"]}


def test_tw_residence_permit_impossible_date() -> None:
    assert rejected("tw_residence_permit", gb11643("83000019921301000")) == {
        "document_number": ["invalid_birth_date"]
    }


# --- travel permits: no check digit, no date of birth -----------------------------------------


@pytest.mark.parametrize("number", ["H12345678", "M87654321", "H1234567801", "m 8765 4321"])
def test_hk_mo_travel_permit_valid(number: str) -> None:
    document = validate("hk_mo_travel_permit", number, birth_date=date(1990, 5, 1))
    assert document.number == normalize_document_number(number)
    assert document.birth_date == date(1990, 5, 1)


def test_hk_mo_travel_permit_has_no_check_digit_to_get_wrong() -> None:
    for last in "0123456789":
        assert validate("hk_mo_travel_permit", f"H1234567{last}", birth_date=date(1990, 5, 1))


@pytest.mark.parametrize(
    "number",
    ["H1234567", "H123456789", "H123456780", "A12345678", "12345678", "HM1234567", "H1234567X"],
)
def test_hk_mo_travel_permit_wrong_format(number: str) -> None:
    assert rejected("hk_mo_travel_permit", number, birth_date=date(1990, 5, 1)) == {
        "document_number": ["invalid_format"]
    }


@pytest.mark.parametrize("number", ["12345678", "1234567801", "1234 5678"])
def test_tw_travel_permit_valid(number: str) -> None:
    document = validate("tw_travel_permit", number, birth_date=date(1988, 8, 8))
    assert document.number == normalize_document_number(number)
    assert document.birth_date == date(1988, 8, 8)


def test_tw_travel_permit_has_no_check_digit_to_get_wrong() -> None:
    for last in "0123456789":
        assert validate("tw_travel_permit", f"1234567{last}", birth_date=date(1988, 8, 8))


@pytest.mark.parametrize("number", ["1234567", "123456789", "12345678901", "T1234567", "H12345678"])
def test_tw_travel_permit_wrong_format(number: str) -> None:
    assert rejected("tw_travel_permit", number, birth_date=date(1988, 8, 8)) == {
        "document_number": ["invalid_format"]
    }


@pytest.mark.parametrize(
    ("document_type", "number"),
    [("hk_mo_travel_permit", "H12345678"), ("tw_travel_permit", "12345678")],
)
def test_travel_permits_require_a_birth_date(document_type: str, number: str) -> None:
    assert rejected(document_type, number) == {"birth_date": ["birth_date_required"]}


def test_every_problem_is_reported_at_once() -> None:
    assert rejected("hk_mo_travel_permit", "H123") == {
        "document_number": ["invalid_format"],
        "birth_date": ["birth_date_required"],
    }


# --- Foreign Permanent Resident ID Card -------------------------------------------------------


def test_foreign_permanent_resident_18_valid() -> None:
    document = validate("foreign_permanent_resident_id", FOREIGN_18)
    assert document.birth_date == date(1990, 1, 1)
    assert document.number == FOREIGN_18


def test_foreign_permanent_resident_18_wrong_check_digit() -> None:
    assert rejected("foreign_permanent_resident_id", wrong_check(FOREIGN_18)) == {
        "document_number": ["invalid_checksum"]
    }


def test_foreign_permanent_resident_18_unknown_issuing_province() -> None:
    assert rejected("foreign_permanent_resident_id", gb11643("99984019900101000")) == {
        "document_number": ["invalid_region"]
    }


def test_foreign_permanent_resident_18_impossible_date() -> None:
    assert rejected("foreign_permanent_resident_id", gb11643("91184019900230000")) == {
        "document_number": ["invalid_birth_date"]
    }


@pytest.mark.parametrize(
    "number",
    [
        RESIDENT_ID,  # 18 digits that do not start with 9
        FOREIGN_18[:-1],
        "US110099010100",  # 2 letters
        "USA11009901010",  # 11 digits
        "USA11009901010X",
        "1SA110099010100",
    ],
)
def test_foreign_permanent_resident_wrong_format(number: str) -> None:
    assert rejected("foreign_permanent_resident_id", number) == {
        "document_number": ["invalid_format"]
    }


def test_foreign_permanent_resident_15_valid() -> None:
    document = validate("foreign_permanent_resident_id", FOREIGN_15)
    assert document.birth_date == date(1999, 1, 1)
    assert document.number == FOREIGN_15


def test_foreign_permanent_resident_15_check_character_is_not_verified() -> None:
    # No reliable public algorithm: every last digit passes rather than turning holders away.
    for last in "0123456789":
        assert validate("foreign_permanent_resident_id", FOREIGN_15[:-1] + last)


@pytest.mark.parametrize(
    ("yymmdd", "expected"),
    [
        ("000101", date(2000, 1, 1)),
        ("060615", date(2006, 6, 15)),  # 18 on TODAY exactly
        ("240616", date(1924, 6, 16)),  # 2024-06-16 would be tomorrow
        ("990101", date(1999, 1, 1)),
        ("000229", date(2000, 2, 29)),
    ],
)
def test_foreign_permanent_resident_15_century_keeps_birth_in_the_past(
    yymmdd: str, expected: date
) -> None:
    number = f"CAN1100{yymmdd}10"
    assert validate("foreign_permanent_resident_id", number).birth_date == expected


@pytest.mark.parametrize("yymmdd", ["990230", "011301", "010229", "000000"])
def test_foreign_permanent_resident_15_impossible_date(yymmdd: str) -> None:
    assert rejected("foreign_permanent_resident_id", f"GBR3100{yymmdd}21") == {
        "document_number": ["invalid_birth_date"]
    }


# --- the date of birth the person gives -------------------------------------------------------


def test_given_birth_date_matching_the_number_is_accepted() -> None:
    document = validate("cn_resident_id", RESIDENT_ID, birth_date=date(2000, 1, 1))
    assert document.birth_date == date(2000, 1, 1)


@pytest.mark.parametrize(
    ("document_type", "number"),
    [
        ("cn_resident_id", RESIDENT_ID),
        ("hk_mo_residence_permit", HK_RESIDENCE),
        ("tw_residence_permit", TW_RESIDENCE),
        ("foreign_permanent_resident_id", FOREIGN_18),
        ("foreign_permanent_resident_id", FOREIGN_15),
    ],
)
def test_given_birth_date_disagreeing_with_the_number(document_type: str, number: str) -> None:
    assert rejected(document_type, number, birth_date=date(1970, 12, 31)) == {
        "birth_date": ["birth_date_mismatch"]
    }


def test_given_birth_date_in_the_future() -> None:
    assert rejected("tw_travel_permit", "12345678", birth_date=date(2024, 6, 16)) == {
        "birth_date": ["birth_date_in_future"]
    }
    # Reported as a future date, not as a mismatch with the number.
    assert rejected("cn_resident_id", RESIDENT_ID, birth_date=date(2030, 1, 1)) == {
        "birth_date": ["birth_date_in_future"]
    }


def test_given_birth_date_before_1900_is_impossible() -> None:
    assert rejected("hk_mo_travel_permit", "H12345678", birth_date=date(1899, 12, 31)) == {
        "birth_date": ["invalid_birth_date"]
    }
    assert validate("hk_mo_travel_permit", "H12345678", birth_date=date(1900, 1, 1))


# --- age --------------------------------------------------------------------------------------


def test_underage_the_day_before_the_18th_birthday() -> None:
    number = gb11643("11010120060616000")  # 18 on 2024-06-16
    assert rejected("cn_resident_id", number, today=date(2024, 6, 15)) == {
        "document_number": ["underage"]
    }


def test_adult_on_the_18th_birthday_itself() -> None:
    number = gb11643("11010120060615000")
    assert validate("cn_resident_id", number, today=date(2024, 6, 15)).birth_date == date(
        2006, 6, 15
    )


def test_underage_is_reported_on_the_birth_date_when_the_person_gave_it() -> None:
    assert rejected("hk_mo_travel_permit", "H12345678", birth_date=date(2006, 6, 16)) == {
        "birth_date": ["underage"]
    }
    assert validate("hk_mo_travel_permit", "H12345678", birth_date=date(2006, 6, 15))


def test_born_on_29_february_turns_18_on_1_march_in_a_common_year() -> None:
    number = gb11643("11010120040229000")
    assert rejected("cn_resident_id", number, today=date(2022, 2, 28)) == {
        "document_number": ["underage"]
    }
    assert validate("cn_resident_id", number, today=date(2022, 3, 1))


def test_born_on_29_february_has_a_birthday_on_29_february_in_a_leap_year() -> None:
    number = gb11643("11010120040229000")
    assert rejected("cn_resident_id", number, today=date(2024, 2, 28), minimum_age=20) == {
        "document_number": ["underage"]
    }
    assert validate("cn_resident_id", number, today=date(2024, 2, 29), minimum_age=20)


def test_minimum_age_is_configurable_and_named_in_the_message() -> None:
    number = gb11643("11010120040101000")  # 20 years old on TODAY
    assert validate("cn_resident_id", number, minimum_age=20)
    with pytest.raises(ValidationError) as excinfo:
        validate("cn_resident_id", number, minimum_age=21)
    assert messages_of(excinfo) == [
        "Real-name authentication is for adults only. You can verify once you turn 21."
    ]


def test_today_defaults_to_the_local_date() -> None:
    document = validate_document(
        document_type="cn_resident_id", number=gb11643("11010119800101000"), birth_date=None
    )
    assert document.birth_date == date(1980, 1, 1)
    with pytest.raises(ValidationError) as excinfo:
        validate_document(
            document_type="cn_resident_id", number=gb11643("11010120990101000"), birth_date=None
        )
    assert errors_of(excinfo) == {"document_number": ["invalid_birth_date"]}


# --- unknown type, messages -------------------------------------------------------------------


def test_unknown_document_type() -> None:
    assert rejected("passport", "E12345678", birth_date=date(1990, 1, 1)) == {
        "document_type": ["unknown_type"]
    }


@pytest.mark.parametrize(
    ("document_type", "number", "birth_date"),
    [
        ("cn_resident_id", wrong_check(RESIDENT_ID), None),
        ("cn_resident_id", gb11643("11010120000230000"), None),
        ("cn_resident_id", gb11643("99000019900101000"), None),
        ("cn_resident_id", RESIDENT_ID, date(1999, 12, 31)),
        ("cn_resident_id", gb11643("11010120100101000"), None),
        ("hk_mo_residence_permit", RESIDENT_ID, None),
        ("hk_mo_travel_permit", "H12345678", None),
        ("tw_travel_permit", "12345678", date(2010, 1, 1)),
        ("foreign_permanent_resident_id", "USA1100990101", None),
    ],
)
def test_messages_never_repeat_personal_data(
    document_type: str, number: str, birth_date: date | None
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate(document_type, number, birth_date)
    for message in messages_of(excinfo):
        assert number not in message
        assert number[-4:] not in message
        assert number[6:14] not in message  # the encoded date of birth
        if birth_date:
            assert birth_date.isoformat() not in message
            assert str(birth_date.year) not in message


def test_the_underage_message_is_kind_and_generic() -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate("cn_resident_id", gb11643("11010120100101000"))
    assert messages_of(excinfo) == [
        "Real-name authentication is for adults only. You can verify once you turn 18."
    ]


# --- normalisation and masking ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("110101 2000 0101 0001", "110101200001010001"),
        ("110101-20000101-000x", "11010120000101000X"),
        ("  h1234-5678  ", "H12345678"),
        ("１１０１０１２００００１０１０００Ｘ", "11010120000101000X"),  # full-width digits
        ("１２３４\u30005678", "12345678"),  # ideographic space
        ("usa\t1100 990101 00", "USA110099010100"),
        ("h12345678－01", "H1234567801"),  # full-width hyphen
    ],
)
def test_normalize_document_number(typed: str, expected: str) -> None:
    assert normalize_document_number(typed) == expected


def test_validation_accepts_what_people_type() -> None:
    typed = " ".join([RESIDENT_ID[:6], RESIDENT_ID[6:14], RESIDENT_ID[14:]])
    full_width = typed.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert validate("cn_resident_id", full_width).number == RESIDENT_ID


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("110101200001010001", "110***********0001"),
        ("11010120000101000x", "110***********000X"),
        ("USA110099010100", "US*********0100"),
        ("H12345678", "H******78"),
        ("H1234567801", "H*******801"),
        ("12345678", "1*****78"),
        ("1234567801", "1******801"),
        ("12", "**"),
        ("", ""),
    ],
)
def test_mask_document_number(number: str, masked: str) -> None:
    assert mask_document_number(number) == masked


def test_mask_never_reveals_more_than_40_percent() -> None:
    for length in range(31):
        masked = mask_document_number("9" * length)
        assert len(masked) == length
        assert masked.count("9") <= length * 0.4
