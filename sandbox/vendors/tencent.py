"""The sandbox playing Tencent Cloud FaceID (API 2018-03-01) in its own wire protocol.

``POST /`` with an ``X-TC-Action`` header and a TC3-HMAC-SHA256 signature
(:mod:`sandbox.vendors.tencent_signing`); SecretId = the sandbox's app id, SecretKey = its
secret; the scope's service is ``faceid``. Every answer is HTTP 200 JSON ``{"Response": {...,
"RequestId"}}``; errors too, as ``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``.

Actions (the contract notes, vendor-contracts.md §2):

- ``IdCardVerification`` (``IdCard``, ``Name``): ``Result`` "0" consistent, "-1" inconsistent,
  "-2" not a valid ID number, "-5" no record, from the sandbox's registry (a number only: its
  type is the registry's). Billed per call at the vendor, so not idempotent here either.
- ``DetectAuth`` (``RuleId``, ``IdCard``, ``Name``, ``RedirectUrl``, ``Extra``): a new face
  session on the shared face page at every call (the vendor has no idempotency key);
  ``BizToken`` (an upper-case UUID) and ``Url`` = the face page. After the person decides, the
  browser goes to ``RedirectUrl`` with ``token=<BizToken>`` appended (the documented habit of
  the international ApplyWebVerificationBizTokenIntl; unconfirmed for DetectAuth). No callback.
- ``GetDetectInfoEnhanced`` (``BizToken``, ``RuleId``, ``InfoType``): ``Text.ErrCode`` 17 while
  the person has not finished (or the result is not ready: fault ``result_delay_ms``), 0 passed,
  1002 failed the face check, 2006 passed the face check for a name and number the registry
  does not hold together, 15 the session expired unfinished. ``Text`` echoes ``Name``/``IdCard``
  as the vendor does; images and videos are never returned, whatever ``InfoType`` asks.

Faults: ``vendor_trouble()`` answers ``InternalError``. The fault ``vendor_code`` forces the
next call's answer, used up by that call whatever its action: ``Error:<Code>`` (any action)
answers that error envelope, ``Result:<value>`` an IdCardVerification ``Result``, and
``ErrCode:<n>`` a GetDetectInfoEnhanced ``Text.ErrCode`` for a session that exists; a code that
does not fit the action is dropped."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from ..service import _Response
from . import tencent_signing

if TYPE_CHECKING:
    from ..service import SandboxService, Session, VendorRequest

SERVICE = "faceid"
VERSION = "2018-03-01"
VENDOR = "tencent"
_ID_NUMBER = re.compile(r"\d{17}[\dX]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_BIZ_TOKEN = re.compile(r"[A-Za-z0-9-]{1,64}")
_MESSAGES = {
    "AuthFailure.InvalidAuthorization": "Authorization in the request header is invalid.",
    "AuthFailure.SecretIdNotFound": "The SecretId is not found.",
    "AuthFailure.SignatureExpire": "Signature expired: the timestamp is too far from the "
    "server's time.",
    "AuthFailure.SignatureFailure": "The provided credentials could not be validated.",
    "InternalError": "Internal error.",
    "InvalidAction": "The action does not exist.",
    "InvalidParameter": "A parameter is invalid.",
    "InvalidParameterValue": "A parameter value is invalid.",
    "InvalidParameterValue.BizTokenIllegal": "BizToken illegal.",
    "InvalidParameterValue.BizTokenExpired": "BizToken expired.",
    "MissingParameter": "A required parameter is missing.",
    "NoSuchVersion": "The API version does not exist.",
    "UnsupportedProtocol": "Only POST application/json is supported here.",
}
_ID_CARD_DESCRIPTIONS = {
    "0": "姓名和身份证号一致",
    "-1": "姓名和身份证号不一致",
    "-2": "非法身份证号（长度、校验位等不正确）",
    "-3": "非法姓名（长度、格式等不正确）",
    "-4": "证件库服务异常",
    "-5": "证件库中无此身份证记录",
    "-6": "权威比对系统升级中，请稍后再试",
    "-7": "认证次数超过当日限制",
}
_ERR_MESSAGES = {
    0: "成功",
    15: "验证流程的授权信息已过期",
    17: "验证流程未完成",
    1002: "疑似非真人录制",
    2006: "姓名和身份证号不一致",
}


def protocol(service: SandboxService) -> TencentProtocol:
    return TencentProtocol(service)


class _Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class TencentProtocol:
    name = VENDOR

    def __init__(self, service: SandboxService) -> None:
        self.service = service

    def claims(self, method: str, path: str, headers: Mapping[str, str]) -> bool:
        return path == "/" and "x-tc-action" in headers

    def handle(self, request: VendorRequest) -> _Response:
        request_id = str(uuid.uuid4())
        try:
            return self._handle(request, request_id)
        except _Refused as refusal:
            return _error(refusal.code, request_id)

    def _handle(self, request: VendorRequest, request_id: str) -> _Response:
        headers = request.headers
        _check_signed(request, self.service, scope=SERVICE)
        if headers.get("x-tc-version", "") != VERSION:
            raise _Refused("NoSuchVersion")
        action = headers.get("x-tc-action", "")
        handler = {
            "IdCardVerification": self._id_card_verification,
            "DetectAuth": self._detect_auth,
            "GetDetectInfoEnhanced": self._get_detect_info_enhanced,
        }.get(action)
        if handler is None:
            raise _Refused("InvalidAction")
        try:
            params = json.loads(request.body or b"{}")
        except ValueError:
            raise _Refused("InvalidParameter") from None
        if not isinstance(params, dict):
            raise _Refused("InvalidParameter")
        if self.service.vendor_trouble():
            raise _Refused("InternalError")
        forced = self.service.take_vendor_code()
        kind, _, value = forced.partition(":")
        if kind == "Error" and value:
            raise _Refused(value)
        return handler(params, request_id, kind=kind, value=value)

    # -- actions ----------------------------------------------------------------------------

    def _id_card_verification(
        self, params: dict[str, Any], request_id: str, *, kind: str, value: str
    ) -> _Response:
        id_card = _string(params, "IdCard", max_length=32)
        name = _string(params, "Name", max_length=32)
        if kind == "Result" and value:
            result = value
        elif not _valid_id_number(id_card):
            result = "-2"
        else:
            _, reason = self.service.check_person(name=name, document_number=id_card)
            result = {"ok": "0", "name_number_mismatch": "-1"}.get(reason, "-5")
        description = _ID_CARD_DESCRIPTIONS.get(result, "")
        return _ok({"Result": result, "Description": description}, request_id)

    def _detect_auth(
        self, params: dict[str, Any], request_id: str, *, kind: str, value: str
    ) -> _Response:
        rule_id = _string(params, "RuleId", max_length=64)
        redirect_url = _redirect_url(params)
        id_card = _optional_string(params, "IdCard", max_length=32)
        name = _optional_string(params, "Name", max_length=32)
        extra = _optional_string(params, "Extra", max_length=1024)
        if id_card and id_card != id_card.upper():
            raise _Refused("InvalidParameterValue")  # "the letter must be an upper-case X"
        identity_ok = True
        if id_card and name:
            identity_ok = self.service.check_person(name=name, document_number=id_card)[1] == "ok"
        biz_token = str(uuid.uuid4()).upper()
        session = self.service.open_session(
            vendor=VENDOR,
            request_id=biz_token,  # every DetectAuth opens its own session, as at the vendor
            digest="",
            name=name,
            return_url=_with_token(redirect_url, biz_token),
            new_ref=lambda: biz_token,
            data={
                "rule_id": rule_id,
                "identity_ok": identity_ok,
                "name": name,
                "id_card": id_card,
                "extra": extra,
            },
        )
        if session is None:  # a token collision: cannot happen with fresh UUIDs
            raise _Refused("InternalError")
        return _ok({"Url": self.service.face_url(session.ref), "BizToken": session.ref}, request_id)

    def _get_detect_info_enhanced(
        self, params: dict[str, Any], request_id: str, *, kind: str, value: str
    ) -> _Response:
        biz_token = _string(params, "BizToken", max_length=128)
        rule_id = _string(params, "RuleId", max_length=64)
        info_type = params.get("InfoType", "0")
        if not isinstance(info_type, str) or not info_type.isdigit():
            raise _Refused("InvalidParameterValue")
        found = (
            self.service.session(biz_token, vendor=VENDOR)
            if _BIZ_TOKEN.fullmatch(biz_token)
            else None
        )
        if found is None or found[0].data.get("rule_id") != rule_id:
            raise _Refused("InvalidParameterValue.BizTokenIllegal")
        session, status = found
        if kind == "ErrCode" and value.lstrip("-").isdigit():
            err_code = int(value)
        else:
            err_code = _err_code(session, status)
        return _ok({"Text": _text(session, err_code)}, request_id)


def _err_code(session: Session, status: str) -> int:
    if status == "pending":
        return 17
    if status == "expired":
        return 15
    if status == "fail":
        return 1002
    return 0 if session.data.get("identity_ok") else 2006


def _text(session: Session, err_code: int) -> dict[str, Any]:
    """DetectInfoText as the vendor fills it (the fields a text-only query returns)."""
    finished = err_code not in (15, 17)
    data = session.data
    return {
        "ErrCode": err_code,
        "ErrMsg": _ERR_MESSAGES.get(err_code, "验证失败"),
        "IdCard": data.get("id_card") or None,
        "Name": data.get("name") or None,
        "UseIDType": 0,
        "LiveStatus": (0 if err_code == 0 or err_code == 2006 else err_code) if finished else None,
        "LiveMsg": None,
        "Comparestatus": (0 if err_code == 0 else err_code) if finished else None,
        "Comparemsg": None,
        "Sim": ("90.00" if err_code == 0 else "10.00") if finished else None,
        "Extra": data.get("extra") or None,
        "LivenessMode": 0,
    }


# -- answers --------------------------------------------------------------------------------


def _ok(fields: dict[str, Any], request_id: str) -> _Response:
    return _envelope({**fields, "RequestId": request_id})


def _check_signed(request: VendorRequest, service: SandboxService, *, scope: str) -> None:
    """What every Tencent Cloud API asks first: a JSON ``POST`` signed TC3-HMAC-SHA256 with the
    sandbox's credentials for ``scope`` (the product: ``faceid``, ``sms``); raises
    :class:`_Refused` with Tencent's code otherwise."""
    if request.method != "POST" or not _is_json(request.headers.get("content-type", "")):
        raise _Refused("UnsupportedProtocol")
    try:
        tencent_signing.verify(
            method=request.method,
            path=request.path,
            query=request.query,
            headers=request.headers,
            body=request.body,
            secrets={service.config.app_id: service.config.secret},
            service=scope,
            now=_wall_clock(),
        )
    except tencent_signing.SignatureRefused as refusal:
        raise _Refused(refusal.code) from None


def _error(code: str, request_id: str) -> _Response:
    message = _MESSAGES.get(code) or _MESSAGES.get(code.split(".", 1)[0], "The request failed.")
    return _envelope({"Error": {"Code": code, "Message": message}, "RequestId": request_id})


def _envelope(response: dict[str, Any]) -> _Response:
    """HTTP 200 whatever happened, ``Content-Type: application/json`` exactly (the SDK reads
    ``Error`` only under that type)."""
    body = json.dumps({"Response": response}, ensure_ascii=False, separators=(",", ":"))
    return _Response(200, body.encode(), content_type="application/json")


# -- request fields -------------------------------------------------------------------------


def _is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def _wall_clock() -> float:
    """Signatures follow the wall clock both parties share, never the service's test clock."""
    return time.time()


def _string(params: Mapping[str, Any], key: str, *, max_length: int) -> str:
    value = params.get(key)
    if value is None or value == "":
        raise _Refused("MissingParameter")
    if not isinstance(value, str) or len(value) > max_length:
        raise _Refused("InvalidParameterValue")
    if any(ord(char) < 32 for char in value):
        raise _Refused("InvalidParameterValue")
    return value


def _optional_string(params: Mapping[str, Any], key: str, *, max_length: int) -> str:
    if params.get(key) in (None, ""):
        return ""
    return _string(params, key, max_length=max_length)


def _redirect_url(params: Mapping[str, Any]) -> str:
    """Optional at the vendor; the sandbox needs it to send the person back (a deviation)."""
    value = _string(params, "RedirectUrl", max_length=1024)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or not value.isascii():
        raise _Refused("InvalidParameterValue")
    return value


def _with_token(url: str, biz_token: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({"token": biz_token})))


def _valid_id_number(number: str) -> bool:
    """GB 11643: 17 digits and an ISO 7064 MOD 11-2 check character."""
    if not _ID_NUMBER.fullmatch(number):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number, _ID_WEIGHTS, strict=False))
    return "10X98765432"[total % 11] == number[-1]
