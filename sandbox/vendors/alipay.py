"""The sandbox speaking Alipay's open platform gateway (``alipay.user.certify.open.*``).

Keys. Alipay signs with RSA, never with a shared secret: the app signs its requests with its
private key and Alipay verifies them with the app's public key (uploaded in Alipay's console);
Alipay signs its answers with *its* private key and the app verifies them with "Alipay's public
key" from the console. So here:

* at start the protocol makes its own RSA-2048 key pair, playing Alipay's; its public key is
  served, unsigned, at ``GET /_alipay/public-key`` (PEM): configure it as ``ALIPAY_PUBLIC_KEY``;
* the app's public key is given to the sandbox (``run_sandbox_provider --alipay-app-public-key
  PATH`` or ``SANDBOX_PROVIDER_ALIPAY_APP_PUBLIC_KEY``). Without it every signed call is refused
  as ``40002 isv.invalid-signature`` (the real gateway's answer when the uploaded key does not
  match), which ``check_provider alipay`` reports as a signature problem.

The app id is the sandbox's app id. Endpoints (``/gateway.do``):

* ``alipay.user.certify.open.initialize`` (POST): opens a face session on the shared face page,
  once per ``outer_order_no``; answers ``certify_id``. The name and number are checked against
  the registry here but, as at Alipay, the answer only shows in the session's result.
* ``alipay.user.certify.open.certify`` (a signed GET URL the app builds itself): verified, then
  302 to the face page. After the person decides, the face page sends the browser to
  ``merchant_config.return_url`` with nothing added, as Alipay does.
* ``alipay.user.certify.open.query`` (POST): ``passed`` "T" only when the person passed the face
  step and the registry holds the name with the number; "F" otherwise, *including while the
  person has not finished* (Alipay documents no way to tell the two apart). An unknown
  ``certify_id``: ``40004 OPEN_CERTIFY_BILL_NOT_EXIST``.

Faults: ``vendor_trouble()`` answers ``20000 isp.unknow-error``; ``vendor_code`` forces the next
call's answer, written ``"CODE:sub_code"`` (``"40004:OPEN_CERTIFY_BILL_NOT_EXIST"``,
``"20000:isp.unknow-error"``) or a bare ``sub_code`` (code 40004); ``bad_signatures`` signs the
next N answers with a key that is not Alipay's. Time stamps older or newer than
:data:`TIMESTAMP_WINDOW_SECONDS` are refused as ``isv.invalid-timestamp``."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric import rsa

from ..service import _Response
from . import alipay_signing as signing

if TYPE_CHECKING:
    from ..service import SandboxService, Session, VendorRequest

GATEWAY_PATH = "/gateway.do"
PUBLIC_KEY_PATH = "/_alipay/public-key"
SHANGHAI = ZoneInfo("Asia/Shanghai")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
#: Alipay publishes no window; the sandbox refuses a clock more than this far off.
TIMESTAMP_WINDOW_SECONDS = 15 * 60
INITIALIZE = "alipay.user.certify.open.initialize"
CERTIFY = "alipay.user.certify.open.certify"
QUERY = "alipay.user.certify.open.query"
#: Alipay's cert_type -> the registry's document type.
CERT_TYPES = {
    "IDENTITY_CARD": "cn_resident_id",
    "HOME_VISIT_PERMIT_HK_MC": "hk_mo_travel_permit",
    "HOME_VISIT_PERMIT_TAIWAN": "tw_travel_permit",
    "RESIDENCE_PERMIT_HK_MC": "hk_mo_residence_permit",
    "RESIDENCE_PERMIT_TAIWAN": "tw_residence_permit",
}
#: The gateway's words for each code (Alipay's common error codes, doc 105806, mirrored at
#: open.alitrip.com/docs/doc.htm?articleId=105806&docType=1&treeId=262).
_MESSAGES = {
    "10000": "Success",
    "20000": "Service Currently Unavailable",
    "20001": "Insufficient Token Permissions",
    "40001": "Missing Required Arguments",
    "40002": "Invalid Arguments",
    "40003": "Insufficient Conditions",
    "40004": "Business Failed",
    "40006": "Insufficient Permissions",
}


class _Refusal(Exception):
    def __init__(self, code: str, sub_code: str, sub_msg: str = "") -> None:
        super().__init__(sub_code)
        self.code, self.sub_code, self.sub_msg = code, sub_code, sub_msg


class AlipayProtocol:
    name = "alipay"

    def __init__(self, service: SandboxService) -> None:
        self.service = service
        private_pem = service.config.alipay_private_key
        if private_pem:
            self._private_key = signing.load_private_key(private_pem)
            self.public_key_pem = signing.public_pem(self._private_key)
        else:
            private_pem, self.public_key_pem = signing.generate_key_pair()
            self._private_key = signing.load_private_key(private_pem)
        self._wrong_key = signing.load_private_key(signing.generate_key_pair()[0])
        app_key = service.config.alipay_app_public_key
        self._app_public_key: rsa.RSAPublicKey | None = (
            signing.load_public_key(app_key) if app_key.strip() else None
        )

    def claims(self, method: str, path: str, headers: Mapping[str, str]) -> bool:
        return path in (GATEWAY_PATH, PUBLIC_KEY_PATH)

    def handle(self, request: VendorRequest) -> _Response:
        if request.path == PUBLIC_KEY_PATH:
            if request.method != "GET":
                return _Response(405, b"", content_type="text/plain", headers=[("Allow", "GET")])
            return _Response(
                200, self.public_key_pem.encode("ascii"), content_type="application/x-pem-file"
            )
        params = dict(parse_qsl(request.query, keep_blank_values=True))
        if request.method == "POST" and request.body:
            params.update(
                parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
            )
        method = params.get("method", "")
        if request.method == "GET" and method == CERTIFY:
            return self._certify_page(params)
        if request.method != "POST":
            return _Response(405, b"", content_type="text/plain", headers=[("Allow", "POST")])
        try:
            self._check_common(params)
            if self.service.vendor_trouble():
                raise _Refusal("20000", "isp.unknow-error", "服务暂不可用")
            forced = self.service.take_vendor_code()
            if forced:
                code, _, sub_code = forced.rpartition(":")
                raise _Refusal(code or "40004", sub_code, "forced by the sandbox's faults")
            biz = _biz_content(params)
            if method == INITIALIZE:
                payload = self._initialize(biz)
            elif method == QUERY:
                payload = self._query(biz)
            else:
                raise _Refusal("40002", "isv.invalid-method", "不存在的方法名")
        except _Refusal as refusal:
            return self._answer(method or "error", _error(refusal), signed=_signed(refusal))
        return self._answer(method, {"code": "10000", "msg": "Success", **payload})

    # -- the gateway's checks -------------------------------------------------------------------

    def _check_common(self, params: Mapping[str, str]) -> None:
        """In the order the gateway reports them: missing, then invalid, then the signature."""
        for name, sub_code in (
            ("app_id", "isv.missing-app-id"),
            ("method", "isv.missing-method"),
            ("sign", "isv.missing-signature"),
            ("sign_type", "isv.missing-signature-type"),
            ("timestamp", "isv.missing-timestamp"),
            ("version", "isv.missing-version"),
        ):
            if not params.get(name):
                raise _Refusal("40001", sub_code)
        if params["app_id"] != self.service.config.app_id:
            raise _Refusal("40002", "isv.invalid-app-id", "无效的AppID参数")
        if params["sign_type"] != "RSA2":
            raise _Refusal("40002", "isv.invalid-signature-type", "无效签名类型")
        if params.get("charset", "utf-8").lower() != "utf-8":
            raise _Refusal("40002", "isv.invalid-charset", "字符集错误")
        try:
            sent = datetime.strptime(params["timestamp"], TIMESTAMP_FORMAT).replace(tzinfo=SHANGHAI)
        except ValueError:
            raise _Refusal("40002", "isv.invalid-timestamp", "非法的时间戳参数") from None
        if abs(sent.timestamp() - time.time()) > TIMESTAMP_WINDOW_SECONDS:
            raise _Refusal("40002", "isv.invalid-timestamp", "非法的时间戳参数")
        if self._app_public_key is None or not signing.verify(
            signing.content_to_sign(params), params["sign"], self._app_public_key
        ):
            raise _Refusal("40002", "isv.invalid-signature", "验签出错")

    # -- the methods ------------------------------------------------------------------------

    def _initialize(self, biz: Mapping[str, Any]) -> dict[str, str]:
        order = biz.get("outer_order_no")
        if not isinstance(order, str) or not order.isalnum() or len(order) > 32:
            raise _Refusal("40002", "isv.invalid-parameter", "outer_order_no")
        if biz.get("biz_code") != "FACE":
            raise _Refusal("40002", "isv.invalid-parameter", "biz_code")
        identity = biz.get("identity_param")
        merchant = biz.get("merchant_config")
        if not isinstance(identity, dict) or not isinstance(merchant, dict):
            raise _Refusal("40002", "isv.invalid-parameter", "identity_param")
        document_type = CERT_TYPES.get(str(identity.get("cert_type")))
        name, number = identity.get("cert_name"), identity.get("cert_no")
        if (
            identity.get("identity_type") != "CERT_INFO"
            or document_type is None
            or not isinstance(name, str)
            or not name.strip()
            or not isinstance(number, str)
            or not number.strip()
        ):
            raise _Refusal("40002", "isv.invalid-parameter", "identity_param")
        return_url = merchant.get("return_url")
        if not isinstance(return_url, str) or urlsplit(return_url).scheme not in ("http", "https"):
            raise _Refusal("40002", "isv.invalid-parameter", "merchant_config.return_url")
        result, _ = self.service.check_person(
            name=name, document_number=number, document_type=document_type
        )
        digest = hashlib.sha256(
            json.dumps([name, document_type, number, return_url]).encode()
        ).hexdigest()
        session = self.service.open_session(
            vendor=self.name,
            request_id=order,
            digest=digest,
            name=name,
            return_url=return_url,
            new_ref=lambda: secrets.token_hex(16),
            data={"registry_passed": result == "pass"},
        )
        if session is None:
            raise _Refusal("40004", "OUTER_ORDER_NO_REPEAT", "outer_order_no used for another")
        return {"certify_id": session.ref}

    def _find(self, biz: Mapping[str, Any]) -> tuple[Session, str]:
        certify_id = biz.get("certify_id")
        found = (
            self.service.session(certify_id, vendor=self.name)
            if isinstance(certify_id, str)
            else None
        )
        if found is None:
            raise _Refusal("40004", "OPEN_CERTIFY_BILL_NOT_EXIST", "无效的certify_id")
        return found

    def _query(self, biz: Mapping[str, Any]) -> dict[str, str]:
        session, status = self._find(biz)
        passed = status == "pass" and bool(session.data.get("registry_passed"))
        return {"passed": "T" if passed else "F"}

    def _certify_page(self, params: Mapping[str, str]) -> _Response:
        """The page URL the app builds: verified like any call, then on to the face page."""
        try:
            self._check_common(params)
            session, _ = self._find(_biz_content(params))
        except _Refusal as refusal:
            text = f"{refusal.code} {refusal.sub_code}".encode()
            return _Response(400, text, content_type="text/plain; charset=utf-8")
        return _Response(
            302,
            b"",
            content_type="text/plain; charset=utf-8",
            headers=[("Location", self.service.face_url(session.ref))],
        )

    # -- answers ----------------------------------------------------------------------------

    def _answer(
        self, method: str, payload: Mapping[str, object], *, signed: bool = True
    ) -> _Response:
        key: rsa.RSAPrivateKey | None = None
        if signed:
            key = self._wrong_key if self._take_bad_signature() else self._private_key
        return _Response(
            200,
            signing.signed_response(method, payload, key),
            content_type="text/html;charset=utf-8",  # what the real gateway sends
        )

    def _take_bad_signature(self) -> bool:
        service = self.service
        with service._lock:
            if service._faults.bad_signatures > 0:
                service._faults.bad_signatures -= 1
                return True
        return False


def _error(refusal: _Refusal) -> dict[str, str]:
    answer = {"code": refusal.code, "msg": _MESSAGES.get(refusal.code, "Business Failed")}
    if refusal.sub_code:
        answer["sub_code"] = refusal.sub_code
        answer["sub_msg"] = refusal.sub_msg or refusal.sub_code
    return answer


def _signed(refusal: _Refusal) -> bool:
    """An app the gateway cannot identify gets an unsigned answer."""
    return refusal.sub_code not in ("isv.missing-app-id", "isv.invalid-app-id")


def _biz_content(params: Mapping[str, str]) -> dict[str, Any]:
    try:
        biz = json.loads(params.get("biz_content") or "")
    except ValueError:
        raise _Refusal("40002", "isv.invalid-parameter", "biz_content") from None
    if not isinstance(biz, dict):
        raise _Refusal("40002", "isv.invalid-parameter", "biz_content")
    return biz


def protocol(service: SandboxService) -> AlipayProtocol:
    return AlipayProtocol(service)
