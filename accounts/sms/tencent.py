"""Tencent Cloud SMS (``SendSms``, sms 2021-01-11): the approved template of each purpose
(``TemplateId``), the code as the template's first positional parameter
(``TemplateParamSet: ["123456"]``), the approved signature's content as ``SignName``.

It uses the vendor's official SDK core (``tencentcloud-sdk-python-common``, already used for
FaceID): its ``CommonClient`` signs TC3-HMAC-SHA256 and calls any product's action, so the
product package (``tencentcloud-sdk-python-sms``) is not needed. No SDK retries and no region
breaker: a failure goes to the next configured carrier instead (:func:`accounts.sms.send_sms`).

Success is per number: ``SendStatusSet[0].Code == "Ok"``; a refused number comes back with
HTTP 200 and its own code. The SDK logs whole requests (the number) at DEBUG on the
``tencentcloud_sdk_common`` logger: a filter keeps only its warnings. Its exceptions may quote
the request, so only the error code is read, and nothing is chained."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import urlsplit

from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.common.retry import NoopRetryer

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

SERVICE = "sms"
VERSION = "2021-01-11"
#: Per-number codes (cloud.tencent.com/document/api/382/59177): limits set in the console.
NUMBER_LIMIT_CODES = frozenset(
    {
        "LimitExceeded.PhoneNumberThirtySecondLimit",
        "LimitExceeded.PhoneNumberOneHourLimit",
        "LimitExceeded.PhoneNumberDailyLimit",
        "LimitExceeded.PhoneNumberSameContentDailyLimit",
        "LimitExceeded.DeliveryFrequencyLimit",
    }
)
INVALID_NUMBER_CODES = frozenset(
    {
        "InvalidParameterValue.IncorrectPhoneNumber",
        "FailedOperation.PhoneNumberInBlacklist",  # the person unsubscribed from texts
        "FailedOperation.PhoneNumberParseFail",
    }
)
DIAGNOSES = {
    "AuthFailure.SecretIdNotFound": "the SecretId is unknown to Tencent Cloud",
    "AuthFailure.SignatureFailure": "the SecretKey is wrong",
    "AuthFailure.SignatureExpire": "this server's clock is more than 5 minutes off",
    "AuthFailure.UnauthorizedOperation": "the key may not use SMS (grant QcloudSMSFullAccess)",
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail": "the SmsSdkAppId is not this account's",
    "UnauthorizedOperation.ServiceSuspendDueToArrears": "the account is in arrears",
    "FailedOperation.SignatureIncorrectOrUnapproved": "the signature is not approved",
    "FailedOperation.TemplateIncorrectOrUnapproved": "the template is not approved",
    "FailedOperation.InsufficientBalanceInSmsPackage": "the SMS package is used up",
    "InvalidParameterValue.TemplateParameterFormatError": "the code template's {1} must be "
    "a number variable",
    "LimitExceeded.AppDailyLimit": "the application's daily total set in the console is reached",
    "InternalError.RequestTimeException": "this server's clock is more than 10 minutes off",
    "InvalidCredential": "the SecretId or SecretKey is empty or has spaces",
}
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9.]{0,99}")
#: The SDK's codes for trouble on the wire (it names wrapped exceptions by their type).
_NETWORK_CODES = frozenset(
    {
        "ClientNetworkError",
        "ServerNetworkError",
        "ReadTimeout",
        "ConnectTimeout",
        "Timeout",
        "ReadTimeoutError",
        "ConnectionError",
        "ChunkedEncodingError",
        "ProtocolError",
        "IncompleteRead",
    }
)


class _SdkLogFilter(logging.Filter):
    """The SDK logs whole requests and answers at DEBUG: keep only its warnings and errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


_sdk_logger = logging.getLogger("tencentcloud_sdk_common")
if not any(type(f).__name__ == "_SdkLogFilter" for f in _sdk_logger.filters):
    _sdk_logger.addFilter(_SdkLogFilter())


class SmsBackend(BaseSmsBackend):
    """Built from ``ACCOUNTS_SMS_TENCENT_*``; keyword arguments override them (tests)."""

    name = "tencent"

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        secret_id: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        self.endpoint = endpoint or app_settings.SMS_TENCENT_ENDPOINT
        self._secret_id = app_settings.SMS_TENCENT_SECRET_ID if secret_id is None else secret_id
        self._secret_key = app_settings.SMS_TENCENT_SECRET_KEY if secret_key is None else secret_key
        self._region = app_settings.SMS_TENCENT_REGION
        self._timeout = app_settings.SMS_TIMEOUT
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"<tencent SmsBackend {self.endpoint}>"

    def send(self, message: SmsMessage) -> None:
        template = {
            CODE: app_settings.SMS_TENCENT_TEMPLATE_CODE,
            ACCOUNT_EXISTS: app_settings.SMS_TENCENT_TEMPLATE_ACCOUNT_EXISTS,
            UNKNOWN_ACCOUNT: app_settings.SMS_TENCENT_TEMPLATE_UNKNOWN_ACCOUNT,
        }.get(message.purpose, "")
        if not template:
            if message.purpose != CODE:
                return  # a notice without a template: not sent (documented, checked)
            raise SmsSendError("tencent: SMS_TENCENT_TEMPLATE_CODE is not set")
        app_id = app_settings.SMS_TENCENT_SDK_APP_ID
        if not app_id:
            raise SmsSendError("tencent: SMS_TENCENT_SDK_APP_ID is not set")
        params: dict[str, Any] = {
            "PhoneNumberSet": [message.to],
            "SmsSdkAppId": app_id,
            "TemplateId": template,
            "SignName": app_settings.SMS_TENCENT_SIGN_NAME or app_settings.SMS_SIGNATURE,
            "TemplateParamSet": [message.code] if message.purpose == CODE else [],
        }
        answer = self._call("SendSms", params)
        statuses = answer.get("SendStatusSet")
        status = statuses[0] if isinstance(statuses, list) and len(statuses) == 1 else None
        if not isinstance(status, dict):
            raise SmsSendError("tencent SendSms answered no status for the number")
        code = _safe(status.get("Code"))
        if code == "Ok":
            return
        text = f"tencent SendSms answered {code} for the number" + _diagnosis(code)
        if code in NUMBER_LIMIT_CODES:
            raise SmsNumberLimitError(text)
        if code in INVALID_NUMBER_CODES:
            raise SmsInvalidNumberError(text)
        raise SmsSendError(text)

    def probe(self) -> str:
        """``DescribeSmsTemplateList`` of the code template: free, sends nothing, and proves
        the key, its permission and the template's approval."""
        template = app_settings.SMS_TENCENT_TEMPLATE_CODE
        if not template.isdigit():
            raise SmsSendError("SMS_TENCENT_TEMPLATE_CODE is not set to a template's number")
        answer = self._call(
            "DescribeSmsTemplateList",
            {"TemplateIdSet": [int(template)], "International": 0},
        )
        found = answer.get("DescribeTemplateStatusSet")
        status = found[0].get("StatusCode") if isinstance(found, list) and found else None
        if status != 0:
            described = {1: "under review", -1: "rejected"}.get(
                status if isinstance(status, int) else 0, "not found"
            )
            raise SmsSendError(f"tencent: the code template is {described}, not approved")
        return f"{self.endpoint} verified our signature; the code template is approved"

    # -- the call ---------------------------------------------------------------------------

    def _client(self) -> CommonClient:
        client = getattr(self._local, "client", None)
        if client is not None:
            return client
        if not (self._secret_id and self._secret_key):
            raise SmsSendError(
                "tencent: SMS_TENCENT_SECRET_ID or SMS_TENCENT_SECRET_KEY is not set"
            )
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise SmsSendError("tencent: SMS_TENCENT_ENDPOINT is not a URL of scheme and host")
        profile = ClientProfile(
            signMethod="TC3-HMAC-SHA256",
            httpProfile=HttpProfile(
                protocol=parts.scheme, endpoint=parts.netloc, reqTimeout=self._timeout
            ),
            language="en-US",
            disable_region_breaker=True,
            request_client="realname",
            retryer=NoopRetryer(),
        )
        try:
            cred = credential.Credential(self._secret_id, self._secret_key)
        except TencentCloudSDKException as exc:
            raise SmsSendError(
                f"tencent: {_safe(exc.get_code())}" + _diagnosis(_safe(exc.get_code()))
            ) from None
        client = self._local.client = CommonClient(SERVICE, VERSION, cred, self._region, profile)
        return client

    def _call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = self._client().call_json(action, params)
        except TencentCloudSDKException as exc:
            code = _safe(exc.get_code())
            if code in _NETWORK_CODES:
                raise SmsCarrierUnreachable(f"tencent {action} failed: {code}") from None
            raise SmsSendError(f"tencent {action} failed: {code}" + _diagnosis(code)) from None
        except (OSError, ValueError) as exc:
            raise SmsCarrierUnreachable(f"tencent {action} failed ({type(exc).__name__})") from None
        response = answer.get("Response") if isinstance(answer, dict) else None
        if not isinstance(response, dict):
            raise SmsSendError(f"tencent {action} answered something other than a Response")
        return response


def _safe(code: object) -> str:
    return code if isinstance(code, str) and _CODE.fullmatch(code) else "an unreadable code"


def _diagnosis(code: str) -> str:
    found = DIAGNOSES.get(code)
    return f" ({found})" if found else ""
