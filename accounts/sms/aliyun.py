"""Aliyun SMS (``SendSms``, dysmsapi 2017-05-25): the approved template of each purpose, the
code in ``TemplateParam`` (``{"code": "123456"}``), the approved signature as ``SignName``.

It uses Aliyun's official SDK core from PyPI (``alibabacloud_tea_openapi``, already used for
Cloudauth): its generic ``call_api`` signs ACS3-HMAC-SHA256 and calls any action, so the
product package (``alibabacloud-dysmsapi20170525``) is not needed. SDK retries are off: a
failure goes to the next configured carrier instead (:func:`accounts.sms.send_sms`).

Errors say the action, Aliyun's code and the HTTP status only: SDK exceptions may quote the
request (the number), so they are never chained or logged. Success is ``Code == "OK"``; the
per-number limit (``isv.BUSINESS_LIMIT_CONTROL``) and an invalid number
(``isv.MOBILE_NUMBER_ILLEGAL``) are about the number and are not retried elsewhere."""

from __future__ import annotations

import json
import re
import threading
from typing import Any
from urllib.parse import urlsplit

from alibabacloud_tea_openapi import utils_models as open_api_models
from alibabacloud_tea_openapi.client import Client as OpenApiClient
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from darabonba.exceptions import UnretryableException
from darabonba.runtime import RuntimeOptions

from ..app_settings import app_settings
from .base import (
    ACCOUNT_EXISTS,
    CODE,
    UNKNOWN_ACCOUNT,
    BaseSmsBackend,
    SmsCarrierUnreachable,
    SmsInvalidNumberError,
    SmsMessage,
    SmsNumberLimitError,
    SmsSendError,
)

VERSION = "2017-05-25"
#: SendSms codes about the number itself (help.aliyun.com/document_detail/101346.html).
NUMBER_LIMIT_CODES = frozenset({"isv.BUSINESS_LIMIT_CONTROL"})
INVALID_NUMBER_CODES = frozenset({"isv.MOBILE_NUMBER_ILLEGAL"})
#: What an operator should check, by code (``manage.py check_sms aliyun`` and the log).
DIAGNOSES = {
    "InvalidAccessKeyId.NotFound": "the AccessKey ID is unknown to Aliyun",
    "InvalidAccessKeyId.Inactive": "the AccessKey is disabled",
    "SignatureDoesNotMatch": "the AccessKey secret is wrong",
    "IncompleteSignature": "the request signature was refused",
    "InvalidTimeStamp.Expired": "this server's clock is more than 15 minutes off",
    "SignatureNonceUsed": "a request was replayed",
    "Forbidden.RAM": "the RAM user may not use SMS (grant AliyunDysmsFullAccess)",
    "isp.RAM_PERMISSION_DENY": "the RAM user may not use SMS (grant AliyunDysmsFullAccess)",
    "isv.SMS_SIGNATURE_ILLEGAL": "the signature name is not approved",
    "isv.SIGN_NAME_ILLEGAL": "the signature name is not approved",
    "isv.SMS_SIGN_ILLEGAL": "the signature name is not approved",
    "isv.SMS_TEMPLATE_ILLEGAL": "the template code is not approved or not this account's",
    "isv.TEMPLATE_MISSING_PARAMETERS": "the template's variables are not ${code}",
    "isv.OUT_OF_SERVICE": "the account is out of credit",
    "isv.AMOUNT_NOT_ENOUGH": "the account is out of credit",
    "isv.PRODUCT_UN_SUBSCRIPT": "SMS is not activated on this account",
    "isv.DAY_LIMIT_CONTROL": "the account's daily total set in the console is reached",
    "isv.MONTH_LIMIT_CONTROL": "the account's monthly total set in the console is reached",
    "isv.DENY_IP_RANGE": "Aliyun refuses calls from this server's address",
}
_CODE = re.compile(r"[A-Za-z0-9._-]{1,80}")


def aliyun_number(phone: str) -> str:
    """``PhoneNumbers`` as Aliyun documents them: a mainland number without its country code,
    any other as country code and number, digits only."""
    digits = phone.lstrip("+")
    return digits[2:] if phone.startswith("+86") else digits


class SmsBackend(BaseSmsBackend):
    """Built from ``ACCOUNTS_SMS_ALIYUN_*``; keyword arguments override them (tests)."""

    name = "aliyun"

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
    ) -> None:
        self.endpoint = endpoint or app_settings.SMS_ALIYUN_ENDPOINT
        self._key_id = (
            app_settings.SMS_ALIYUN_ACCESS_KEY_ID if access_key_id is None else access_key_id
        )
        self._secret = (
            app_settings.SMS_ALIYUN_ACCESS_KEY_SECRET
            if access_key_secret is None
            else access_key_secret
        )
        self._timeout = app_settings.SMS_TIMEOUT
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"<aliyun SmsBackend {self.endpoint}>"

    def send(self, message: SmsMessage) -> None:
        template = {
            CODE: app_settings.SMS_ALIYUN_TEMPLATE_CODE,
            ACCOUNT_EXISTS: app_settings.SMS_ALIYUN_TEMPLATE_ACCOUNT_EXISTS,
            UNKNOWN_ACCOUNT: app_settings.SMS_ALIYUN_TEMPLATE_UNKNOWN_ACCOUNT,
        }.get(message.purpose, "")
        if not template:
            if message.purpose != CODE:
                return  # a notice without a template: not sent (documented, checked)
            raise SmsSendError("aliyun: SMS_ALIYUN_TEMPLATE_CODE is not set")
        params = {
            "PhoneNumbers": aliyun_number(message.to),
            "SignName": app_settings.SMS_ALIYUN_SIGN_NAME or app_settings.SMS_SIGNATURE,
            "TemplateCode": template,
        }
        if message.purpose == CODE:
            params["TemplateParam"] = json.dumps({"code": message.code}, separators=(",", ":"))
        answer = self._call("SendSms", params)
        code = _code(answer)
        if code == "OK":
            return
        text = f"aliyun SendSms answered {code}" + _diagnosis(code)
        if code in NUMBER_LIMIT_CODES:
            raise SmsNumberLimitError(text)
        if code in INVALID_NUMBER_CODES:
            raise SmsInvalidNumberError(text)
        raise SmsSendError(text)

    def probe(self) -> str:
        """``QuerySmsTemplate`` of the code template: free, and it proves the key, the
        permission and that the template is this account's."""
        template = app_settings.SMS_ALIYUN_TEMPLATE_CODE
        if not template:
            raise SmsSendError("SMS_ALIYUN_TEMPLATE_CODE is not set")
        answer = self._call("QuerySmsTemplate", {"TemplateCode": template})
        code = _code(answer)
        if code != "OK":
            raise SmsSendError(f"aliyun QuerySmsTemplate answered {code}" + _diagnosis(code))
        raw_status = answer.get("TemplateStatus")
        status = {0: "under review", 1: "approved", 2: "rejected", 10: "cancelled"}.get(
            raw_status if isinstance(raw_status, int) else -1, "in an unknown state"
        )
        if raw_status != 1:
            raise SmsSendError(f"aliyun: the code template is {status}, not approved")
        return f"{self.endpoint} verified our signature; the code template is {status}"

    # -- the call ---------------------------------------------------------------------------

    def _client(self) -> OpenApiClient:
        client = getattr(self._local, "client", None)
        if client is not None:
            return client
        if not (self._key_id and self._secret):
            raise SmsSendError(
                "aliyun: SMS_ALIYUN_ACCESS_KEY_ID or SMS_ALIYUN_ACCESS_KEY_SECRET is not set"
            )
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise SmsSendError("aliyun: SMS_ALIYUN_ENDPOINT is not a URL of scheme and host")
        milliseconds = max(1, int(self._timeout * 1000))
        config = open_api_models.Config(
            access_key_id=self._key_id,
            access_key_secret=self._secret,
            endpoint=parts.netloc,
            protocol=parts.scheme,
            read_timeout=milliseconds,
            connect_timeout=milliseconds,
            retry_options=None,
            user_agent="realname",
        )
        client = self._local.client = OpenApiClient(config)
        return client

    def _call(self, action: str, params: dict[str, str]) -> dict[str, Any]:
        client = self._client()
        request_params = open_api_models.Params(
            action=action,
            version=VERSION,
            protocol="HTTPS",
            pathname="/",
            method="POST",
            auth_type="AK",
            style="RPC",
            req_body_type="formData",
            body_type="json",
        )
        # In the form body, not the query string the SDK's own send_sms uses: a number in a
        # URL ends up in proxies' and access logs.
        request = open_api_models.OpenApiRequest(body=params)
        milliseconds = max(1, int(self._timeout * 1000))
        runtime = RuntimeOptions(
            autoretry=False, max_attempts=0, read_timeout=milliseconds, connect_timeout=milliseconds
        )
        try:
            response = client.call_api(request_params, request, runtime)
        except AlibabaCloudException as exc:
            code = str(exc.code or "")
            code = code if _CODE.fullmatch(code) else "an unreadable code"
            status = exc.status_code if isinstance(exc.status_code, int) else 0
            raise SmsSendError(
                f"aliyun {action} refused: HTTP {status} {code}" + _diagnosis(code)
            ) from None
        except UnretryableException as exc:
            inner = getattr(exc, "inner_exception", None)
            kind = type(getattr(inner, "__context__", None) or inner).__name__
            raise SmsCarrierUnreachable(f"aliyun {action} failed ({kind})") from None
        answer = response.get("body") if isinstance(response, dict) else None
        if not isinstance(answer, dict):
            raise SmsSendError(f"aliyun {action} answered something other than a JSON object")
        return answer


def _code(answer: dict[str, Any]) -> str:
    code = str(answer.get("Code", ""))
    return code if _CODE.fullmatch(code) else "an unreadable code"


def _diagnosis(code: str) -> str:
    found = DIAGNOSES.get(code)
    return f" ({found})" if found else ""
