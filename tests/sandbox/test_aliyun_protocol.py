"""The sandbox's Aliyun protocol (sandbox/vendors/aliyun.py): its signature code against Aliyun's
published worked examples and the official SDK's signer, and its refusals, answers and
callbacks, spoken to with raw HTTP requests signed by hand."""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from alibabacloud_tea_openapi.utils import Utils as SdkUtils

from sandbox.vendors import aliyun_signing as sig
from tests.sandbox_harness import InProcessSandbox, running_notification_receiver

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
KNOWN_NAME, KNOWN_NUMBER = "测试甲", "110101199003079016"


# -- Aliyun's published worked examples ---------------------------------------------------------


def test_acs3_reproduces_aliyuns_published_example() -> None:
    """The fixed example of "V3版本请求体&签名机制",
    https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature
    (also https://help.aliyun.com/document_detail/2593177.html): RunInstances on ECS, key
    YourAccessKeyId / YourAccessKeySecret, nonce and date fixed."""
    query = {
        "ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
        "RegionId": "cn-shanghai",
    }
    headers = {
        "host": "ecs.cn-shanghai.aliyuncs.com",
        "x-acs-action": "RunInstances",
        "x-acs-content-sha256": EMPTY_SHA256,
        "x-acs-date": "2023-10-26T10:22:32Z",
        "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
        "x-acs-version": "2014-05-26",
    }
    assert sig.sha256_hex(b"") == EMPTY_SHA256
    canonical = sig.acs3_canonical_request(
        method="POST",
        path="/",
        query=query,
        headers=headers,
        signed_headers=sorted(headers),
        payload_hash=EMPTY_SHA256,
    )
    assert sig.sha256_hex(canonical.encode()) == (
        "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    )
    assert sig.acs3_authorization(
        key_id="YourAccessKeyId",
        secret="YourAccessKeySecret",
        method="POST",
        path="/",
        query=query,
        headers=headers,
    ) == (
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;"
        "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    )


def test_rpc_reproduces_aliyuns_published_example() -> None:
    """The fixed example of "V2版本RPC风格请求体&签名机制",
    https://help.aliyun.com/zh/sdk/product-overview/rpc-mechanism: DescribeDedicatedHosts,
    testid / testsecret, GET."""
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeDedicatedHosts",
        "Format": "JSON",
        "RegionId": "cn-beijing",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "edb2b34af0af9a6d14deaf7c1a5315eb",
        "SignatureVersion": "1.0",
        "Timestamp": "2023-03-13T08:34:30Z",
        "Version": "2014-05-26",
    }
    assert sig.rpc_string_to_sign("GET", params).startswith(
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeDedicatedHosts"
    )
    assert "Timestamp%3D2023-03-13T08%253A34%253A30Z" in sig.rpc_string_to_sign("GET", params)
    assert sig.rpc_signature("testsecret", "GET", params) == "9NaGiOspFP5UPcwX8Iwt2YJXXuk="


def test_chinese_values_match_the_official_sdk_signers() -> None:
    """Cross-check (test only) with the SDK's own signing functions on UTF-8 values."""
    params = {"UserName": "测试甲 ~*", "IdentifyNum": KNOWN_NUMBER, "Action": "Id2MetaVerify"}
    assert sig.rpc_signature("s3cret", "POST", params) == SdkUtils.get_rpcsignature(
        params, "POST", "s3cret"
    )

    class SdkRequest:
        method, pathname = "POST", "/"
        query = {"Name": "测试 乙", "Tilde": "a~b*c"}
        headers = {
            "host": "127.0.0.1:8765",
            "x-acs-action": "Id2MetaVerify",
            "x-acs-content-sha256": EMPTY_SHA256,
            "x-acs-date": "2026-01-01T00:00:00Z",
            "x-acs-signature-nonce": "abc",
            "x-acs-version": "2019-03-07",
            "content-type": "application/x-www-form-urlencoded",
        }

    expected = SdkUtils.get_authorization(SdkRequest, sig.ACS3, EMPTY_SHA256, "id", "s3cret")
    ours = sig.acs3_authorization(
        key_id="id",
        secret="s3cret",
        method="POST",
        path="/",
        query=SdkRequest.query,
        headers=SdkRequest.headers,
    )
    assert ours == expected


# -- requests signed by hand --------------------------------------------------------------------


def _acs3(
    sandbox: InProcessSandbox,
    action: str,
    form: dict[str, str],
    *,
    version: str = "2019-03-07",
    secret: str | None = None,
    key_id: str | None = None,
    date: str | None = None,
    nonce: str | None = None,
) -> httpx.Response:
    body = urlencode(form).encode()
    headers = {
        "host": sandbox.url.removeprefix("http://"),
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": date or sig.format_timestamp(time.time()),
        "x-acs-signature-nonce": nonce or secrets.token_hex(16),
        "x-acs-content-sha256": sig.sha256_hex(body),
        "content-type": "application/x-www-form-urlencoded",
    }
    headers["authorization"] = sig.acs3_authorization(
        key_id=sandbox.app_id if key_id is None else key_id,
        secret=sandbox.secret if secret is None else secret,
        method="POST",
        path="/",
        query={},
        headers=headers,
    )
    return httpx.post(sandbox.url + "/", content=body, headers=headers, timeout=10)


def _rpc(
    sandbox: InProcessSandbox,
    action: str,
    form: dict[str, str],
    *,
    secret: str | None = None,
    timestamp: str | None = None,
    nonce: str | None = None,
) -> httpx.Response:
    query = {
        "Action": action,
        "Format": "json",
        "Version": "2019-03-07",
        "Timestamp": timestamp or sig.format_timestamp(time.time()),
        "SignatureNonce": nonce or secrets.token_hex(16),
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "AccessKeyId": sandbox.app_id,
    }
    query["Signature"] = sig.rpc_signature(
        sandbox.secret if secret is None else secret, "POST", {**query, **form}
    )
    return httpx.post(
        sandbox.url + "/",
        params=query,
        data=form,
        headers={"x-acs-action": action, "x-acs-version": "2019-03-07"},
        timeout=10,
    )


ID2META = {"ParamType": "normal", "IdentifyNum": KNOWN_NUMBER, "UserName": KNOWN_NAME}


@pytest.mark.parametrize("call", [_acs3, _rpc])
def test_genuine_calls_are_answered_with_the_registrys_biz_code(
    sandbox_in_process: InProcessSandbox, call: Any
) -> None:
    answer = call(sandbox_in_process, "Id2MetaVerify", ID2META)
    assert answer.status_code == 200
    assert answer.json()["Code"] == "200"
    assert answer.json()["ResultObject"] == {"BizCode": "1"}
    mismatch = call(sandbox_in_process, "Id2MetaVerify", {**ID2META, "UserName": "测试乙"})
    assert mismatch.json()["ResultObject"] == {"BizCode": "2"}


def _refused(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status
    payload = answer.json()
    assert payload["Code"] == code
    assert payload["RequestId"] and payload["HostId"]


def test_acs3_refusals(sandbox_in_process: InProcessSandbox) -> None:
    box = sandbox_in_process
    _refused(_acs3(box, "Id2MetaVerify", ID2META, secret="wrong"), 400, "SignatureDoesNotMatch")
    _refused(
        _acs3(box, "Id2MetaVerify", ID2META, key_id="LTAI-x"), 404, "InvalidAccessKeyId.NotFound"
    )
    stale = sig.format_timestamp(time.time() - 16 * 60)
    _refused(_acs3(box, "Id2MetaVerify", ID2META, date=stale), 400, "InvalidTimeStamp.Expired")
    nonce = secrets.token_hex(16)
    assert _acs3(box, "Id2MetaVerify", ID2META, nonce=nonce).status_code == 200
    _refused(_acs3(box, "Id2MetaVerify", ID2META, nonce=nonce), 400, "SignatureNonceUsed")
    _refused(_acs3(box, "NoSuchAction", ID2META), 404, "InvalidAction.NotFound")


def test_acs3_body_that_does_not_match_its_hash_is_refused(
    sandbox_in_process: InProcessSandbox,
) -> None:
    box = sandbox_in_process
    body = urlencode(ID2META).encode()
    headers = {
        "host": box.url.removeprefix("http://"),
        "x-acs-action": "Id2MetaVerify",
        "x-acs-version": "2019-03-07",
        "x-acs-date": sig.format_timestamp(time.time()),
        "x-acs-signature-nonce": secrets.token_hex(16),
        "x-acs-content-sha256": sig.sha256_hex(body),
        "content-type": "application/x-www-form-urlencoded",
    }
    headers["authorization"] = sig.acs3_authorization(
        key_id=box.app_id, secret=box.secret, method="POST", path="/", query={}, headers=headers
    )
    tampered = body.replace(b"%E7%94%B2", b"%E4%B9%99")  # 甲 -> 乙
    answer = httpx.post(box.url + "/", content=tampered, headers=headers, timeout=10)
    _refused(answer, 400, "SignatureDoesNotMatch")


def test_acs3_with_an_unsigned_acs_header_is_refused(sandbox_in_process: InProcessSandbox) -> None:
    box = sandbox_in_process
    body = urlencode(ID2META).encode()
    headers = {
        "host": box.url.removeprefix("http://"),
        "x-acs-action": "Id2MetaVerify",
        "x-acs-version": "2019-03-07",
        "x-acs-date": sig.format_timestamp(time.time()),
        "x-acs-signature-nonce": secrets.token_hex(16),
        "x-acs-content-sha256": sig.sha256_hex(body),
    }
    headers["authorization"] = sig.acs3_authorization(
        key_id=box.app_id, secret=box.secret, method="POST", path="/", query={}, headers=headers
    )
    headers["x-acs-extra"] = "added by someone on the way"
    headers["content-type"] = "application/x-www-form-urlencoded"
    answer = httpx.post(box.url + "/", content=body, headers=headers, timeout=10)
    _refused(answer, 400, "IncompleteSignature")


def test_rpc_refusals(sandbox_in_process: InProcessSandbox) -> None:
    box = sandbox_in_process
    _refused(_rpc(box, "Id2MetaVerify", ID2META, secret="wrong"), 400, "SignatureDoesNotMatch")
    stale = sig.format_timestamp(time.time() + 16 * 60)
    _refused(_rpc(box, "Id2MetaVerify", ID2META, timestamp=stale), 400, "InvalidTimeStamp.Expired")
    nonce = secrets.token_hex(16)
    assert _rpc(box, "Id2MetaVerify", ID2META, nonce=nonce).status_code == 200
    _refused(_rpc(box, "Id2MetaVerify", ID2META, nonce=nonce), 400, "SignatureNonceUsed")


def test_faults_answer_aliyuns_envelopes(sandbox_in_process: InProcessSandbox) -> None:
    box = sandbox_in_process
    assert box.service is not None
    box.service._set_faults({"fail_next": 1})
    _refused(_acs3(box, "Id2MetaVerify", ID2META), 503, "ServiceUnavailable")
    box.service._set_faults({"vendor_code": "Throttling.User"})
    _refused(_acs3(box, "Id2MetaVerify", ID2META), 400, "Throttling.User")
    box.service._set_faults({"vendor_code": "418"})
    answer = _acs3(box, "Id2MetaVerify", ID2META)
    assert answer.status_code == 200 and answer.json()["Code"] == "418"
    assert _acs3(box, "Id2MetaVerify", ID2META).json()["Code"] == "200"  # used up once


def test_missing_parameter_is_business_code_400(sandbox_in_process: InProcessSandbox) -> None:
    answer = _acs3(sandbox_in_process, "Id2MetaVerify", {"ParamType": "normal"})
    assert answer.status_code == 200 and answer.json()["Code"] == "400"


def test_enterprise_check_speaks_version_2022(sandbox_in_process: InProcessSandbox) -> None:
    form = {
        "SceneCode": "scene_1",
        "MerchantBizId": "biz1",
        "MerchantUserId": "user1",
        "InfoVerifyType": "ENT_3META",
        "EntName": "沙箱演示科技有限公司",
        "LicenseNo": "91110108MA0000901G",
        "LegalPersonName": "测试乙",
        "UserAuthorization": "1",
    }
    answer = _acs3(sandbox_in_process, "EntElementVerify", form, version="2022-11-25")
    result = answer.json()["Result"]
    assert result["BizCode"] == "2" and result["ReasonDetail"] == "LegalPersonNameFlag"
    wrong_version = _acs3(sandbox_in_process, "EntElementVerify", form)
    _refused(wrong_version, 404, "InvalidAction.NotFound")


# -- face sessions and callbacks ----------------------------------------------------------------


def _init(box: InProcessSandbox, callback_url: str, **extra: str) -> httpx.Response:
    form = {
        "SceneId": "1000000001",
        "OuterOrderNo": secrets.token_hex(16),
        "ProductCode": "ID_PRO",
        "CertType": "IDENTITY_CARD",
        "CertName": KNOWN_NAME,
        "CertNo": KNOWN_NUMBER,
        "MetaInfo": '{"deviceType":"h5"}',
        "ReturnUrl": "https://realname.example/back",
        "CallbackUrl": callback_url,
        "CallbackToken": "token-of-ours",
        **extra,
    }
    return _acs3(box, "InitFaceVerify", form)


def test_face_session_is_pending_until_decided_then_called_back_and_described(
    sandbox_in_process: InProcessSandbox,
) -> None:
    box = sandbox_in_process
    with running_notification_receiver(fail_first=2) as receiver:
        opened = _init(box, receiver.url).json()
        assert opened["Code"] == "200"
        certify_id = opened["ResultObject"]["CertifyId"]
        url = opened["ResultObject"]["CertifyUrl"]
        describe = {"SceneId": "1000000001", "CertifyId": certify_id}
        assert _acs3(box, "DescribeFaceVerify", describe).json()["Code"] == "424"

        pressed = httpx.post(url, data={"outcome": "pass"}, timeout=10)
        assert pressed.status_code == 303
        assert pressed.headers["location"] == "https://realname.example/back"
        # Not answered 200 twice: Aliyun tries twice more within 3 s.
        calls = [receiver.wait(timeout=5) for _ in range(3)]
    for call in calls:
        assert call.method == "GET"
        assert call.query == {
            "certifyId": certify_id,
            "passed": "200",
            "callbackToken": "token-of-ours",
        }
    described = _acs3(box, "DescribeFaceVerify", describe).json()
    assert described["ResultObject"]["Passed"] == "T"
    assert described["ResultObject"]["SubCode"] == "200"
    other_scene = _acs3(box, "DescribeFaceVerify", {**describe, "SceneId": "2"}).json()
    assert other_scene["Code"] == "424"


def test_a_failed_face_is_sub_code_205_and_duplicated_callbacks_repeat(
    sandbox_in_process: InProcessSandbox,
) -> None:
    box = sandbox_in_process
    assert box.service is not None
    box.service._set_faults({"callback_duplicates": 1})
    with running_notification_receiver() as receiver:
        opened = _init(box, receiver.url).json()["ResultObject"]
        httpx.post(opened["CertifyUrl"], data={"outcome": "fail"}, timeout=10)
        first, second = receiver.wait(), receiver.wait()
    assert first.query == second.query
    assert first.query["passed"] == "205"


def test_callback_url_must_be_https_unless_it_is_loopback(
    sandbox_in_process: InProcessSandbox,
) -> None:
    box = sandbox_in_process
    assert _init(box, "http://realname.example/notify/").json()["Code"] == "401"
    assert _init(box, "https://realname.example/notify/").json()["Code"] == "200"
    assert _init(box, "http://127.0.0.1:9/notify/").json()["Code"] == "200"


def test_the_same_outer_order_no_opens_one_session(sandbox_in_process: InProcessSandbox) -> None:
    box = sandbox_in_process
    order = secrets.token_hex(16)
    first = _init(box, "https://realname.example/n/", OuterOrderNo=order).json()
    again = _init(box, "https://realname.example/n/", OuterOrderNo=order).json()
    assert first["ResultObject"]["CertifyId"] == again["ResultObject"]["CertifyId"]
    other = _init(box, "https://realname.example/n/", OuterOrderNo=order, CertName="测试乙")
    assert other.json()["Code"] == "401"


def test_an_expired_session_stays_not_found(sandbox_in_process: InProcessSandbox) -> None:
    """Aliyun never says "expired": an abandoned session is 424 for ever."""
    box = sandbox_in_process
    opened = _init(box, "https://realname.example/n/").json()["ResultObject"]
    box.clock.advance(15 * 60 + 1)
    describe = {"SceneId": "1000000001", "CertifyId": opened["CertifyId"]}
    assert _acs3(box, "DescribeFaceVerify", describe).json()["Code"] == "424"
