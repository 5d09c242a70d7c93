"""The SMS carriers (accounts/sms/aliyun.py, tencent.py) through the sandbox's Aliyun SMS and
Tencent SMS protocols: real signed HTTP calls, the sign-up pages people use, and what they see
when a carrier refuses a number or fails."""

from __future__ import annotations

import logging
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.checks import check_sms_backend
from accounts.models import User
from accounts.sms import (
    SmsInvalidNumberError,
    SmsNumberLimitError,
    SmsSendError,
    get_sms_backends,
    send_sms,
)
from tests.accounts.conftest import ALIYUN_CODE_TEMPLATE, TENCENT_CODE_TEMPLATE, Carriers

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"
PHONE_DIGITS = "13800138000"
SIGNUP_CONSENTS = {"consent_user-agreement": "on", "consent_privacy-policy": "on"}
TEMPLATES = {"aliyun": ALIYUN_CODE_TEMPLATE, "tencent": TENCENT_CODE_TEMPLATE}
OTHER = {"aliyun": "tencent", "tencent": "aliyun"}
LIMIT_CODES = {
    "aliyun": "isv.BUSINESS_LIMIT_CONTROL",
    "tencent": "LimitExceeded.PhoneNumberDailyLimit",
}
INVALID_CODES = {
    "aliyun": "isv.MOBILE_NUMBER_ILLEGAL",
    "tencent": "InvalidParameterValue.IncorrectPhoneNumber",
}
#: A failure of the carrier itself (not of the number) in each protocol's own terms.
CARRIER_FAILURES = {"aliyun": "Throttling.User", "tencent": "Error:InternalError"}
TOO_MANY = "Too many codes have been sent to this number today"
INVALID = "The mobile carrier says this number cannot receive text messages"
NOT_SENT = "We could not send the text message just now"


def sign_up(client: Client, phone: str = "138 0013 8000"):
    return client.post(
        reverse("account_signup"),
        {"phone": phone, **SIGNUP_CONSENTS},
        headers={"accept-language": "en"},
    )


def page_after(client: Client, response) -> str:
    assert response.status_code == 302, response.status_code
    page = client.get(response["Location"], headers={"accept-language": "en"})
    assert page.status_code == 200
    return page.content.decode()


@pytest.mark.parametrize("carrier", ["aliyun", "tencent"])
def test_a_sign_up_code_goes_through_the_carrier_into_the_sms_file(
    client, carriers: Carriers, settings, carrier
):
    settings.ACCOUNTS_SMS_BACKEND = carrier

    page = page_after(client, sign_up(client))

    assert NOT_SENT not in page
    [line] = carriers.lines()
    assert line["to"] == PHONE
    assert re.fullmatch(r"\d{6}", line["code"])
    assert TEMPLATES[carrier] in line["message"]
    response = client.post(reverse("account_verify_phone"), {"code": line["code"]})
    assert response.status_code == 302
    assert User.objects.get(phone=PHONE).phone_verified is True


@pytest.mark.parametrize("carrier", ["aliyun", "tencent"])
def test_a_taken_number_gets_the_carriers_notice_template_without_a_code(
    client, carriers: Carriers, settings, carrier
):
    settings.ACCOUNTS_SMS_BACKEND = carrier
    User.objects.create(phone=PHONE, phone_verified=True)

    page_after(client, sign_up(client))

    [line] = carriers.lines()
    assert line["to"] == PHONE
    assert line["code"] == ""
    assert {"aliyun": "SMS_900000002", "tencent": "2000002"}[carrier] in line["message"]


@pytest.mark.parametrize("carrier", ["aliyun", "tencent"])
def test_the_carriers_per_number_limit_says_so_and_tries_no_other_carrier(
    client, carriers: Carriers, settings, carrier
):
    settings.ACCOUNTS_SMS_BACKEND = f"{carrier},{OTHER[carrier]}"
    carriers.set_faults(vendor_code=LIMIT_CODES[carrier])

    page = page_after(client, sign_up(client))

    assert TOO_MANY in page
    assert carriers.lines() == []  # the other carrier was not asked
    assert carriers.sandbox.faults()["vendor_code"] == ""  # the first carrier was


@pytest.mark.parametrize("carrier", ["aliyun", "tencent"])
def test_an_invalid_number_is_said_and_then_refused_next_to_the_number_field(
    client, carriers: Carriers, settings, carrier
):
    settings.ACCOUNTS_SMS_BACKEND = f"{carrier},{OTHER[carrier]}"
    carriers.set_faults(vendor_code=INVALID_CODES[carrier])

    page = page_after(client, sign_up(client))

    assert INVALID in page
    assert "A verification code has been sent" not in page
    assert carriers.lines() == []  # the other carrier was not asked
    # Trying the number again: the form says so next to the field, and no carrier is asked.
    for response in (
        sign_up(Client(headers={"accept-language": "en"})),
        Client(headers={"accept-language": "en"}).post(
            reverse("account_login"), {"login": "13800138000"}
        ),
    ):
        assert response.status_code == 200
        field = "phone" if "phone" in response.context["form"].errors else "login"
        assert INVALID in " ".join(response.context["form"].errors[field])
    assert carriers.lines() == []
    assert User.objects.filter(phone=PHONE).count() == 1


@pytest.mark.parametrize("carrier", ["aliyun", "tencent"])
def test_a_failing_carrier_hands_the_text_to_the_next_one(
    client, carriers: Carriers, settings, carrier
):
    settings.ACCOUNTS_SMS_BACKEND = f"{carrier},{OTHER[carrier]}"
    carriers.set_faults(vendor_code=CARRIER_FAILURES[carrier])

    page = page_after(client, sign_up(client))

    assert NOT_SENT not in page
    [line] = carriers.lines()
    assert TEMPLATES[OTHER[carrier]] in line["message"]
    assert client.post(reverse("account_verify_phone"), {"code": line["code"]}).status_code == 302
    assert User.objects.get(phone=PHONE).phone_verified is True


def test_when_every_carrier_fails_the_person_reads_a_clear_message_and_no_number_is_logged(
    client, carriers: Carriers, settings, caplog
):
    settings.ACCOUNTS_SMS_BACKEND = "aliyun,tencent"
    carriers.set_faults(fail_next=2)  # each carrier's gateway answers its "unavailable"
    caplog.set_level(logging.DEBUG)

    page = page_after(client, sign_up(client))

    assert NOT_SENT in page
    assert "A verification code has been sent" not in page
    assert carriers.lines() == []
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert "aliyun" in logged and "tencent" in logged  # each failure is logged, by carrier
    assert "ServiceUnavailable" in logged and "InternalError" in logged
    assert PHONE_DIGITS not in logged


def test_carrier_errors_name_the_code_never_the_number(carriers: Carriers, settings, caplog):
    settings.ACCOUNTS_SMS_BACKEND = "aliyun,tencent"
    caplog.set_level(logging.DEBUG)
    raised = []
    for faults, expected in (
        ({"vendor_code": "isv.BUSINESS_LIMIT_CONTROL"}, SmsNumberLimitError),
        ({"vendor_code": "isv.MOBILE_NUMBER_ILLEGAL"}, SmsInvalidNumberError),
        ({"fail_next": 2}, SmsSendError),
    ):
        carriers.set_faults(**faults)
        with pytest.raises(expected) as caught:
            send_sms(to=PHONE, body="【realname】123456", code="123456")
        raised.append(caught.value)

    for error in raised:
        assert PHONE_DIGITS not in str(error)
        assert error.__cause__ is None
    assert "isv.BUSINESS_LIMIT_CONTROL" in str(raised[0])
    assert "ServiceUnavailable" in str(raised[2]) and "InternalError" in str(raised[2])
    assert not [r for r in caplog.records if r.name == "tencentcloud_sdk_common"]
    assert PHONE_DIGITS not in caplog.text


def test_a_carrier_refusing_our_signature_is_a_failure_the_next_carrier_covers(
    carriers: Carriers, settings
):
    settings.ACCOUNTS_SMS_BACKEND = "aliyun,tencent"
    settings.ACCOUNTS_SMS_ALIYUN_ACCESS_KEY_SECRET = "not-the-secret"

    assert send_sms(to=PHONE, body="【realname】123456", code="123456") == "tencent"
    assert [line["code"] for line in carriers.lines()] == ["123456"]


def test_a_single_dotted_path_still_configures_one_backend(settings):
    settings.ACCOUNTS_SMS_BACKEND = "accounts.sms.locmem.SmsBackend"

    assert [backend.name for backend in get_sms_backends()] == ["locmem"]


def test_a_carrier_without_its_settings_is_reported_by_the_system_checks(settings):
    settings.ACCOUNTS_SMS_BACKEND = "aliyun,accounts.sms.tencent.SmsBackend"
    settings.ACCOUNTS_SMS_ALIYUN_ACCESS_KEY_ID = "key"
    settings.ACCOUNTS_SMS_ALIYUN_ACCESS_KEY_SECRET = "secret"
    settings.ACCOUNTS_SMS_ALIYUN_TEMPLATE_CODE = ""

    problems = check_sms_backend(None)

    assert [problem.id for problem in problems] == ["accounts.E005", "accounts.E005"]
    assert "SMS_ALIYUN_TEMPLATE_CODE" in problems[0].msg
    assert "SMS_TENCENT_SECRET_ID" in problems[1].msg


# -- manage.py check_sms ------------------------------------------------------------------------


@pytest.mark.parametrize("carrier", ["aliyun", "tencent"])
def test_check_sms_makes_one_call_that_sends_nothing(carriers: Carriers, carrier, capsys):
    call_command("check_sms", carrier)

    assert f"{carrier}: OK:" in capsys.readouterr().out
    assert carriers.lines() == []


@pytest.mark.parametrize(
    ("carrier", "setting", "explained"),
    [
        ("aliyun", "ACCOUNTS_SMS_ALIYUN_ACCESS_KEY_SECRET", "the AccessKey secret is wrong"),
        ("tencent", "ACCOUNTS_SMS_TENCENT_SECRET_KEY", "the SecretKey is wrong"),
    ],
)
def test_check_sms_explains_a_wrong_secret(
    carriers: Carriers, settings, capsys, carrier, setting, explained
):
    setattr(settings, setting, "not-the-secret")

    with pytest.raises(CommandError):
        call_command("check_sms", carrier)

    err = capsys.readouterr().err
    assert f"{carrier}: REFUSED:" in err
    assert explained in err


def test_check_sms_tells_an_unreachable_carrier_apart(settings, capsys):
    settings.ACCOUNTS_SMS_TENCENT_ENDPOINT = "http://127.0.0.1:9"
    settings.ACCOUNTS_SMS_TENCENT_SECRET_ID = "id"
    settings.ACCOUNTS_SMS_TENCENT_SECRET_KEY = "key"
    settings.ACCOUNTS_SMS_TENCENT_TEMPLATE_CODE = "2000001"
    settings.ACCOUNTS_SMS_TIMEOUT = 2.0

    with pytest.raises(CommandError):
        call_command("check_sms", "tencent")

    assert "tencent: UNREACHABLE:" in capsys.readouterr().err


def test_check_sms_checks_every_configured_carrier_by_default(carriers: Carriers, settings, capsys):
    settings.ACCOUNTS_SMS_BACKEND = "aliyun,tencent"

    call_command("check_sms")

    out = capsys.readouterr().out
    assert "aliyun: OK:" in out and "tencent: OK:" in out
