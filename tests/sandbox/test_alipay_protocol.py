"""The sandbox's Alipay gateway: its signature code against Alipay's published examples, and
its refusals.

Vectors. Alipay's "自行实现签名" page publishes how the string to sign is built, with an example
(docs.open.alipay.com/291/106118; read in the copies at juejin.cn/post/6844903816484110349 and
git.aopcloud.com/k/SOP .../sop-website/website-front/pages/doc/sign.html); its ``sign`` was made
with an unpublished 1024-bit key, so it cannot be reproduced. Real RSA2 signatures made by
Alipay, with the public keys that verify them, are published in Alipay's own SDK tests
(github.com/alipay/alipay-sdk-nodejs-all, test/alipay.test.ts ``checkNotifySign`` and
test/fixtures/alipay-notify-sign-public-key-v2.pem): those are the signature vectors."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from sandbox.vendors import alipay_signing as signing
from sandbox.vendors.alipay import SHANGHAI
from tests.sandbox_harness import (
    InProcessSandbox,
    _alipay_public_key,
    alipay_app_key_pair,
    build_sandbox_service,
    running_sandbox_in_process,
    serve_in_thread,
)

# -- Alipay's published string-to-sign example ------------------------------------------------

MENU = (
    '{"button":[{"actionParam":"ZFB_HFCZ","actionType":"out","name":"话费充值"},{"name":"查询",'
    '"subButton":[{"actionParam":"ZFB_YECX","actionType":"out","name":"余额查询"},'
    '{"actionParam":"ZFB_LLCX","actionType":"out","name":"流量查询"},'
    '{"actionParam":"ZFB_HFCX","actionType":"out","name":"话费查询"}]},'
    '{"actionParam":"http://m.alipay.com","actionType":"link","name":"最新优惠"}]}'
)
PUBLISHED_REQUEST = {
    "app_id": "2014072300007148",
    "method": "alipay.mobile.public.menu.add",
    "charset": "GBK",
    "sign_type": "RSA2",
    "timestamp": "2014-07-24 03:07:50",
    "biz_content": MENU,
    "sign": "e9zEAe4TTQ4LPLQvETPoLGXTiURcxiAKfMVQ6Hrrsx2hmyIEGvSfAQzbLxHrhyZ48wOJXTsD4FPnt+YGd"
    "K57+fP1BCbf9rIVycfjhYCqlFhbTu9pFnZgT55W+xbAFb9y7vL0MyAxwXUXvZtQVqEwW7pURtKilbcBTEW7TAxzgro=",
    "version": "1.0",
}
PUBLISHED_CONTENT = (
    "app_id=2014072300007148&biz_content="
    + MENU
    + "&charset=GBK&method=alipay.mobile.public.menu.add&sign_type=RSA2"
    "&timestamp=2014-07-24 03:07:50&version=1.0"
)

# -- real Alipay signatures from alipay-sdk-nodejs-all's tests ----------------------------------

NOTIFY_PUBLIC_KEY_V2 = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAk6DCsBIUhWriFohzRV8F
ic6oQWNnLKKILNk97VU5qcHEuxYzCujKoyva5gy1170mFJw4IcgJF8AyS7iDUwzA
wF4Pp9CpWxDhUhe7mdQJhjBmvTcPLGFFrzlj6unO5lAcbdwaxPUtSxOaNxPJGrTK
/wnKQSbjTMMltp1J68q2Tfgrsn/NdZ6lrxO9rvmky8kowqaH5NjntyHO59jCGabM
j5sI14z8N61wB/QuIJrDuzIPMPrSNbq0cOWcSCDG09oUHTp9fk7suDB8UiFcmVTX
OvK3d4HbeX8V9YsEMxrwxEoYgRRj6K2qrC6oxw480cqf2ueumCmHg6xrcgkyXK81
hwIDAQAB
-----END PUBLIC KEY-----"""
# Signed like a request: every parameter but ``sign``, sign_type included, Chinese values as
# UTF-8, nothing URL-encoded (test "verify sign should not delete sign_type").
SERVICEMARKET_NOTIFY = {
    "app_id": "2017122801303261",
    "charset": "UTF-8",
    "commodity_order_id": "2019030800000018079639",
    "contactor": "技术支持测试的公司",
    "merchant_pid": "2088721996721370",
    "method": "alipay.open.servicemarket.order.notify",
    "name": "技术支持测试的公司",
    "notify_id": "2019030800222102023008121054923345",
    "notify_time": "2019-03-08 10:20:23",
    "notify_type": "servicemarket_order_notify",
    "order_item_num": "1",
    "order_ticket": "29b1c37d99ab48c5bd5bdaeaeaefbB37",
    "order_time": "2019-03-08 10:20:08",
    "phone": "17826894615",
    "service_code": "58621634",
    "sign": "MsK5SCw8oqLw4f0hiNSd5OVGXxBY3wnQeT8vn5PklJSZFWSZbK4hQbNvkp4ZezeXQH514cEv0ul6Qow8yh6e6"
    "yM06LfEL+EZjcpZ0nxzFGRNQ5qq2AUc1OaXQdk92AGvxh+Iq4NGpPQFBd4D8EBJa3NJd8+czMfQskceosOQFqUtLQ"
    "MYa5DPs+VpN7VM5BdXjaVIuKn5d9Wm2B9dI9ObIM+YRySDkZZPv14DVmUvcrcqJfOR8aHvtSd7B4l92wUQPQgQKN"
    "cOQho7xOHS/Bk+Y74AZL2y7TkNmdDoq9OGsThuF5tDW9rI9nVwXxOtsuB+bstra+W7aw9x9DvkKgdSRw==",
    "sign_type": "RSA2",
    "timestamp": "2019-03-08 10:20:23",
    "title": "麦禾商城模版",
    "total_price": "0.00",
    "version": "1.0",
}
NOTIFY_PUBLIC_KEY_V1 = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqObrdC7hrgAVM98tK0nv3hSQRGGKT4lBsQjHiGjeYZjOPIPH"
    "R5knm2jnnz/YGIXIofVHkA/tAlBAd5DrY7YpvI4tP5EONLtZKC2ghBMx7McI2wRD0xiqzxOQr1FuhZGJ8/AUokBzJrzY"
    "+aGX2xcOrxFYRlFilvVLTXg4LWjR1tdPkO6+i7wQZAIVMClPkwVRZEbaERRHlKqTzv2gGv5rDU8gRoe1LeaN+6BlbTqH"
    "WkQcNCUNrA8C6l17XAXGKDsm/9TFWwO8EPHHHCaQdjtV5/FdcWIt+L8SR1ss7EXTjYDFtxcKVv9rEoY1lX8T4mX+GbXf"
    "ZHraG5NCF1+XioL5JwIDAQAB"
)  # bare base64, as Alipay's console shows keys (and as that test gives it)
# A trade notification: sign and sign_type both left out (test "verify sign should delete
# sign_type"); fund_bill_list arrives as the JSON text below.
TRADE_NOTIFY = {
    "gmt_create": "2019-08-15 15:56:22",
    "charset": "utf-8",
    "seller_email": "z97-yuquerevenue@service.aliyun.com",
    "subject": "语雀空间 500人规模",
    "sign": "QfTb8tqE1BMhS5qAnXtvsF3/jBkEvu9q9en0pdbBUDDjvKycZhQb7h8GDs4FKfi049PynaNuatxSgLb/nLWZp"
    "Xyyh0LEWdK2S6Ri7nPwrVgOs08zugLO20vOQz44y3ti2Ncm8/wZts1Fr2gZ7pShnVX3d1B50hbsXnObT1r/U8ONNQj"
    "WXd0HIul4TG+Q3fm3svmSvFEy0WnzuhcyHPX5Gm4ELNctL6Qd5YniGJFNcc7kopHYtI/XD9YCKCH6Ct02rzUs9i11C"
    "9CsadtZn+WhxF26Dqt9sGEFajkJ8cxUTLi8+VCpLHsgPE8P0y095uQcDdK0YjCh4x7wVSov+lrmOQ==",
    "buyer_id": "2088102534368455",
    "invoice_amount": "0.10",
    "notify_id": "2019081500222155624068450559358070",
    "fund_bill_list": '[{"amount":"0.10","fundChannel":"ALIPAYACCOUNT"}]',
    "notify_type": "trade_status_sync",
    "trade_status": "TRADE_SUCCESS",
    "receipt_amount": "0.10",
    "buyer_pay_amount": "0.10",
    "sign_type": "RSA2",
    "app_id": "2019073166072302",
    "seller_id": "2088531891668739",
    "gmt_payment": "2019-08-15 15:56:24",
    "notify_time": "2019-08-15 15:56:25",
    "version": "1.0",
    "out_trade_no": "20190815155618536-564-57",
    "total_amount": "0.10",
    "trade_no": "2019081522001468450512505578",
    "auth_app_id": "2019073166072302",
    "buyer_logon_id": "xud***@126.com",
    "point_amount": "0.00",
}
# The SDK's getSignStr cases: the signed text is the *_response object exactly as sent.
UPLOAD_INNER = (
    '{"code":"10000","msg":"Success","image_id":"Zp1Nm6FDTZaEuSSniGd5awAAACMAAQED",'
    '"image_url":"http:\\/\\/oalipay-dl-django.alicdn.com\\/rest\\/1.0\\/image?fileIds='
    'Zp1Nm6FDTZaEuSSniGd5awAAACMAAQED&zoom=original"}'
)
UPLOAD_KEY = "alipay_offline_material_image_upload_response"


def test_published_string_to_sign_is_rebuilt_exactly() -> None:
    assert signing.content_to_sign(PUBLISHED_REQUEST) == PUBLISHED_CONTENT


def test_empty_values_are_left_out_of_the_string_to_sign() -> None:
    assert signing.content_to_sign({"b": "2", "a": "", "sign": "x", "c": "3"}) == "b=2&c=3"


def test_alipays_own_request_style_signature_verifies() -> None:
    key = signing.load_public_key(NOTIFY_PUBLIC_KEY_V2)
    content = signing.content_to_sign(SERVICEMARKET_NOTIFY)
    assert signing.verify(content, SERVICEMARKET_NOTIFY["sign"], key)
    tampered = dict(SERVICEMARKET_NOTIFY, service_code="58621634111")  # the SDK's "verify fail"
    assert not signing.verify(signing.content_to_sign(tampered), tampered["sign"], key)
    encoded = content.replace("技术支持测试的公司", "%E6%8A%80")  # URL-encoding breaks it
    assert not signing.verify(encoded, SERVICEMARKET_NOTIFY["sign"], key)


def test_alipays_notification_signature_verifies_with_a_bare_key() -> None:
    key = signing.load_public_key(NOTIFY_PUBLIC_KEY_V1)
    content = signing.content_to_sign(TRADE_NOTIFY, exclude=("sign", "sign_type"))
    assert signing.verify(content, TRADE_NOTIFY["sign"], key)
    assert not signing.verify(signing.content_to_sign(TRADE_NOTIFY), TRADE_NOTIFY["sign"], key)


@pytest.mark.parametrize(
    "raw",
    [
        f'{{"{UPLOAD_KEY}":{UPLOAD_INNER},"sign":"P8x"}}',
        f'{{"{UPLOAD_KEY}"\n        :\n        {UPLOAD_INNER},\n\n  "sign"  :  "P8x"}}',
    ],
    ids=["normal", "whitespace"],
)
def test_the_signed_response_text_is_the_object_as_sent(raw: str) -> None:
    assert signing.response_substring(raw, UPLOAD_KEY) == UPLOAD_INNER


def test_a_sign_key_inside_the_data_does_not_end_the_object() -> None:
    inner = UPLOAD_INNER.replace('"msg"', '"sign":"xxx","msg"')
    raw = f'{{"{UPLOAD_KEY}":{inner},"sign":"P8x"}}'
    assert signing.response_substring(raw, UPLOAD_KEY) == inner
    assert signing.response_substring('{"a":"{}","b":{"c":"}"}}', "b") == '{"c":"}"}'


def test_pkcs1_and_pkcs8_private_keys_load() -> None:
    private_pem, _ = signing.generate_key_pair()
    key = signing.load_private_key(private_pem)
    pkcs1 = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    bare_pkcs1 = "".join(line for line in pkcs1.splitlines() if not line.startswith("-----"))
    for text in (private_pem, pkcs1, bare_pkcs1):
        assert signing.load_private_key(text).private_numbers() == key.private_numbers()


# -- the gateway ----------------------------------------------------------------------------------


@pytest.fixture
def gateway() -> Iterator[InProcessSandbox]:
    with running_sandbox_in_process() as sandbox:
        yield sandbox


def _params(sandbox: InProcessSandbox, method: str, biz: dict[str, object], **common: str):
    params = {
        "app_id": sandbox.app_id,
        "method": method,
        "format": "JSON",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "timestamp": datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
        "version": "1.0",
        "biz_content": json.dumps(biz, ensure_ascii=False),
        **common,
    }
    key = signing.load_private_key(sandbox.alipay_app_private_key)
    params["sign"] = signing.sign(signing.content_to_sign(params), key)
    return params


def _call(sandbox: InProcessSandbox, params: dict[str, str]) -> tuple[dict[str, str], bool]:
    """(the *_response object, whether Alipay's signature on it verifies)."""
    body = {"biz_content": params.pop("biz_content")}
    response = httpx.post(sandbox.url + "/gateway.do", params=params, data=body, timeout=10)
    assert response.status_code == 200
    raw = response.text
    envelope = json.loads(raw)
    key = signing.response_key(params["method"])
    inner = signing.response_substring(raw, key)
    assert inner is not None
    public_key = signing.load_public_key(sandbox.alipay_public_key)
    verified = "sign" in envelope and signing.verify(inner, envelope["sign"], public_key)
    return envelope[key], verified


QUERY = "alipay.user.certify.open.query"


def test_unknown_certify_id_is_answered_signed(gateway: InProcessSandbox) -> None:
    answer, verified = _call(gateway, _params(gateway, QUERY, {"certify_id": "0" * 32}))
    assert (answer["code"], answer["sub_code"]) == ("40004", "OPEN_CERTIFY_BILL_NOT_EXIST")
    assert verified


def test_bad_signature_is_refused(gateway: InProcessSandbox) -> None:
    params = _params(gateway, QUERY, {"certify_id": "0" * 32})
    params["biz_content"] = json.dumps({"certify_id": "1" * 32})  # changed after signing
    answer, verified = _call(gateway, params)
    assert (answer["code"], answer["sub_code"]) == ("40002", "isv.invalid-signature")
    assert verified


def test_stale_timestamp_is_refused(gateway: InProcessSandbox) -> None:
    stale = (datetime.now(SHANGHAI) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    answer, _ = _call(gateway, _params(gateway, QUERY, {"certify_id": "0"}, timestamp=stale))
    assert (answer["code"], answer["sub_code"]) == ("40002", "isv.invalid-timestamp")


def test_utc_timestamp_is_refused_as_alipay_reads_beijing_time(gateway: InProcessSandbox) -> None:
    utc = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    answer, _ = _call(gateway, _params(gateway, QUERY, {"certify_id": "0"}, timestamp=utc))
    assert answer["sub_code"] == "isv.invalid-timestamp"


def test_unknown_app_is_refused_unsigned(gateway: InProcessSandbox) -> None:
    answer, verified = _call(gateway, _params(gateway, QUERY, {"certify_id": "0"}, app_id="x"))
    assert (answer["code"], answer["sub_code"]) == ("40002", "isv.invalid-app-id")
    assert not verified


def test_replayed_request_is_answered_again(gateway: InProcessSandbox) -> None:
    """Alipay's request signature has no nonce: a replay within the time window is answered
    like the first call (a query changes nothing, and initialize is once per outer_order_no)."""
    params = _params(gateway, QUERY, {"certify_id": "0" * 32})
    first, _ = _call(gateway, dict(params))
    again, _ = _call(gateway, dict(params))
    assert first == again


def test_without_the_apps_public_key_every_call_is_refused() -> None:
    service = build_sandbox_service(secret="s", app_id="realname-test", clock=time.time)
    with serve_in_thread(service) as url:
        sandbox = InProcessSandbox(
            url=url,
            secret="s",
            app_id="realname-test",
            alipay_app_private_key=alipay_app_key_pair()[0],
            alipay_public_key=_alipay_public_key(url),
        )
        answer, _ = _call(sandbox, _params(sandbox, QUERY, {"certify_id": "0"}))
    assert answer["sub_code"] == "isv.invalid-signature"


def test_certify_url_redirects_to_the_face_page_once_verified(gateway: InProcessSandbox) -> None:
    biz: dict[str, object] = {
        "outer_order_no": "a" * 32,
        "biz_code": "FACE",
        "identity_param": {
            "identity_type": "CERT_INFO",
            "cert_type": "IDENTITY_CARD",
            "cert_name": "张三",
            "cert_no": "110101199003079016",
        },
        "merchant_config": {"return_url": "https://realname.example/back"},
    }
    answer, verified = _call(gateway, _params(gateway, "alipay.user.certify.open.initialize", biz))
    assert answer["code"] == "10000" and verified
    params = _params(
        gateway, "alipay.user.certify.open.certify", {"certify_id": answer["certify_id"]}
    )
    page = httpx.get(f"{gateway.url}/gateway.do?{urlencode(params)}", timeout=10)
    assert page.status_code == 302
    assert page.headers["location"].endswith("/face/" + answer["certify_id"])
    params["sign"] = params["sign"][:-4] + "AAA="
    forged = httpx.get(f"{gateway.url}/gateway.do?{urlencode(params)}", timeout=10)
    assert forged.status_code == 400 and b"isv.invalid-signature" in forged.content


def test_alipays_public_key_is_served(gateway: InProcessSandbox) -> None:
    assert gateway.alipay_public_key.startswith("-----BEGIN PUBLIC KEY-----")
    signing.load_public_key(gateway.alipay_public_key)


def test_alipay_s_key_kept_in_a_file_survives_a_restart(tmp_path) -> None:
    """``run_sandbox_provider --alipay-key-file``: the dev stack restarts a crashed sandbox, and
    web and worker still trust the Alipay public key they were given at the first start."""
    from sandbox.management.commands.run_sandbox_provider import _alipay_private_key
    from sandbox.registry import Registry
    from sandbox.service import SandboxConfig, SandboxService
    from sandbox.vendors import serve_vendors
    from sandbox.vendors.alipay_signing import load_private_key, public_pem

    key_file = tmp_path / "alipay-sandbox-private.pem"
    first = _alipay_private_key(str(key_file))
    assert key_file.stat().st_mode & 0o077 == 0
    assert _alipay_private_key(str(key_file)) == first

    def served_public_key(private: str) -> str:
        service = serve_vendors(
            SandboxService(
                SandboxConfig(
                    app_id="a",
                    secret="s",
                    public_url="http://127.0.0.1",
                    registry=Registry.from_csv(),
                    alipay_private_key=private,
                )
            )
        )
        alipay = next(p for p in service._vendors if p.name == "alipay")
        return alipay.public_key_pem

    assert (
        served_public_key(first) == served_public_key(first) == public_pem(load_private_key(first))
    )
    assert served_public_key("") != served_public_key("")  # without a file: new at each start
