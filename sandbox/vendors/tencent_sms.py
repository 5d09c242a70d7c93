"""The sandbox speaking Tencent Cloud SMS (sms 2021-01-11): ``POST /`` with ``X-TC-Action`` and
``X-TC-Version: 2021-01-11``, signed TC3-HMAC-SHA256 with the scope's service ``sms``
(:mod:`sandbox.vendors.tencent_signing`); answers ``{"Response": {..., "RequestId"}}``.

Actions: ``SendSms`` (``PhoneNumberSet``, ``SmsSdkAppId``, ``TemplateId``, ``SignName``,
``TemplateParamSet``) appends each message to the SMS file (:mod:`sandbox.vendors.sms_file`)
and answers one ``SendStatusSet`` entry per number, ``Code`` "Ok", or
``InvalidParameterValue.IncorrectPhoneNumber`` for a number that cannot be a mobile number;
``DescribeSmsTemplateList`` (``TemplateIdSet``) answers each template approved
(``StatusCode`` 0).

Faults: ``vendor_trouble()`` answers ``InternalError``; ``vendor_code`` forces the next call's
answer: ``Error:<Code>`` that error envelope, any other code that per-number status for every
number of a SendSms (``LimitExceeded.PhoneNumberDailyLimit``,
``InvalidParameterValue.IncorrectPhoneNumber``...)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import sms_file
from .tencent import _check_signed, _error, _ok, _Refused

if TYPE_CHECKING:
    from ..service import SandboxService, VendorRequest, _Response

NAME = "tencent_sms"
SERVICE = "sms"
VERSION = "2021-01-11"
ACTIONS = frozenset({"SendSms", "DescribeSmsTemplateList"})
_STATUS_MESSAGES = {
    "Ok": "send success",
    "LimitExceeded.PhoneNumberDailyLimit": "the number of SMS messages sent from a single "
    "mobile number every day exceeds the upper limit",
    "LimitExceeded.PhoneNumberThirtySecondLimit": "the number of SMS messages sent from a "
    "single mobile number within 30 seconds exceeds the upper limit",
    "LimitExceeded.PhoneNumberOneHourLimit": "the number of SMS messages sent from a single "
    "mobile number within 1 hour exceeds the upper limit",
    "InvalidParameterValue.IncorrectPhoneNumber": "invalid mobile number",
}


def protocol(service: SandboxService) -> TencentSmsProtocol:
    return TencentSmsProtocol(service)


class TencentSmsProtocol:
    name = NAME

    def __init__(self, service: SandboxService) -> None:
        self.service = service

    def claims(self, method: str, path: str, headers: Mapping[str, str]) -> bool:
        return path == "/" and "x-tc-action" in headers and headers.get("x-tc-version") == VERSION

    def handle(self, request: VendorRequest) -> _Response:
        request_id = str(uuid.uuid4())
        try:
            return self._handle(request, request_id)
        except _Refused as refusal:
            return _error(refusal.code, request_id)

    def _handle(self, request: VendorRequest, request_id: str) -> _Response:
        headers = request.headers
        _check_signed(request, self.service, scope=SERVICE)
        action = headers.get("x-tc-action", "")
        if action not in ACTIONS:
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
        if action == "DescribeSmsTemplateList":
            return self._describe_templates(params, request_id)
        return self._send_sms(params, request_id, forced=forced)

    def _describe_templates(self, params: dict[str, Any], request_id: str) -> _Response:
        ids = params.get("TemplateIdSet")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
            raise _Refused("MissingParameter" if not ids else "InvalidParameterValue")
        statuses = [
            {
                "TemplateId": template_id,
                "International": params.get("International", 0),
                "StatusCode": 0,
                "ReviewReply": "",
                "TemplateName": "sandbox",
                "CreateTime": 1767225600,
                "TemplateContent": "您的验证码为{1}，5分钟内有效。",
            }
            for template_id in ids
        ]
        return _ok({"DescribeTemplateStatusSet": statuses}, request_id)

    def _send_sms(self, params: dict[str, Any], request_id: str, *, forced: str) -> _Response:
        numbers = params.get("PhoneNumberSet")
        for key in ("SmsSdkAppId", "TemplateId"):
            if not isinstance(params.get(key), str) or not params[key]:
                raise _Refused("MissingParameter")
        if not isinstance(numbers, list) or not numbers:
            raise _Refused("MissingParameter")
        if len(numbers) > 200 or not all(isinstance(n, str) for n in numbers):
            raise _Refused("InvalidParameterValue")
        values = params.get("TemplateParamSet") or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise _Refused("InvalidParameterValue")
        sign_name = params.get("SignName") or ""
        statuses = []
        for number in numbers:
            recipient = sms_file.e164(number) if number.startswith("+") else None
            if forced:
                code = forced
            elif recipient is None:
                code = "InvalidParameterValue.IncorrectPhoneNumber"
            elif recipient.startswith("+86") and not sign_name:
                raise _Refused("MissingParameter")  # domestic texts need a signature
            else:
                code = "Ok"
            if code == "Ok" and recipient is not None:
                sms_file.deliver(
                    self.service.config.sms_file,
                    to=recipient,
                    sign_name=sign_name,
                    template=params["TemplateId"],
                    params=values,
                )
            statuses.append(
                {
                    "SerialNo": uuid.uuid4().hex if code == "Ok" else "",
                    "PhoneNumber": number,
                    "Fee": 1 if code == "Ok" else 0,
                    "SessionContext": params.get("SessionContext") or "",
                    "Code": code,
                    "Message": _STATUS_MESSAGES.get(code, "failed"),
                    "IsoCode": "CN" if number.startswith("+86") else "",
                }
            )
        return _ok({"SendStatusSet": statuses}, request_id)
