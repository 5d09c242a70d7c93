"""Hostile and careless input: each refused next to its field with a message a person can act
on, nothing stored — or, where it is legitimate, stored as typed and shown escaped."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from enterprise import services as enterprise_services
from enterprise.models import EnterpriseVerification
from tests.factories import (
    DEMO_COMPANY,
    FailedPersonalFactory,
    MemberFactory,
    StaffFactory,
    details,
    licence_upload,
    resident_id,
)
from tests.helpers import QUEUE
from verification import services
from verification.models import PersonalVerification
from verification.names import clean_company_name, clean_person_name

pytestmark = pytest.mark.django_db
EN = {"accept-language": "en"}
START = "/verification/personal/"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("张\u200b三", "bad_character"),  # zero-width space
        ("张三\u202e", "bad_character"),  # right-to-left override
        ("张\x00三", "bad_character"),  # NUL
        ("张\t\x07三", "bad_character"),  # a bell among the spaces
        ("张三1", "bad_character"),
        ("张三😀", "bad_character"),
        ("Robert'); DROP TABLE accounts_user;--", "bad_character"),
        ("<script>alert(1)</script>", "bad_character"),
        ("Ivan Реtrov", "mixed_scripts"),  # Cyrillic Р and е among Latin letters
        ("Αlice", "mixed_scripts"),  # a Greek capital alpha
        ("张" * 101, "too_long"),
    ],
    ids=[
        "zero-width",
        "rtl-override",
        "nul",
        "control",
        "digit",
        "emoji",
        "sql",
        "html",
        "cyrillic-in-latin",
        "greek-in-latin",
        "oversized",
    ],
)
def test_a_bad_name_is_refused_next_to_the_field_and_nothing_is_stored(client, name, code):
    member = MemberFactory.create()
    client.force_login(member)

    response = client.post(
        START,
        {"name": name, "document_type": "cn_resident_id", "document_number": resident_id()},
        headers=EN,
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors.get("name")
    assert not PersonalVerification.objects.exists()
    with pytest.raises(ValidationError) as raised:
        services.verification_submit(user=member, **details(name=name))
    assert raised.value.error_dict["name"][0].code == code


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("张三", "张三"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),  # a bullet typed for the middle dot
        ("阿依古丽・买买提", "阿依古丽·买买提"),  # the Japanese-keyboard middle dot
        ("ＺＨＡＮＧ  ＳＡＮ", "ZHANG SAN"),  # full-width letters, two spaces
        ("Seán O'Brien-Smith", "Seán O'Brien-Smith"),
        ("José María Núñez", "José María Núñez"),
    ],
)
def test_real_names_are_accepted_as_printed(typed, stored):
    assert clean_person_name(typed) == stored


def test_company_names_keep_digits_and_brackets_but_not_markup():
    assert clean_company_name("北京3D打印（中国）科技有限公司") == "北京3D打印(中国)科技有限公司"
    assert clean_company_name("A&B Trading Co., Ltd.") == "A&B Trading Co., Ltd."
    for bad in ("<b>Acme</b>", "Acme\u200d Ltd", "Acme; DROP TABLE x;--"):
        with pytest.raises(ValidationError):
            clean_company_name(bad)


def test_an_enterprise_submission_with_hostile_names_stores_nothing():
    with pytest.raises(ValidationError) as raised:
        enterprise_services.enterprise_verification_submit(
            user=MemberFactory.create(),
            **{
                **DEMO_COMPANY,
                "company_name": "<img src=x onerror=alert(1)>",
                "legal_representative": "测\u200b试甲",
            },
            licence=licence_upload(),
        )

    assert set(raised.value.error_dict) == {"company_name", "legal_representative"}
    assert not EnterpriseVerification.objects.exists()


@pytest.mark.parametrize("field", ["name", "document_number"])
def test_oversized_fields_are_refused_by_the_form(client, field):
    client.force_login(MemberFactory.create())
    data = {"name": "张三", "document_type": "cn_resident_id", "document_number": resident_id()}
    data[field] = "9" * 100_000

    response = client.post(START, data, headers=EN)

    assert response.status_code == 200
    assert "at most" in str(response.context["form"].errors[field]).lower()
    assert not PersonalVerification.objects.exists()


@pytest.mark.parametrize("term", ["' OR 1=1 --", "%", "_", "<script>alert(1)</script>", "1" * 5000])
def test_the_desk_search_treats_any_term_as_data(term, desk_client):
    FailedPersonalFactory.create()
    client = desk_client(StaffFactory.create())

    response = client.get(QUEUE, {"q": term})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_a_null_character_in_the_desk_search_is_ignored_not_an_error(desk_client):
    """Django's admin search form refuses NUL and lists without a filter, as for no term."""
    FailedPersonalFactory.create()
    response = desk_client(StaffFactory.create()).get(QUEUE, {"q": "\x00"})
    assert response.status_code == 200
