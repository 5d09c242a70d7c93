"""The sandbox's Tencent FaceID protocol: its TC3-HMAC-SHA256 verifier against the vendor's
published worked example, and its refusals, envelopes and faults over HTTP."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tencentcloud.common.sign import Sign

from sandbox.vendors import tencent_signing as tc3
from tests.sandbox_harness import SandboxHandle

# The worked example of "签名方法 v3" (cloud.tencent.com/document/api/213/30654; the same text
# in every product's API docs, FaceID's included): CVM DescribeInstances, signed at 1551113065.
# Its older versions (and the English and Russian copies, e.g.
# tencentcloud.com/document/api/213/35065) print the key pair in full:
EXAMPLE_SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
EXAMPLE_SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
EXAMPLE_BODY = (
    b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
)
EXAMPLE_HEADERS = {
    "content-type": "application/json; charset=utf-8",
    "host": "cvm.tencentcloudapi.com",
    "x-tc-action": "DescribeInstances",
    "x-tc-timestamp": "1551113065",
    "x-tc-version": "2017-03-12",
    "x-tc-region": "ap-guangzhou",
}
EXAMPLE_PAYLOAD_HASH = "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
EXAMPLE_CANONICAL_HASH = "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
EXAMPLE_SIGNATURE = "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
# The current version masks the key as "Gu5t9xGARNpq86cd98joQYCN3*******" and prints the
# signature that this masked string, taken literally, gives: reproducible too.
MASKED_SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3*******"
MASKED_SIGNATURE = "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"


def _example_authorization(signature: str) -> str:
    return (
        f"TC3-HMAC-SHA256 Credential={EXAMPLE_SECRET_ID}/2019-02-25/cvm/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )


def test_the_published_example_step_by_step() -> None:
    assert tc3.payload_hash(EXAMPLE_BODY, EXAMPLE_HEADERS) == EXAMPLE_PAYLOAD_HASH
    canonical = tc3.canonical_request(
        method="POST",
        path="/",
        query="",
        headers=EXAMPLE_HEADERS,
        signed_headers=("content-type", "host"),
        hashed_payload=EXAMPLE_PAYLOAD_HASH,
    )
    assert canonical == (
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n"
        "\ncontent-type;host\n" + EXAMPLE_PAYLOAD_HASH
    )
    assert hashlib.sha256(canonical.encode()).hexdigest() == EXAMPLE_CANONICAL_HASH
    # "Date 为 UTC 标准时间的日期": 2019-02-26 00:44:25 in Beijing is still the 25th in UTC.
    assert tc3.utc_date(1551113065) == "2019-02-25"
    to_sign = tc3.string_to_sign(
        timestamp=1551113065, date="2019-02-25", service="cvm", canonical=canonical
    )
    assert to_sign == (
        f"TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n{EXAMPLE_CANONICAL_HASH}"
    )
    for key, expected in (
        (EXAMPLE_SECRET_KEY, EXAMPLE_SIGNATURE),
        (MASKED_SECRET_KEY, MASKED_SIGNATURE),
    ):
        assert (
            tc3.signature(secret_key=key, date="2019-02-25", service="cvm", to_sign=to_sign)
            == expected
        )


@pytest.mark.parametrize(
    ("secret_key", "signature"),
    [(EXAMPLE_SECRET_KEY, EXAMPLE_SIGNATURE), (MASKED_SECRET_KEY, MASKED_SIGNATURE)],
)
def test_the_verifier_accepts_the_published_request(secret_key: str, signature: str) -> None:
    headers = {**EXAMPLE_HEADERS, "authorization": _example_authorization(signature)}
    secret_id = tc3.verify(
        method="POST",
        path="/",
        query="",
        headers=headers,
        body=EXAMPLE_BODY,
        secrets={EXAMPLE_SECRET_ID: secret_key},
        service="cvm",
        now=1551113065 + 10,
    )
    assert secret_id == EXAMPLE_SECRET_ID


def _verify_example(**changes: Any) -> str:
    arguments: dict[str, Any] = {
        "method": "POST",
        "path": "/",
        "query": "",
        "headers": {**EXAMPLE_HEADERS, "authorization": _example_authorization(EXAMPLE_SIGNATURE)},
        "body": EXAMPLE_BODY,
        "secrets": {EXAMPLE_SECRET_ID: EXAMPLE_SECRET_KEY},
        "service": "cvm",
        "now": 1551113065,
    }
    arguments.update(changes)
    return tc3.verify(**arguments)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"body": EXAMPLE_BODY.replace(b"1", b"2", 1)}, "AuthFailure.SignatureFailure"),
        ({"secrets": {EXAMPLE_SECRET_ID: "another-key"}}, "AuthFailure.SignatureFailure"),
        ({"secrets": {"AKID-someone-else": EXAMPLE_SECRET_KEY}}, "AuthFailure.SecretIdNotFound"),
        ({"now": 1551113065 + 301}, "AuthFailure.SignatureExpire"),
        ({"now": 1551113065 - 301}, "AuthFailure.SignatureExpire"),
        ({"service": "faceid"}, "AuthFailure.SignatureFailure"),
        (
            {"headers": {**EXAMPLE_HEADERS, "authorization": "Bearer nothing"}},
            "AuthFailure.InvalidAuthorization",
        ),
        (
            {
                "headers": {
                    **EXAMPLE_HEADERS,
                    "authorization": _example_authorization(EXAMPLE_SIGNATURE).replace(
                        "content-type;host", "host"
                    ),
                }
            },
            "AuthFailure.InvalidAuthorization",
        ),
        (
            {
                "headers": {
                    **EXAMPLE_HEADERS,
                    "host": "faceid.tencentcloudapi.com",
                    "authorization": _example_authorization(EXAMPLE_SIGNATURE),
                }
            },
            "AuthFailure.SignatureFailure",
        ),
    ],
)
def test_the_verifier_refuses(changes: dict[str, Any], code: str) -> None:
    with pytest.raises(tc3.SignatureRefused) as refused:
        _verify_example(**changes)
    assert refused.value.code == code


def test_the_scope_must_carry_the_utc_date_not_the_local_one() -> None:
    """The commonest bug (TencentCloud/tencentcloud-demo-mp-soe#3): Beijing's date at 00:44."""
    to_sign = tc3.string_to_sign(
        timestamp=1551113065,
        date="2019-02-26",
        service="cvm",
        canonical=tc3.canonical_request(
            method="POST",
            path="/",
            query="",
            headers=EXAMPLE_HEADERS,
            signed_headers=("content-type", "host"),
            hashed_payload=EXAMPLE_PAYLOAD_HASH,
        ),
    )
    local = tc3.signature(
        secret_key=EXAMPLE_SECRET_KEY, date="2019-02-26", service="cvm", to_sign=to_sign
    )
    authorization = _example_authorization(local).replace("2019-02-25", "2019-02-26")
    with pytest.raises(tc3.SignatureRefused) as refused:
        _verify_example(headers={**EXAMPLE_HEADERS, "authorization": authorization})
    assert refused.value.code == "AuthFailure.SignatureFailure"


def test_the_sdks_own_key_derivation_agrees() -> None:
    """Cross-check with the official SDK's ``Sign.sign_tc3`` (in the test only: the sandbox
    never imports a vendor SDK)."""
    for key in ("k", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "密钥-with-utf8", uuid.uuid4().hex):
        to_sign = f"TC3-HMAC-SHA256\n1700000000\n2023-11-14/faceid/tc3_request\n{'0' * 64}"
        ours = tc3.signature(secret_key=key, date="2023-11-14", service="faceid", to_sign=to_sign)
        assert ours == Sign.sign_tc3(key, "2023-11-14", "faceid", to_sign)


def test_unsigned_payload_variant_hashes_the_literal_words() -> None:
    """``X-TC-Content-SHA256: UNSIGNED-PAYLOAD`` (the SDKs' ``unsignedPayload``): the body is
    not covered, the literal string is hashed instead."""
    headers = {**EXAMPLE_HEADERS, "x-tc-content-sha256": "UNSIGNED-PAYLOAD"}
    assert tc3.payload_hash(b"anything", headers) == hashlib.sha256(b"UNSIGNED-PAYLOAD").hexdigest()


# -- over HTTP, against the sandbox subprocess -------------------------------------------------


@pytest.fixture
def sandbox(sandbox_provider: SandboxHandle) -> Iterator[SandboxHandle]:
    try:
        yield sandbox_provider
    finally:
        sandbox_provider.clear_faults()


def _post(
    sandbox: SandboxHandle,
    action: str,
    params: dict[str, Any],
    *,
    secret_id: str | None = None,
    secret_key: str | None = None,
    timestamp: int | None = None,
    timestamp_offset: int = 0,
    tamper: bytes = b"",
) -> httpx.Response:
    body = json.dumps(params).encode()
    host = sandbox.url.removeprefix("http://")
    headers = tc3.sign(
        secret_id=sandbox.app_id if secret_id is None else secret_id,
        secret_key=sandbox.secret if secret_key is None else secret_key,
        service="faceid",
        host=host,
        body=body,
        timestamp=int(time.time()) + timestamp_offset if timestamp is None else timestamp,
    )
    headers.update({"X-TC-Action": action, "X-TC-Version": "2018-03-01"})
    return httpx.post(sandbox.url + "/", content=body + tamper, headers=headers, timeout=10)


def _error_code(response: httpx.Response) -> str:
    assert response.status_code == 200  # errors too: the vendor answers them with HTTP 200
    assert response.headers["content-type"] == "application/json"
    answer = response.json()["Response"]
    assert answer["RequestId"]
    return str(answer["Error"]["Code"])


ID_CARD = {"IdCard": "110101199003079016", "Name": "测试甲"}


def test_a_signed_id_card_verification_answers_from_the_registry(sandbox: SandboxHandle) -> None:
    answer = _post(sandbox, "IdCardVerification", ID_CARD).json()["Response"]
    assert answer["Result"] == "0" and answer["RequestId"]
    other = _post(sandbox, "IdCardVerification", {**ID_CARD, "Name": "测试乙"})
    assert other.json()["Response"]["Result"] == "-1"
    unknown = _post(sandbox, "IdCardVerification", {**ID_CARD, "IdCard": "110101199001019992"})
    assert unknown.json()["Response"]["Result"] == "-5"
    malformed = _post(sandbox, "IdCardVerification", {**ID_CARD, "IdCard": "110101199003079017"})
    assert malformed.json()["Response"]["Result"] == "-2"


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"secret_key": "wrong"}, "AuthFailure.SignatureFailure"),
        ({"secret_id": "AKID-nobody"}, "AuthFailure.SecretIdNotFound"),
        # Offsets from the moment of the call: a timestamp taken at collection goes stale
        # while a long suite runs.
        ({"timestamp_offset": -600}, "AuthFailure.SignatureExpire"),
        ({"timestamp_offset": 600}, "AuthFailure.SignatureExpire"),
        ({"tamper": b" "}, "AuthFailure.SignatureFailure"),
    ],
)
def test_refusals_are_the_vendors_error_envelopes(
    sandbox: SandboxHandle, options: dict[str, Any], code: str
) -> None:
    assert _error_code(_post(sandbox, "IdCardVerification", ID_CARD, **options)) == code


def test_an_unknown_action_or_version_is_refused(sandbox: SandboxHandle) -> None:
    assert _error_code(_post(sandbox, "DescribeInstances", {})) == "InvalidAction"
    body = json.dumps(ID_CARD).encode()
    headers = tc3.sign(
        secret_id=sandbox.app_id,
        secret_key=sandbox.secret,
        service="faceid",
        host=sandbox.url.removeprefix("http://"),
        body=body,
        timestamp=int(time.time()),
    )
    headers.update({"X-TC-Action": "IdCardVerification", "X-TC-Version": "2017-03-12"})
    response = httpx.post(sandbox.url + "/", content=body, headers=headers, timeout=10)
    assert _error_code(response) == "NoSuchVersion"


def test_a_replayed_request_is_answered_again(sandbox: SandboxHandle) -> None:
    """TC3 has no nonce: the vendor accepts the same signed request within the five minutes
    (the sandbox does too); our idempotency lives in the adapter's cache."""
    body = json.dumps(ID_CARD).encode()
    headers = tc3.sign(
        secret_id=sandbox.app_id,
        secret_key=sandbox.secret,
        service="faceid",
        host=sandbox.url.removeprefix("http://"),
        body=body,
        timestamp=int(time.time()),
    )
    headers.update({"X-TC-Action": "IdCardVerification", "X-TC-Version": "2018-03-01"})
    for _ in range(2):
        response = httpx.post(sandbox.url + "/", content=body, headers=headers, timeout=10)
        assert response.json()["Response"]["Result"] == "0"


def test_vendor_trouble_is_an_internal_error(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(fail_next=1)
    assert _error_code(_post(sandbox, "IdCardVerification", ID_CARD)) == "InternalError"
    assert _post(sandbox, "IdCardVerification", ID_CARD).json()["Response"]["Result"] == "0"


def test_vendor_code_faults_force_one_answer(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(vendor_code="Result:-7")
    assert _post(sandbox, "IdCardVerification", ID_CARD).json()["Response"]["Result"] == "-7"
    sandbox.set_faults(vendor_code="Error:RequestLimitExceeded")
    assert _error_code(_post(sandbox, "IdCardVerification", ID_CARD)) == "RequestLimitExceeded"
    assert _post(sandbox, "IdCardVerification", ID_CARD).json()["Response"]["Result"] == "0"


def test_a_face_session_from_detect_auth_to_the_result(sandbox: SandboxHandle) -> None:
    params = {**ID_CARD, "RuleId": "7", "RedirectUrl": "https://realname.example/back?x=1"}
    started = _post(sandbox, "DetectAuth", params).json()["Response"]
    token, url = started["BizToken"], started["Url"]
    assert url.endswith("/face/" + token)
    assert "110101199003079016" not in url

    def text() -> dict[str, Any]:
        query = {"BizToken": token, "RuleId": "7", "InfoType": "1"}
        return dict(_post(sandbox, "GetDetectInfoEnhanced", query).json()["Response"]["Text"])

    assert text()["ErrCode"] == 17
    pressed = httpx.post(url, data={"outcome": "pass"}, timeout=10)
    assert pressed.headers["location"] == f"https://realname.example/back?x=1&token={token}"
    assert text()["ErrCode"] == 0
    wrong_rule = {"BizToken": token, "RuleId": "8", "InfoType": "1"}
    assert (
        _error_code(_post(sandbox, "GetDetectInfoEnhanced", wrong_rule))
        == "InvalidParameterValue.BizTokenIllegal"
    )
    nobody = {"BizToken": str(uuid.uuid4()).upper(), "RuleId": "7", "InfoType": "1"}
    assert (
        _error_code(_post(sandbox, "GetDetectInfoEnhanced", nobody))
        == "InvalidParameterValue.BizTokenIllegal"
    )


def test_each_detect_auth_opens_its_own_session(sandbox: SandboxHandle) -> None:
    """The vendor has no idempotency key: the same request twice opens two sessions."""
    params = {**ID_CARD, "RuleId": "7", "RedirectUrl": "https://realname.example/back"}
    first = _post(sandbox, "DetectAuth", params).json()["Response"]["BizToken"]
    second = _post(sandbox, "DetectAuth", params).json()["Response"]["BizToken"]
    assert first != second


def test_a_missing_rule_id_is_a_missing_parameter(sandbox: SandboxHandle) -> None:
    params = {**ID_CARD, "RedirectUrl": "https://realname.example/back"}
    assert _error_code(_post(sandbox, "DetectAuth", params)) == "MissingParameter"
