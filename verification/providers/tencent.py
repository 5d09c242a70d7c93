"""Tencent Cloud FaceID (API 2018-03-01): name + ID number with ``IdCardVerification``, the face
with ``DetectAuth`` (a browser session, ``BizToken``) and ``GetDetectInfoEnhanced`` (its result).

It uses the vendor's official SDK from PyPI (``tencentcloud-sdk-python-faceid`` with
``-common``): the request models and the TC3-HMAC-SHA256 signing are generated and maintained
by the vendor, and the sandbox's own verifier (written from the documentation) checks them.
What the SDK would otherwise do on its own is switched off or fenced in here:

- no retries (``NoopRetryer``; the default is also no-op, set explicitly) and no region
  breaker (it would send calls to another endpoint): our Celery tasks retry, with backoff;
- an explicit ``reqTimeout`` (the SDK's default is 60 s);
- its client holds one ``requests.Session``, which is not documented as thread-safe, so each
  thread gets its own client (``threading.local``);
- it logs whole requests and answers (names, ID numbers) at DEBUG on the
  ``tencentcloud_sdk_common`` logger: a filter drops everything below WARNING there;
- its exceptions carry the vendor's message, which may echo the request: only the error
  *code* is read, and our errors are raised ``from None``.

Tencent has no idempotency key, so :meth:`TencentProvider.check_identity` and
:meth:`TencentProvider.start_liveness` keep their answer (never personal data: a result, a
token and a URL) in the Django cache for a day under a hash of ``request_id``: a retried task
neither pays twice nor opens a second face session. ``DetectAuth`` has no server callback and
its redirect carries no signed result, so :attr:`TencentProvider.notifications` is ``"none"``:
the result is fetched when the person returns and by the sweeper."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.core.cache import cache
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.common.retry import NoopRetryer
from tencentcloud.faceid.v20180301 import faceid_client, models

from kernel.app_settings import AppSettings, Setting

from .base import (
    BaseProvider,
    CheckResult,
    Identity,
    LivenessSession,
    ProviderPermanentError,
    ProviderTransientError,
    ReasonCode,
)


class TencentSettings(AppSettings):
    prefix = "TENCENT_"

    SECRET_ID = Setting(str, "", "The API key's SecretId (CAM console, API keys).")
    SECRET_KEY = Setting(str, "", "The API key's SecretKey; never logged or shown.")
    ENDPOINT = Setting(
        str,
        "https://faceid.tencentcloudapi.com",
        "Where FaceID's API answers: scheme and host (and port) only. The sandbox speaks the "
        "same protocol at its own URL.",
    )
    REGION = Setting(
        str, "", "The X-TC-Region header; empty sends none (DetectAuth takes no region)."
    )
    FACE_RULE_ID = Setting(
        str, "", "The RuleId of the face flow created in the FaceID console (DetectAuth)."
    )
    TIMEOUT = Setting(
        float, 10.0, "Seconds one call may take (connect, and each read) before it times out."
    )


tencent_settings = TencentSettings()

# -- the mapping of the vendor's codes --------------------------------------------------------

RESULT, PENDING, TRANSIENT, PERMANENT = "result", "pending", "transient", "permanent"


@dataclass(frozen=True)
class Outcome:
    """What a vendor code means for us: a ``result`` of the person's (a failed CheckResult unless
    the reason is OK), ``pending``, or a ``transient``/``permanent`` error; whether the vendor
    bills the call ("yes", "no", "unknown"); the diagnosis of a permanent refusal."""

    kind: str
    reason: ReasonCode
    billed: str
    diagnosis: str = ""


def _result(reason: ReasonCode, billed: str) -> Outcome:
    return Outcome(RESULT, reason, billed)


def _busy() -> Outcome:
    return Outcome(TRANSIENT, ReasonCode.VENDOR_BUSY, "no")


def _failing() -> Outcome:
    return Outcome(TRANSIENT, ReasonCode.VENDOR_ERROR, "no")


def _refused(diagnosis: str) -> Outcome:
    return Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "no", diagnosis)


#: IdCardVerification ``Result`` (a string). Source: the API's output parameters
#: (cloud.tencent.com/document/api/1007/33188) and the per-ID limits page
#: (cloud.tencent.com/document/product/1007/108625); billing per the FaceID price list.
ID_CARD_RESULTS: dict[str, Outcome] = {
    "0": _result(ReasonCode.OK, "yes"),  # name and number consistent
    "-1": _result(ReasonCode.NAME_NUMBER_MISMATCH, "yes"),  # inconsistent
    "-2": _result(ReasonCode.NO_SUCH_RECORD, "no"),  # not a valid ID number
    "-3": _result(ReasonCode.NAME_NUMBER_MISMATCH, "no"),  # not a valid name
    "-4": _failing(),  # the ID source failed: retry
    "-5": _result(ReasonCode.NO_SUCH_RECORD, "no"),  # no such ID on record
    "-6": _busy(),  # the authority's system is being upgraded: retry later
    "-7": _result(ReasonCode.DAILY_LIMIT_REACHED, "no"),  # per name 500/day, per ID 1000/day
}

#: GetDetectInfoEnhanced ``Text.ErrCode`` (an int), the liveness + 1:1 result of a DetectAuth
#: flow. Source: "人脸核身错误码与计费" (cloud.tencent.com/document/product/1007/31082, WeChat
#: H5 / mini-program), the per-ID limits (document/product/1007/108625) and the international
#: copy of the table (tencentcloud.com/document/product/1061/55390).
DETECT_ERR_CODES: dict[int, Outcome] = {
    0: _result(ReasonCode.OK, "yes"),
    1: _refused("configuration"),  # bad call
    2: _refused("configuration"),
    3: _refused("configuration"),
    # Codes 4-13, 1001, 2001 and 2017 say the FLOW failed for a reason on Tencent's side ("retry"
    # means the person runs a new flow): asking GetDetectInfoEnhanced again for the same
    # BizToken gives the same code, so they are the person's (unbilled) result, with guidance
    # to try again, not a transient error of ours to retry.
    4: _result(ReasonCode.LIVENESS_FAILED, "no"),
    8: _result(ReasonCode.LIVENESS_FAILED, "no"),
    9: _result(ReasonCode.LIVENESS_FAILED, "no"),
    10: _result(ReasonCode.LIVENESS_FAILED, "no"),
    11: _result(ReasonCode.LIVENESS_FAILED, "no"),
    12: _result(ReasonCode.LIVENESS_FAILED, "no"),
    13: _result(ReasonCode.LIVENESS_FAILED, "no"),
    14: _refused("configuration"),  # the flow was already completed (a token used twice)
    15: _result(ReasonCode.LIVENESS_EXPIRED, "no"),  # the token expired unfinished
    16: _result(ReasonCode.LIVENESS_FAILED, "no"),  # the person used up the retries
    17: Outcome(PENDING, ReasonCode.OK, "no"),  # not finished yet: keep polling
    201: _result(ReasonCode.LIVENESS_FAILED, "no"),  # WeChat could not fetch the video
    202: _result(ReasonCode.LIVENESS_FAILED, "no"),
    203: _refused("permission"),  # no permission
    204: _refused("permission"),  # not authorised
    301: _result(ReasonCode.NAME_NUMBER_MISMATCH, "no"),  # the card shown is another number
    302: _result(ReasonCode.NO_SUCH_RECORD, "no"),  # the ID card has expired
    303: _result(ReasonCode.LIVENESS_FAILED, "no"),  # the card scan failed
    1001: _result(ReasonCode.LIVENESS_FAILED, "no"),  # the liveness engine timed out
    1002: _result(ReasonCode.LIVENESS_FAILED, "yes"),  # suspected spoof
    1003: _result(ReasonCode.LIVENESS_FAILED, "no"),  # liveness checks: the person may retry
    1004: _result(ReasonCode.LIVENESS_FAILED, "no"),
    1005: _result(ReasonCode.LIVENESS_FAILED, "no"),
    1006: _result(ReasonCode.LIVENESS_FAILED, "no"),
    1007: _result(ReasonCode.LIVENESS_FAILED, "no"),
    1008: _result(ReasonCode.LIVENESS_FAILED, "no"),
    2001: _result(ReasonCode.LIVENESS_FAILED, "no"),  # the data source was busy
    2006: _result(ReasonCode.NAME_NUMBER_MISMATCH, "yes"),  # name and ID do not match
    2016: _result(ReasonCode.LIVENESS_FAILED, "yes"),  # face similarity below the threshold
    2017: _result(ReasonCode.LIVENESS_FAILED, "no"),  # the comparison engine was busy
    2018: _result(ReasonCode.DAILY_LIMIT_REACHED, "no"),  # per ID 15/min, 30/day
}

#: ``Response.Error.Code`` (HTTP 200). Source: the common error codes
#: (cloud.tencent.com/document/api/1007/31324) and FaceID's own
#: (tencentcloud/faceid/v20180301/errorcodes.py in the SDK); none of them is billed.
API_ERRORS: dict[str, Outcome] = {
    "AuthFailure.InvalidAuthorization": _refused("signature"),
    "AuthFailure.InvalidSecretId": _refused("credentials"),
    "AuthFailure.MFAFailure": _refused("permission"),
    "AuthFailure.SecretIdNotFound": _refused("credentials"),
    "AuthFailure.SignatureExpire": _refused("clock"),
    "AuthFailure.SignatureFailure": _refused("signature"),
    "AuthFailure.TokenFailure": _refused("credentials"),
    "AuthFailure.UnauthorizedOperation": _refused("permission"),
    "UnauthorizedOperation": _refused("permission"),
    "OperationDenied": _refused("permission"),
    "UnauthorizedOperation.NonAuthorize": _refused("account"),  # account not verified
    "UnauthorizedOperation.Nonactivated": _refused("account"),
    "UnauthorizedOperation.Activating": _refused("account"),
    "UnauthorizedOperation.ActivateError": _refused("account"),
    "UnauthorizedOperation.Arrears": _refused("account"),
    "UnauthorizedOperation.ChargeStatusException": _refused("account"),
    "IpNotInWhitelist": _refused("ip_allow_list"),
    "IpInBlacklist": _refused("ip_allow_list"),
    "InvalidParameterValue.RuleIdNotExist": _refused("configuration"),
    "InvalidParameterValue.RuleIdDisabled": _refused("configuration"),
    "InvalidParameterValue.BizTokenIllegal": _refused(""),  # a token not of this account/rule
    "InvalidParameterValue.BizTokenExpired": _result(ReasonCode.LIVENESS_EXPIRED, "no"),
    "InvalidParameter": _refused("configuration"),
    "InvalidParameter.UnsupportEncryptField": _refused("configuration"),
    "InvalidParameterValue": _refused("configuration"),
    "MissingParameter": _refused("configuration"),
    "UnknownParameter": _refused("configuration"),
    "InvalidAction": _refused("configuration"),
    "ActionOffline": _refused("configuration"),
    "NoSuchVersion": _refused("configuration"),
    "NoSuchProduct": _refused("configuration"),
    "UnsupportedOperation": _refused("configuration"),
    "UnsupportedProtocol": _refused("configuration"),
    "UnsupportedRegion": _refused("configuration"),
    "InvalidRequest": _refused("configuration"),
    "FailedOperation.IdFormatError": _result(ReasonCode.NO_SUCH_RECORD, "no"),
    "FailedOperation.NameFormatError": _result(ReasonCode.NAME_NUMBER_MISMATCH, "no"),
    "FailedOperation.IdNameMisMatch": _result(ReasonCode.NAME_NUMBER_MISMATCH, "no"),
    "FailedOperation.IdNoExistSystem": _result(ReasonCode.NO_SUCH_RECORD, "no"),
    "RequestLimitExceeded": _busy(),
    "RequestLimitExceeded.UinLimitExceeded": _busy(),
    "RequestLimitExceeded.GlobalRegionUinLimitExceeded": _busy(),
    "RequestLimitExceeded.IPLimitExceeded": _busy(),
    "FailedOperation.RequestLimitExceeded": _busy(),
    "LimitExceeded": _busy(),
    "InternalError": _failing(),
    "InternalError.UnKnown": _failing(),
    "InternalError.EncryptSystemError": _failing(),
    "ServiceUnavailable": _failing(),
    "ResourceUnavailable": _failing(),
    "FailedOperation.UnKnown": _failing(),
    "FailedOperation.DbError": _failing(),
    # The SDK's own codes for what happened on our side of the wire.
    "ClientNetworkError": _failing(),  # timeouts are told apart in _sdk_error
    "ServerNetworkError": _failing(),  # an HTTP status other than 200 (a gateway's 5xx)
    "InvalidCredential": _refused("credentials"),  # a key with spaces, or an empty one
}
# Codes not in the table, by their family (the part before the first dot).
_FAMILIES: dict[str, Outcome] = {
    "AuthFailure": _refused("credentials"),
    "UnauthorizedOperation": _refused("permission"),
    "InvalidParameter": _refused("configuration"),
    "InvalidParameterValue": _refused("configuration"),
    "MissingParameter": _refused("configuration"),
    "RequestLimitExceeded": _busy(),
    "InternalError": _failing(),
}
_UNKNOWN = Outcome(PERMANENT, ReasonCode.VENDOR_ERROR, "unknown")
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9.]{0,79}")
_BIZ_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}")
#: A well-formed BizToken nobody opened: what :meth:`TencentProvider.probe` asks about.
PROBE_BIZ_TOKEN = "00000000-0000-4000-8000-000000000000"  # noqa: S105 - no secret
CACHE_SECONDS = 24 * 60 * 60


def error_outcome(code: str) -> Outcome:
    if code in API_ERRORS:
        return API_ERRORS[code]
    return _FAMILIES.get(code.split(".", 1)[0], _UNKNOWN)


class _SdkLogFilter(logging.Filter):
    """The SDK logs whole requests and answers at DEBUG: keep only its warnings and errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


_sdk_logger = logging.getLogger("tencentcloud_sdk_common")
if not any(isinstance(f, _SdkLogFilter) for f in _sdk_logger.filters):
    _sdk_logger.addFilter(_SdkLogFilter())


class _PersonResult(Exception):
    """An error envelope that is the person's result (an expired token, a malformed ID)."""

    def __init__(self, reason: ReasonCode, request_id: str) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.request_id = request_id


class TencentProvider(BaseProvider):
    """Built from ``TENCENT_*`` settings; the keyword arguments override them (tests build one
    with a wrong secret that way). Thread-safe: one SDK client per thread."""

    name = "tencent"
    display_name = "Tencent Cloud"
    # IdCardVerification is documented for the resident ID number; whether it checks residence
    # permit numbers is not (vendor-contracts.md §5), so only the resident ID is offered.
    document_types = frozenset({"cn_resident_id"})
    checks_enterprises = False
    checks_identity_separately = True
    checks_birth_date = False
    notifications = "none"
    face_session_seconds = 7200  # BizToken validity
    required_settings = ("TENCENT_SECRET_ID", "TENCENT_SECRET_KEY", "TENCENT_FACE_RULE_ID")

    @classmethod
    def timeout(cls) -> float:
        return tencent_settings.TIMEOUT

    def __init__(
        self,
        *,
        secret_id: str | None = None,
        secret_key: str | None = None,
        endpoint: str | None = None,
        region: str | None = None,
        rule_id: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.endpoint = (endpoint or tencent_settings.ENDPOINT).rstrip("/")
        self._secret_id = tencent_settings.SECRET_ID if secret_id is None else secret_id
        self._secret_key = tencent_settings.SECRET_KEY if secret_key is None else secret_key
        self._region = tencent_settings.REGION if region is None else region
        self._rule_id = tencent_settings.FACE_RULE_ID if rule_id is None else rule_id
        self._timeout = tencent_settings.TIMEOUT if timeout is None else timeout
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"<TencentProvider {self.endpoint}>"

    # -- BaseProvider -----------------------------------------------------------------------

    def check_identity(self, *, request_id: str, identity: Identity) -> CheckResult:
        key = _cache_key("check", request_id)
        cached = cache.get(key)
        if isinstance(cached, CheckResult):
            return cached
        document_type = str(getattr(identity.document_type, "value", identity.document_type))
        if document_type not in self.document_types:
            raise ProviderPermanentError(
                f"tencent does not check documents of type {document_type}",
                diagnosis="configuration",
            )
        request = models.IdCardVerificationRequest()
        request.IdCard = identity.document_number
        request.Name = identity.name
        try:
            response = self._call("IdCardVerification", request)
        except _PersonResult as answer:
            result = _failed(answer.reason, answer.request_id or "tencent-unknown-request")
        else:
            ref = _request_id(response)
            code = response.Result
            outcome = ID_CARD_RESULTS.get(code) if isinstance(code, str) else None
            if outcome is None:
                raise ProviderPermanentError(
                    "tencent IdCardVerification answered an unknown Result",
                    reason_code=ReasonCode.VENDOR_ERROR,
                )
            _raise_unless_result(outcome, f"tencent IdCardVerification answered Result {code}")
            result = CheckResult(
                passed=outcome.reason == ReasonCode.OK, reason_code=outcome.reason, provider_ref=ref
            )
        cache.set(key, result, CACHE_SECONDS)
        return result

    def start_liveness(
        self, *, request_id: str, identity: Identity, return_url: str, notify_url: str
    ) -> LivenessSession:
        """``notify_url`` is not used: DetectAuth calls nobody back."""
        key = _cache_key("liveness", request_id)
        cached = cache.get(key)
        if isinstance(cached, LivenessSession):
            return cached
        self._require_rule()
        request = models.DetectAuthRequest()
        request.RuleId = self._rule_id
        request.IdCard = identity.document_number
        request.Name = identity.name
        request.RedirectUrl = return_url
        try:
            response = self._call("DetectAuth", request)
        except _PersonResult:
            raise ProviderPermanentError(
                "tencent DetectAuth answered an unexpected error",
                reason_code=ReasonCode.VENDOR_ERROR,
            ) from None
        token, url = response.BizToken, response.Url
        if not isinstance(token, str) or not _BIZ_TOKEN.fullmatch(token):
            raise ProviderPermanentError(
                "tencent DetectAuth answered no usable BizToken",
                reason_code=ReasonCode.VENDOR_ERROR,
            )
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ProviderPermanentError(
                "tencent DetectAuth answered a face session URL that is not http(s)",
                reason_code=ReasonCode.VENDOR_ERROR,
            )
        session = LivenessSession(provider_ref=token, url=url)
        cache.set(key, session, CACHE_SECONDS)
        return session

    def fetch_liveness_result(self, *, provider_ref: str) -> CheckResult | None:
        self._require_rule()
        try:
            response = self._detect_info(provider_ref)
        except _PersonResult as answer:
            return _failed(answer.reason, provider_ref)
        text = response.Text
        err_code = getattr(text, "ErrCode", None)
        if type(err_code) is not int:
            raise ProviderPermanentError(
                "tencent GetDetectInfoEnhanced answered no Text.ErrCode",
                reason_code=ReasonCode.VENDOR_ERROR,
            )
        outcome = DETECT_ERR_CODES.get(err_code)
        if outcome is None:
            raise ProviderPermanentError(
                "tencent GetDetectInfoEnhanced answered an unknown ErrCode",
                reason_code=ReasonCode.VENDOR_ERROR,
            )
        if outcome.kind == PENDING:
            return None
        _raise_unless_result(outcome, f"tencent GetDetectInfoEnhanced answered ErrCode {err_code}")
        return CheckResult(
            passed=outcome.reason == ReasonCode.OK,
            reason_code=outcome.reason,
            provider_ref=provider_ref,
        )

    def parse_notification(
        self, *, body: bytes, headers: Mapping[str, str], query: Mapping[str, str] | None = None
    ) -> str:
        raise ProviderPermanentError(
            "tencent sends no notifications (DetectAuth has no callback): refused"
        )

    def probe(self) -> str:
        """Ask for the result of a BizToken nobody opened: the vendor verifies our signature,
        checks the RuleId and answers ``InvalidParameterValue.BizTokenIllegal``, free."""
        self._require_rule()
        try:
            self._detect_info(PROBE_BIZ_TOKEN, probing=True)
        except _ProbeAnswered as answered:
            return (
                f"{self.endpoint} verified our signature and the RuleId, and answered "
                f"{answered.code}: no such face session"
            )
        except _PersonResult:
            pass
        raise ProviderPermanentError("tencent answered a face session nobody opened")

    # -- calls ------------------------------------------------------------------------------

    def _detect_info(self, biz_token: str, *, probing: bool = False) -> Any:
        request = models.GetDetectInfoEnhancedRequest()
        request.BizToken = biz_token
        request.RuleId = self._rule_id
        request.InfoType = "1"  # the text result only: never the ID images, frames or video
        return self._call("GetDetectInfoEnhanced", request, probing=probing)

    def _require_rule(self) -> None:
        if not self._rule_id:
            raise ProviderPermanentError(
                "TENCENT_FACE_RULE_ID is not set: DetectAuth needs the console's RuleId",
                diagnosis="configuration",
            )

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._build_client()
        return client

    def _build_client(self) -> Any:
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ProviderPermanentError(
                "TENCENT_ENDPOINT must be a URL of a scheme and a host, such as "
                "https://faceid.tencentcloudapi.com",
                diagnosis="configuration",
            )
        http_profile = HttpProfile(
            protocol=parts.scheme, endpoint=parts.netloc, reqTimeout=self._timeout
        )
        profile = ClientProfile(
            signMethod="TC3-HMAC-SHA256",
            httpProfile=http_profile,
            language="en-US",
            disable_region_breaker=True,
            request_client="realname",
            retryer=NoopRetryer(),
        )
        try:
            cred = credential.Credential(self._secret_id, self._secret_key)
        except TencentCloudSDKException as exc:
            raise _sdk_error(exc, action="(credentials)") from None
        return faceid_client.FaceidClient(cred, self._region, profile)

    def _call(self, action: str, request: Any, *, probing: bool = False) -> Any:
        """Call ``action`` and return the SDK's response model; an error the person caused
        raises :class:`_PersonResult`, anything else our errors. Messages name the action and
        the vendor's code only: the request holds personal data, the vendor's message may
        echo it."""
        try:
            return getattr(self._client(), action)(request)
        except TencentCloudSDKException as exc:
            code = exc.get_code()
            if probing and code in (
                "InvalidParameterValue.BizTokenIllegal",
                "InvalidParameterValue.BizTokenExpired",
            ):
                raise _ProbeAnswered(code) from None
            outcome = error_outcome(code) if isinstance(code, str) else _UNKNOWN
            if outcome.kind == RESULT:
                raise _PersonResult(
                    outcome.reason, _safe_request_id(exc.get_request_id())
                ) from None
            raise _sdk_error(exc, action=action) from None


class _ProbeAnswered(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# Exception type names the generated client wraps as codes (transport trouble while the answer
# is read, outside the SDK's own network handling).
_WRAPPED_TIMEOUTS = frozenset({"ReadTimeout", "ConnectTimeout", "Timeout", "ReadTimeoutError"})
_WRAPPED_NETWORK = frozenset(
    {"ConnectionError", "ChunkedEncodingError", "ProtocolError", "IncompleteRead"}
)


def _sdk_error(
    exc: TencentCloudSDKException, *, action: str
) -> ProviderTransientError | ProviderPermanentError:
    code = exc.get_code() if isinstance(exc.get_code(), str) else ""
    shown = code if _CODE.fullmatch(code) else "an unreadable code"
    if code == "ClientNetworkError" and isinstance(exc.__context__, requests.Timeout):
        return ProviderTransientError(f"tencent {action} timed out", reason_code=ReasonCode.TIMEOUT)
    if code in _WRAPPED_TIMEOUTS:
        # The generated client re-raises anything as an SDK exception named after its type:
        # a timeout or a dropped connection while the body is read arrives this way.
        return ProviderTransientError(f"tencent {action} timed out", reason_code=ReasonCode.TIMEOUT)
    if code in _WRAPPED_NETWORK:
        return ProviderTransientError(
            f"tencent {action} failed: {shown}", reason_code=ReasonCode.VENDOR_ERROR
        )
    outcome = error_outcome(code)
    message = f"tencent {action} failed: {shown}"
    if outcome.kind == TRANSIENT:
        return ProviderTransientError(message, reason_code=outcome.reason)
    return ProviderPermanentError(message, reason_code=outcome.reason, diagnosis=outcome.diagnosis)


def _raise_unless_result(outcome: Outcome, message: str) -> None:
    if outcome.kind == TRANSIENT:
        raise ProviderTransientError(message, reason_code=outcome.reason)
    if outcome.kind == PERMANENT:
        raise ProviderPermanentError(
            message, reason_code=outcome.reason, diagnosis=outcome.diagnosis
        )


def _failed(reason: ReasonCode, ref: str) -> CheckResult:
    return CheckResult(passed=reason == ReasonCode.OK, reason_code=reason, provider_ref=ref)


def _request_id(response: Any) -> str:
    ref = _safe_request_id(getattr(response, "RequestId", None))
    if not ref:
        raise ProviderPermanentError(
            "tencent answered without a RequestId", reason_code=ReasonCode.VENDOR_ERROR
        )
    return ref


def _safe_request_id(value: object) -> str:
    return value if isinstance(value, str) and _BIZ_TOKEN.fullmatch(value) else ""


def _cache_key(kind: str, request_id: str) -> str:
    return f"verification:tencent:{kind}:{hashlib.sha256(request_id.encode()).hexdigest()}"
