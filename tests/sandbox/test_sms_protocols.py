"""The sandbox's SMS carrier protocols (sandbox/vendors/aliyun_sms.py, tencent_sms.py): what they
claim beside the identity protocols on the same gateway, their refusals spoken to in raw HTTP,
and ``run_sandbox_provider --sms-file`` writing what our carrier backends send."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from django.test import override_settings

from accounts.sms import SmsInvalidNumberError, send_sms
from sandbox.vendors import aliyun_sms, tencent_signing, tencent_sms
from sandbox.vendors.sms_file import e164
from tests.sandbox_harness import BASE_DIR, InProcessSandbox, _wait_for_start, stop_process

PHONE = "+8613800138000"


def test_the_sms_protocols_claim_their_own_version_only(
    sandbox_in_process: InProcessSandbox,
) -> None:
    assert sandbox_in_process.service is not None
    aliyun = aliyun_sms.protocol(sandbox_in_process.service)
    tencent = tencent_sms.protocol(sandbox_in_process.service)

    assert aliyun.claims("POST", "/", {"x-acs-action": "SendSms", "x-acs-version": "2017-05-25"})
    assert not aliyun.claims(
        "POST", "/", {"x-acs-action": "DescribeFaceVerify", "x-acs-version": "2019-03-07"}
    )
    assert tencent.claims("POST", "/", {"x-tc-action": "SendSms", "x-tc-version": "2021-01-11"})
    assert not tencent.claims(
        "POST", "/", {"x-tc-action": "DetectAuth", "x-tc-version": "2018-03-01"}
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("13800138000", PHONE),
        ("+8613800138000", PHONE),
        ("008613800138000", PHONE),
        ("85261234567", "+85261234567"),
        ("+85261234567", "+85261234567"),
        ("12345", None),
        ("8610000000000", None),
        ("+86 138", None),
    ],
)
def test_numbers_are_read_as_the_carriers_accept_them(given: str, expected: str | None) -> None:
    assert e164(given) == expected


def test_an_unsigned_aliyun_sms_call_is_refused(sandbox_in_process: InProcessSandbox) -> None:
    response = httpx.post(
        sandbox_in_process.url + "/",
        data={"PhoneNumbers": "13800138000", "SignName": "x", "TemplateCode": "SMS_1"},
        headers={"x-acs-action": "SendSms", "x-acs-version": "2017-05-25"},
        timeout=10,
    )

    assert response.status_code == 400
    assert response.json()["Code"] == "MissingSignature"


def test_a_tencent_sms_call_signed_for_another_service_is_refused(
    sandbox_in_process: InProcessSandbox,
) -> None:
    """The TC3 scope names the product: a signature made for FaceID is not one for SMS."""
    body = json.dumps(
        {
            "PhoneNumberSet": [PHONE],
            "SmsSdkAppId": "1400000001",
            "TemplateId": "1",
            "SignName": "realname",
        }
    ).encode()
    host = urlsplit(sandbox_in_process.url).netloc
    headers = tencent_signing.sign(
        secret_id=sandbox_in_process.app_id,
        secret_key=sandbox_in_process.secret,
        service="faceid",
        host=host,
        body=body,
        timestamp=int(time.time()),
    )
    headers.update({"X-TC-Action": "SendSms", "X-TC-Version": "2021-01-11"})

    response = httpx.post(sandbox_in_process.url + "/", content=body, headers=headers, timeout=10)

    assert response.json()["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"


def test_a_tencent_number_the_carrier_cannot_text_comes_back_in_its_status(
    sandbox_in_process: InProcessSandbox, settings
) -> None:
    settings.ACCOUNTS_SMS_BACKEND = "tencent"
    settings.ACCOUNTS_SMS_TENCENT_ENDPOINT = sandbox_in_process.url
    settings.ACCOUNTS_SMS_TENCENT_SECRET_ID = sandbox_in_process.app_id
    settings.ACCOUNTS_SMS_TENCENT_SECRET_KEY = sandbox_in_process.secret
    settings.ACCOUNTS_SMS_TENCENT_SDK_APP_ID = "1400000001"
    settings.ACCOUNTS_SMS_TENCENT_TEMPLATE_CODE = "2000001"

    with pytest.raises(SmsInvalidNumberError) as caught:
        send_sms(to="+86100", body="x", code="123456")  # not a mobile number

    assert "InvalidParameterValue.IncorrectPhoneNumber" in str(caught.value)


@contextmanager
def sandbox_process_with_sms_file(sms_file: Path) -> Iterator[tuple[str, str, str]]:
    """``manage.py run_sandbox_provider --sms-file``: (url, app id, secret)."""
    secret, app_id = secrets.token_urlsafe(32), "realname-test"
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below
        "w+", prefix="realname-sandbox-sms-", suffix=".log", delete=False
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "run_sandbox_provider",
            "--port",
            "0",
            "--app-id",
            app_id,
            "--secret",
            secret,
            "--sms-file",
            str(sms_file),
        ],
        cwd=BASE_DIR,
        env={key: value for key, value in os.environ.items() if not key.startswith("SANDBOX_")}
        | {"DJANGO_SETTINGS_MODULE": "realname.settings.test"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield _wait_for_start(process, Path(log.name)), app_id, secret
    finally:
        stop_process(process, timeout=10)
        log.close()
        Path(log.name).unlink()


def test_run_sandbox_provider_writes_what_both_carriers_send_to_its_sms_file(tmp_path) -> None:
    sms_file = tmp_path / "sms.jsonl"
    with sandbox_process_with_sms_file(sms_file) as (url, app_id, secret):
        carriers = {
            "ACCOUNTS_SMS_ALIYUN_ENDPOINT": url,
            "ACCOUNTS_SMS_ALIYUN_ACCESS_KEY_ID": app_id,
            "ACCOUNTS_SMS_ALIYUN_ACCESS_KEY_SECRET": secret,
            "ACCOUNTS_SMS_ALIYUN_TEMPLATE_CODE": "SMS_900000001",
            "ACCOUNTS_SMS_TENCENT_ENDPOINT": url,
            "ACCOUNTS_SMS_TENCENT_SECRET_ID": app_id,
            "ACCOUNTS_SMS_TENCENT_SECRET_KEY": secret,
            "ACCOUNTS_SMS_TENCENT_SDK_APP_ID": "1400000001",
            "ACCOUNTS_SMS_TENCENT_TEMPLATE_CODE": "2000001",
        }
        for carrier, code in (("aliyun", "111111"), ("tencent", "222222")):
            with override_settings(ACCOUNTS_SMS_BACKEND=carrier, **carriers):
                assert send_sms(to=PHONE, body="x", code=code) == carrier

    lines = [json.loads(line) for line in sms_file.read_text("utf-8").splitlines()]
    assert [(line["to"], line["code"]) for line in lines] == [
        (PHONE, "111111"),
        (PHONE, "222222"),
    ]
    assert set(lines[0]) == {"to", "code", "message", "sent_at"}  # the file backend's format
    assert lines[0]["message"].startswith("【realname】")
