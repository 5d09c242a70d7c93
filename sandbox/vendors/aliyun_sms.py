"""The sandbox speaking Aliyun SMS (dysmsapi 2017-05-25): the same RPC gateway and signatures
as Cloudauth (:mod:`sandbox.vendors.aliyun`, whose verifier it reuses), told apart by its
``x-acs-version``.

Actions: ``SendSms`` (``PhoneNumbers``, ``SignName``, ``TemplateCode``, ``TemplateParam``
JSON) appends the message to the SMS file (:mod:`sandbox.vendors.sms_file`) and answers
``{"Code": "OK", "BizId", "RequestId", "Message": "OK"}``; ``QuerySmsTemplate``
(``TemplateCode``) answers the template approved (``TemplateStatus`` 1), whatever its code.
A number that cannot be a mobile number answers ``isv.MOBILE_NUMBER_ILLEGAL``.

Faults: ``vendor_trouble()`` answers 503 ``ServiceUnavailable``; ``vendor_code`` forces the
next call's answer: an ``isv.*`` / ``isp.*`` code (``isv.BUSINESS_LIMIT_CONTROL``,
``isv.MOBILE_NUMBER_ILLEGAL``...) as SendSms's HTTP 200 business answer, anything else as a
gateway error envelope (``Throttling.User``, ``InvalidAccessKeyId.NotFound``)."""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

from . import sms_file
from .aliyun import (
    GATEWAY_STATUS,
    AliyunProtocol,
    _aliyun_json,
    _envelope,
    _Refusal,
    _request_id,
    _unavailable,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..service import SandboxService, VendorRequest, _Response

NAME = "aliyun_sms"
VERSION = "2017-05-25"
ACTIONS = frozenset({"SendSms", "QuerySmsTemplate"})
_MESSAGES = {
    "isv.BUSINESS_LIMIT_CONTROL": "触发天级流控Permits:10",
    "isv.MOBILE_NUMBER_ILLEGAL": "非法手机号",
    "isv.SMS_TEMPLATE_ILLEGAL": "该账号下找不到对应模板",
    "isv.SMS_SIGNATURE_ILLEGAL": "该账号下找不到对应签名",
    "isv.INVALID_JSON_PARAM": "JSON参数不合法，只接受字符串值",
    "isv.MOBILE_COUNT_OVER_LIMIT": "手机号码数量超过限制",
    "isp.SYSTEM_ERROR": "系统出现错误",
}


def protocol(service: SandboxService) -> AliyunSmsProtocol:
    return AliyunSmsProtocol(service)


def _sms_answer(code: str, **extra: Any) -> _Response:
    message = "OK" if code == "OK" else _MESSAGES.get(code, "error")
    return _aliyun_json(
        200, {"RequestId": _request_id(), "Code": code, "Message": message, **extra}
    )


class AliyunSmsProtocol(AliyunProtocol):
    name = NAME

    def claims(self, method: str, path: str, headers: Mapping[str, str]) -> bool:
        return (
            path == "/"
            and method in ("GET", "POST")
            and headers.get("x-acs-version") == VERSION
            and "x-acs-action" in headers
        )

    def handle(self, request: VendorRequest) -> _Response:
        try:
            params, action, version = self._verified(request)
        except _Refusal as refusal:
            return _envelope(refusal.status, refusal.code, refusal.message)
        if version != VERSION or action not in ACTIONS:
            return _envelope(404, "InvalidAction.NotFound", "Specified api is not found.")
        if self.service.vendor_trouble():
            return _unavailable()
        forced = self.service.take_vendor_code()
        if forced.startswith(("isv.", "isp.")):
            return _sms_answer(forced)
        if forced:
            return _envelope(GATEWAY_STATUS.get(forced, 400), forced, "forced by the sandbox")
        if action == "QuerySmsTemplate":
            return self._query_sms_template(params)
        return self._send_sms(params)

    def _query_sms_template(self, params: Mapping[str, str]) -> _Response:
        template = params.get("TemplateCode", "")
        if not template:
            return _envelope(400, "MissingTemplateCode", "TemplateCode is mandatory.")
        return _sms_answer(
            "OK",
            TemplateCode=template,
            TemplateName="sandbox",
            TemplateType=0,
            TemplateStatus=1,
            TemplateContent="您的验证码为${code}，该验证码5分钟内有效，请勿泄漏于他人！",
            Reason="",
            CreateDate="2026-01-01 00:00:00",
        )

    def _send_sms(self, params: Mapping[str, str]) -> _Response:
        for key in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(key, "").strip():
                return _envelope(400, f"Missing{key}", f"{key} is mandatory for this action.")
        numbers = [number for number in params["PhoneNumbers"].split(",") if number]
        if len(numbers) > 1000:
            return _sms_answer("isv.MOBILE_COUNT_OVER_LIMIT")
        recipients = [sms_file.e164(number) for number in numbers]
        if not recipients or None in recipients:
            return _sms_answer("isv.MOBILE_NUMBER_ILLEGAL")
        values: list[str] = []
        if params.get("TemplateParam"):
            try:
                template_params = json.loads(params["TemplateParam"])
            except ValueError:
                return _sms_answer("isv.INVALID_JSON_PARAM")
            if not isinstance(template_params, dict) or not all(
                isinstance(value, str) for value in template_params.values()
            ):
                return _sms_answer("isv.INVALID_JSON_PARAM")
            values = list(template_params.values())
        for recipient in filter(None, recipients):
            sms_file.deliver(
                self.service.config.sms_file,
                to=recipient,
                sign_name=params["SignName"],
                template=params["TemplateCode"],
                params=values,
            )
        return _sms_answer("OK", BizId=f"{secrets.randbelow(10**15):015d}^0")
