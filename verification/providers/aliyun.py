"""Aliyun ID Verification (Cloudauth): ``Id2MetaVerify`` (name + ID number), ``InitFaceVerify`` /
``DescribeFaceVerify`` (the face session, API 2019-03-07) and ``EntElementVerify`` (company
three factors, API 2022-11-25).

It uses Aliyun's official SDKs from PyPI (``alibabacloud_cloudauth20190307``,
``alibabacloud_cloudauth20221125`` on ``alibabacloud_tea_openapi``) for what they do well and
what is easy to get wrong by hand: the two signatures (ACS3-HMAC-SHA256, or the legacy RPC
HMAC-SHA1 with ``ALIYUN_SIGNATURE_VERSION=v2``), the timestamps and nonces, the transport. It
calls their generic ``call_api`` with parameters it places itself, in the form body: the SDK's
own ``init_face_verify`` puts the name and ID number in the URL's query string, where proxies
and access logs keep them, while Aliyun's RPC gateway reads form parameters the same way.

SDK retries are off (no ``retry_options``, ``autoretry`` False): the Celery task is the one
place that retries. Each thread has its own SDK clients (:class:`threading.local`). SDK
exceptions are mapped by their ``code`` and status alone and never chained: their messages can
quote the request. Aliyun does not sign its answers, so there is nothing to verify on them
beyond TLS.

Idempotency: Aliyun has no idempotency key for ``Id2MetaVerify`` or ``EntElementVerify``, so
the adapter keeps each answer in the Django cache for a day under a hash of ``request_id`` (the
answer holds no personal data: pass/fail, reason, Aliyun's RequestId, and a keyed hash of the
subject to refuse the same id reused for someone else). A retried task within the day is
answered from the cache and billed once; after a day, or if the cache was flushed, Aliyun is
asked (and bills) again. ``InitFaceVerify`` gets ``OuterOrderNo`` = a hash of ``request_id``."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from alibabacloud_cloudauth20190307.client import Client as Cloudauth2019Client
from alibabacloud_cloudauth20221125.client import Client as Cloudauth2022Client
from alibabacloud_tea_openapi import utils_models as open_api_models
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from darabonba.exceptions import UnretryableException
from darabonba.runtime import RuntimeOptions
from django.core.cache import cache
from django.utils.crypto import constant_time_compare, salted_hmac

from kernel.app_settings import AppSettings, Setting

from .base import (
    BaseProvider,
    CheckResult,
    Company,
    Identity,
    LivenessSession,
    ProviderPermanentError,
    ProviderTransientError,
    ReasonCode,
)


class AliyunSettings(AppSettings):
    prefix = "ALIYUN_"

    ACCESS_KEY_ID = Setting(str, "", "The RAM user's AccessKey ID (RAM console).")
    ACCESS_KEY_SECRET = Setting(str, "", "The AccessKey secret that goes with the ID.")
    ENDPOINT = Setting(
        str,
        "https://cloudauth.aliyuncs.com",
        "Where Cloudauth is called: scheme and host[:port] (the sandbox's URL in development).",
    )
    SIGNATURE_VERSION = Setting(
        str,
        "v3",
        '"v3" signs ACS3-HMAC-SHA256 (the SDK default); "v2" (or "legacy") signs the older '
        "RPC HMAC-SHA1, for accounts or proxies that still need it.",
    )
    FACE_SCENE_ID = Setting(str, "", "The face verification scene's ID (a number, console).")
    FACE_PRODUCT_CODE = Setting(
        str, "ID_PRO", "InitFaceVerify's ProductCode: ID_PRO checks name, ID number and face."
    )
    ENTERPRISE_SCENE_CODE = Setting(
        str, "", "EntElementVerify's SceneCode (console); empty: enterprise checks are refused."
    )
    TIMEOUT = Setting(
        float, 10.0, "Seconds one call may take (connect, then read) before it is a timeout."
    )


aliyun_settings = AliyunSettings()

#: ``ReturnUrl``'s page in the H5 flow is Aliyun's; the web SDK's ``getMetaInfo()`` normally
#: supplies MetaInfo from the person's browser. We open the session server-side, so we send a
#: fixed H5 description (see docs/vendors/aliyun.md).
META_INFO = json.dumps(
    {
        "zimVer": "3.0.0",
        "appVersion": "1",
        "bioMetaInfo": "4.1.0:1150976,0",
        "appName": "com.aliyun.antcloudauth",
        "deviceType": "h5",
        "osVersion": "",
        "apdidToken": "",
        "deviceModel": "",
        "deviceBrand": "",
    },
    separators=(",", ":"),
)
CACHE_SECONDS = 24 * 60 * 60
_TOKEN_SALT = "verification.providers.aliyun.callback"  # noqa: S105 - a salt, not a password
_SUBJECT_SALT = "verification.providers.aliyun.subject"
_CERTIFY_ID = re.compile(r"[A-Za-z0-9]{1,64}")
_CODE = re.compile(r"[A-Za-z0-9._-]{1,80}")
_VERSION_2019 = "2019-03-07"
_VERSION_2022 = "2022-11-25"

# -- the mapping of Aliyun's codes -------------------------------------------------------------
# Sources (shared/reference/vendor-contracts.md §1): the gateway codes from Aliyun's common
# error codes (developer.aliyun.com/ask/278265) and the intl Id2MetaVerify doc; the business
# Codes and SubCodes from help.aliyun.com/zh/id-verification/financial-grade-id-verification/
# error-code and /code-collection; BizCode billing from the intl Id2MetaVerify doc
# (alibabacloud.com/help/zh/ekyc/latest/ok4bwxwmu1n94o76).

RESULT, PENDING, TRANSIENT, PERMANENT = "result", "pending", "transient", "permanent"


@dataclass(frozen=True)
class Outcome:
    """What one of Aliyun's codes means to us: a person's result (a failed CheckResult, or a
    refusal with that reason where no result can be returned), still pending, worth a retry,
    or a refusal an operator must fix (``diagnosis``). ``billed``: yes, no or unknown."""

    kind: str
    reason: ReasonCode
    diagnosis: str = ""
    billed: str = "no"


#: Gateway errors (HTTP 4xx/5xx, ``{RequestId, Code, Message}``), by Code.
GATEWAY_CODES: dict[str, Outcome] = {
    "SignatureDoesNotMatch": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "signature"),
    "IncompleteSignature": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "signature"),
    "MissingSignature": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "signature"),
    "SignatureNonceUsed": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "signature"),
    "InvalidAccessKeyId.NotFound": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "credentials"),
    "InvalidAccessKeyId.Inactive": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "credentials"),
    "InvalidTimeStamp.Expired": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "clock"),
    "InvalidTimeStamp.Format": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "clock"),
    "Forbidden.AccessKeyIpDenied": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "ip_allow_list"),
    "Forbidden.RAM": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "permission"),
    "Forbidden.RAMUserAccessDenied": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "permission"),
    "Forbidden.NoPermission": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "permission"),
    "Forbidden.AccountAccessDenied": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "account"),
    "MissingParameter": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "configuration"),
    "InvalidParameter": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "configuration"),
    "InvalidAction.NotFound": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "configuration"),
    # Too many abnormal repeats for this identity: the per-ID limit, the person's result.
    "Forbidden.ExceptionRepeatedInvoke": Outcome(RESULT, ReasonCode.DAILY_LIMIT_REACHED),
    "Throttling": Outcome(TRANSIENT, ReasonCode.VENDOR_BUSY),
    "Throttling.User": Outcome(TRANSIENT, ReasonCode.VENDOR_BUSY),
    "Throttling.Api": Outcome(TRANSIENT, ReasonCode.VENDOR_BUSY),
    "ServiceUnavailable": Outcome(TRANSIENT, ReasonCode.VENDOR_ERROR),
    "InternalError": Outcome(TRANSIENT, ReasonCode.VENDOR_ERROR),
    "Forbidden.ExceptionDataSource": Outcome(TRANSIENT, ReasonCode.VENDOR_ERROR),
}

#: Business errors (HTTP 200, ``Code`` other than "200"), by Code, for every action.
BUSINESS_CODES: dict[str, Outcome] = {
    "400": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "configuration"),  # empty parameter
    "401": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "configuration"),  # invalid parameter
    "402": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "configuration"),  # app config missing
    "403": Outcome(PENDING, ReasonCode.OK),  # Describe: not finished
    "404": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "configuration"),  # no such scene
    "406": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST),  # Describe: invalid CertifyId
    "410": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "permission"),  # OSS not authorised
    "411": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "permission"),  # RAM permission
    "412": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "account"),  # in arrears
    "414": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "configuration"),  # device (MetaInfo)
    "415": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "configuration"),  # SDK version
    "416": Outcome(PERMANENT, ReasonCode.REJECTED_REQUEST, "configuration"),  # OS version
    # No usable comparison photo, or the identity failed 201/202/203 before: the person's.
    "417": Outcome(RESULT, ReasonCode.NO_SUCH_RECORD),
    "418": Outcome(RESULT, ReasonCode.DAILY_LIMIT_REACHED),  # too many face attempts today
    "424": Outcome(PENDING, ReasonCode.OK),  # Describe: not found or not completed
    "427": Outcome(RESULT, ReasonCode.LIVENESS_FAILED),  # blocked by the risk policy
    "500": Outcome(TRANSIENT, ReasonCode.VENDOR_ERROR),
}

#: Id2MetaVerify's ResultObject.BizCode.
ID2META_BIZ_CODES: dict[str, Outcome] = {
    "1": Outcome(RESULT, ReasonCode.OK, billed="yes"),
    "2": Outcome(RESULT, ReasonCode.NAME_NUMBER_MISMATCH, billed="yes"),
    "3": Outcome(RESULT, ReasonCode.NO_SUCH_RECORD, billed="no"),
}

#: EntElementVerify's Result.BizCode (billing is not documented); BizCode 2 is told apart by
#: ReasonDetail: LegalPersonNameFlag alone is the representative, anything else the company.
ENT_BIZ_CODES: dict[str, Outcome] = {
    "1": Outcome(RESULT, ReasonCode.OK, billed="unknown"),
    "2": Outcome(RESULT, ReasonCode.COMPANY_MISMATCH, billed="unknown"),
    "3": Outcome(RESULT, ReasonCode.NO_SUCH_COMPANY, billed="unknown"),
}

#: DescribeFaceVerify's ResultObject.SubCode when Passed is "F" ("T" is a pass, whatever the
#: SubCode says: Passed is authoritative). A SubCode not listed is LIVENESS_FAILED.
SUB_CODES: dict[str, Outcome] = {
    "200": Outcome(RESULT, ReasonCode.OK, billed="unknown"),
    "201": Outcome(RESULT, ReasonCode.NAME_NUMBER_MISMATCH, billed="unknown"),
    "202": Outcome(RESULT, ReasonCode.NO_SUCH_RECORD, billed="unknown"),
    "203": Outcome(RESULT, ReasonCode.LIVENESS_FAILED, billed="unknown"),  # no usable photo
    "204": Outcome(RESULT, ReasonCode.LIVENESS_FAILED, billed="unknown"),  # face mismatch
    "205": Outcome(RESULT, ReasonCode.LIVENESS_FAILED, billed="unknown"),  # liveness risk
}


class AliyunProvider(BaseProvider):
    """Built from ``ALIYUN_*`` settings; the keyword arguments override them (tests build one
    with a wrong secret that way)."""

    name = "aliyun"
    display_name = "Aliyun"
    document_types = frozenset({"cn_resident_id", "hk_mo_residence_permit", "tw_residence_permit"})
    checks_enterprises = True
    checks_identity_separately = True
    checks_birth_date = False
    notifications = "hint"
    face_session_seconds = 30 * 60  # CertifyUrl is valid 30 minutes
    required_settings = ("ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_FACE_SCENE_ID")

    @classmethod
    def timeout(cls) -> float:
        return aliyun_settings.TIMEOUT

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        signature_version: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.endpoint = endpoint or aliyun_settings.ENDPOINT
        self._key_id = aliyun_settings.ACCESS_KEY_ID if access_key_id is None else access_key_id
        self._secret = (
            aliyun_settings.ACCESS_KEY_SECRET if access_key_secret is None else access_key_secret
        )
        self._signature_version = (signature_version or aliyun_settings.SIGNATURE_VERSION).lower()
        self._timeout = aliyun_settings.TIMEOUT if timeout is None else timeout
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"<AliyunProvider {self.endpoint}>"

    # -- BaseProvider -----------------------------------------------------------------------

    def check_identity(self, *, request_id: str, identity: Identity) -> CheckResult:
        subject = _subject_digest("identity", identity.name, identity.document_number)
        cached = _cached("identity", request_id, subject)
        if cached is not None:
            return cached
        try:
            answer = self._call(
                "Id2MetaVerify",
                _VERSION_2019,
                {
                    "ParamType": "normal",
                    "IdentifyNum": identity.document_number,
                    "UserName": identity.name,
                },
            )
        except _PersonResult as refusal:
            return refusal.check_result()
        if (outcome := self._business_outcome(answer, "Id2MetaVerify")) is not None:
            return self._remember("identity", request_id, subject, outcome, answer)
        biz_code = str(_object(answer, "ResultObject").get("BizCode", ""))
        outcome = ID2META_BIZ_CODES.get(biz_code)
        if outcome is None:
            raise ProviderPermanentError(
                "aliyun Id2MetaVerify answered an unknown BizCode",
                reason_code=ReasonCode.VENDOR_ERROR,
            )
        return self._remember("identity", request_id, subject, outcome, answer)

    def check_enterprise(self, *, request_id: str, company: Company) -> CheckResult:
        scene_code = aliyun_settings.ENTERPRISE_SCENE_CODE
        if not scene_code:
            raise ProviderPermanentError(
                "ALIYUN_ENTERPRISE_SCENE_CODE is not set: aliyun cannot check enterprises",
                diagnosis="configuration",
            )
        subject = _subject_digest(
            "enterprise", company.name, company.credit_code, company.legal_representative
        )
        cached = _cached("enterprise", request_id, subject)
        if cached is not None:
            return cached
        merchant_id = _short_id(request_id)
        try:
            answer = self._call(
                "EntElementVerify",
                _VERSION_2022,
                {
                    "SceneCode": scene_code,
                    "MerchantBizId": merchant_id,
                    "MerchantUserId": merchant_id,
                    "InfoVerifyType": "ENT_3META",
                    "EntName": company.name,
                    "LicenseNo": company.credit_code,
                    "LegalPersonName": company.legal_representative,
                    "UserAuthorization": "1",
                },
            )
        except _PersonResult as refusal:
            return refusal.check_result()
        if (outcome := self._business_outcome(answer, "EntElementVerify")) is not None:
            return self._remember("enterprise", request_id, subject, outcome, answer)
        result = _object(answer, "Result")
        outcome = ENT_BIZ_CODES.get(str(result.get("BizCode", "")))
        if outcome is None:
            raise ProviderPermanentError(
                "aliyun EntElementVerify answered an unknown BizCode",
                reason_code=ReasonCode.VENDOR_ERROR,
            )
        if outcome.reason == ReasonCode.OK and str(result.get("Status") or "1") not in (
            ENT_OPERATING_STATUSES
        ):
            # The three factors match a company that is no longer in business.
            outcome = Outcome(RESULT, ReasonCode.COMPANY_NOT_OPERATING, billed=outcome.billed)
        if outcome.reason == ReasonCode.COMPANY_MISMATCH:
            flags = {flag.strip() for flag in str(result.get("ReasonDetail") or "").split(",")}
            if "LegalPersonNameFlag" in flags and "EntNameFlag" not in flags:
                outcome = Outcome(
                    RESULT, ReasonCode.LEGAL_REPRESENTATIVE_MISMATCH, billed="unknown"
                )
        return self._remember("enterprise", request_id, subject, outcome, answer)

    def start_liveness(
        self, *, request_id: str, identity: Identity, return_url: str, notify_url: str
    ) -> LivenessSession:
        # Aliyun does not deduplicate InitFaceVerify by OuterOrderNo: a retried task (a read
        # timeout after Aliyun opened the session) would open a second one. The session opened
        # for this request id is kept for its lifetime, with a keyed hash of whose it is.
        subject = _subject_digest("liveness", identity.name, identity.document_number, return_url)
        key = _cache_key("liveness", request_id)
        stored = cache.get(key)
        if isinstance(stored, dict):
            if not constant_time_compare(str(stored.get("subject", "")), subject):
                raise ProviderPermanentError(
                    "aliyun face session: request_id_reused for other data"
                )
            return LivenessSession(provider_ref=stored["ref"], url=stored["url"])
        outer_order_no = _short_id(request_id)
        answer = self._call(
            "InitFaceVerify",
            _VERSION_2019,
            {
                "SceneId": self._scene_id(),
                "OuterOrderNo": outer_order_no,
                "ProductCode": aliyun_settings.FACE_PRODUCT_CODE,
                "Model": "LIVENESS",
                "CertType": "IDENTITY_CARD",
                "CertName": identity.name,
                "CertNo": identity.document_number,
                "MetaInfo": META_INFO,
                "ReturnUrl": return_url,
                "CallbackUrl": notify_url,
                "CallbackToken": callback_token(outer_order_no),
            },
        )
        outcome = self._business_outcome(answer, "InitFaceVerify")
        if outcome is not None:
            # A person's result (418 daily limit...) cannot be a session: a refusal with it.
            raise ProviderPermanentError(
                f"aliyun InitFaceVerify answered Code {_code(answer)}",
                reason_code=outcome.reason,
            )
        found = _object(answer, "ResultObject")
        certify_id, url = str(found.get("CertifyId") or ""), str(found.get("CertifyUrl") or "")
        if not _CERTIFY_ID.fullmatch(certify_id):
            raise ProviderPermanentError(
                "aliyun InitFaceVerify answered no CertifyId", reason_code=ReasonCode.VENDOR_ERROR
            )
        if not url.startswith(("https://", "http://")):
            # Aliyun gives no CertifyUrl when it does not accept MetaInfo as a web client's.
            raise ProviderPermanentError(
                "aliyun InitFaceVerify answered no CertifyUrl (MetaInfo or ProductCode refused)",
                diagnosis="configuration",
            )
        cache.set(
            key,
            {"subject": subject, "ref": certify_id, "url": url},
            timeout=self.face_session_seconds,
        )
        return LivenessSession(provider_ref=certify_id, url=url)

    def fetch_liveness_result(self, *, provider_ref: str) -> CheckResult | None:
        if not _CERTIFY_ID.fullmatch(provider_ref):
            raise ProviderPermanentError("not an aliyun CertifyId")
        answer = self._call(
            "DescribeFaceVerify",
            _VERSION_2019,
            {"SceneId": self._scene_id(), "CertifyId": provider_ref},
        )
        outcome = self._business_outcome(answer, "DescribeFaceVerify")
        if outcome is None:
            found = _object(answer, "ResultObject")
            passed = found.get("Passed")
            if passed not in ("T", "F"):
                raise ProviderPermanentError(
                    "aliyun DescribeFaceVerify answered no Passed",
                    reason_code=ReasonCode.VENDOR_ERROR,
                )
            if passed == "T":
                outcome = SUB_CODES["200"]
            else:
                outcome = SUB_CODES.get(
                    str(found.get("SubCode", "")), Outcome(RESULT, ReasonCode.LIVENESS_FAILED)
                )
                if outcome.reason == ReasonCode.OK:  # "F" with SubCode 200: still a failure
                    outcome = Outcome(RESULT, ReasonCode.LIVENESS_FAILED)
        if outcome.kind == PENDING:
            return None
        return CheckResult(
            passed=outcome.reason == ReasonCode.OK,
            reason_code=outcome.reason,
            provider_ref=provider_ref,
        )

    def parse_notification(
        self, *, body: bytes, headers: Mapping[str, str], query: Mapping[str, str] | None = None
    ) -> str:
        """Aliyun's callback is an unsigned GET; ``callbackToken`` is ours (see
        :func:`callback_token`), so a callback without a valid one is not Aliyun's."""
        query = query or {}
        token = query.get("callbackToken", "")
        certify_id = query.get("certifyId", "")
        if not verify_callback_token(token):
            raise ProviderPermanentError("aliyun callback without a valid callbackToken")
        if not _CERTIFY_ID.fullmatch(certify_id):
            raise ProviderPermanentError("aliyun callback names no CertifyId")
        return certify_id

    def probe(self) -> str:
        """DescribeFaceVerify of a CertifyId nobody opened: Aliyun answers Code 424."""
        answer = self._call(
            "DescribeFaceVerify",
            _VERSION_2019,
            {"SceneId": self._scene_id(), "CertifyId": "0" * 32},
        )
        code = _code(answer)
        if code in ("424", "406"):
            return f"{self.endpoint} verified our signature and answered: no such face session"
        outcome = BUSINESS_CODES.get(code)
        raise ProviderPermanentError(
            f"aliyun answered Code {code} to a face session nobody opened",
            reason_code=ReasonCode.REJECTED_REQUEST,
            diagnosis=outcome.diagnosis if outcome else "",
        )

    # -- results -----------------------------------------------------------------------------

    def _business_outcome(self, answer: Mapping[str, Any], action: str) -> Outcome | None:
        """None for Code "200"; the outcome of any other Code, raised when it is no result."""
        code = _code(answer)
        if code == "200":
            return None
        outcome = BUSINESS_CODES.get(code)
        if outcome is None:
            raise ProviderPermanentError(
                f"aliyun {action} answered an unknown Code {code}",
                reason_code=ReasonCode.REJECTED_REQUEST,
            )
        _raise_unless_result(outcome, f"aliyun {action} answered Code {code}")
        return outcome

    def _remember(
        self,
        kind: str,
        request_id: str,
        subject: str,
        outcome: Outcome,
        answer: Mapping[str, Any],
    ) -> CheckResult:
        if outcome.kind != RESULT:
            raise ProviderPermanentError(
                "aliyun answered a code that is no result here", reason_code=ReasonCode.VENDOR_ERROR
            )
        ref = str(answer.get("RequestId") or "")
        if not ref or not _CODE.fullmatch(ref):
            raise ProviderPermanentError(
                "aliyun answer lacks a RequestId", reason_code=ReasonCode.VENDOR_ERROR
            )
        result = CheckResult(
            passed=outcome.reason == ReasonCode.OK, reason_code=outcome.reason, provider_ref=ref
        )
        if outcome.reason == ReasonCode.DAILY_LIMIT_REACHED:
            return result  # a per-ID limit lifts: a retry may pass
        cache.set(
            _cache_key(kind, request_id),
            {"subject": subject, "reason": str(result.reason_code), "ref": ref},
            CACHE_SECONDS,
        )
        return result

    # -- calls -------------------------------------------------------------------------------

    def _scene_id(self) -> str:
        scene_id = aliyun_settings.FACE_SCENE_ID
        if not scene_id.isdigit():
            raise ProviderPermanentError(
                "ALIYUN_FACE_SCENE_ID is not set to a scene's number", diagnosis="configuration"
            )
        return scene_id

    def _clients(self) -> tuple[Cloudauth2019Client, Cloudauth2022Client]:
        """This thread's SDK clients (the SDK does not promise thread safety)."""
        clients = getattr(self._local, "clients", None)
        if clients is None:
            if not (self._key_id and self._secret):
                raise ProviderPermanentError(
                    "ALIYUN_ACCESS_KEY_ID or ALIYUN_ACCESS_KEY_SECRET is not set",
                    diagnosis="credentials",
                )
            parts = urlsplit(self.endpoint)
            if (
                parts.scheme not in ("http", "https")
                or not parts.netloc
                or parts.path
                not in (
                    "",
                    "/",
                )
            ):
                raise ProviderPermanentError(
                    "ALIYUN_ENDPOINT is not a URL of scheme and host[:port]",
                    diagnosis="configuration",
                )
            if self._signature_version not in ("v3", "v2", "legacy"):
                raise ProviderPermanentError(
                    'ALIYUN_SIGNATURE_VERSION must be "v3" or "v2"', diagnosis="configuration"
                )
            milliseconds = max(1, int(self._timeout * 1000))
            config = open_api_models.Config(
                access_key_id=self._key_id,
                access_key_secret=self._secret,
                endpoint=parts.netloc,
                protocol=parts.scheme,
                read_timeout=milliseconds,
                connect_timeout=milliseconds,
                signature_algorithm="v2" if self._signature_version != "v3" else None,
                retry_options=None,
                user_agent="realname",
            )
            clients = (Cloudauth2019Client(config), Cloudauth2022Client(config))
            self._local.clients = clients
        return clients

    def _call(self, action: str, version: str, body: dict[str, str]) -> dict[str, Any]:
        """One signed RPC call with every parameter in the form body; the JSON answer.

        Messages name the action, Aliyun's code and the HTTP status only."""
        client_2019, client_2022 = self._clients()
        client = client_2022 if version == _VERSION_2022 else client_2019
        params = open_api_models.Params(
            action=action,
            version=version,
            protocol="HTTPS",
            pathname="/",
            method="POST",
            auth_type="AK",
            style="RPC",
            req_body_type="formData",
            body_type="json",
        )
        request = open_api_models.OpenApiRequest(body=body)
        milliseconds = max(1, int(self._timeout * 1000))
        runtime = RuntimeOptions(
            autoretry=False,
            max_attempts=0,
            read_timeout=milliseconds,
            connect_timeout=milliseconds,
        )
        try:
            response = client.call_api(params, request, runtime)
        except AlibabaCloudException as exc:
            raise _gateway_error(action, exc) from None
        except UnretryableException as exc:
            raise _transport_error(action, exc) from None
        answer = response.get("body") if isinstance(response, dict) else None
        if not isinstance(answer, dict):
            raise ProviderPermanentError(
                f"aliyun {action} answered something other than a JSON object",
                reason_code=ReasonCode.VENDOR_ERROR,
            )
        return answer


def _gateway_error(action: str, exc: AlibabaCloudException) -> Exception:
    code = str(exc.code or "")
    code = code if _CODE.fullmatch(code) else "unknown"
    status = exc.status_code if isinstance(exc.status_code, int) else 0
    message = f"aliyun {action} refused: HTTP {status} {code}"
    outcome = GATEWAY_CODES.get(code) or next(
        (o for prefix, o in GATEWAY_CODES.items() if code.startswith(prefix + ".")), None
    )
    if outcome is None:
        if status >= 500:
            return ProviderTransientError(message, reason_code=ReasonCode.VENDOR_ERROR)
        return ProviderPermanentError(message, reason_code=ReasonCode.REJECTED_REQUEST)
    if outcome.kind == TRANSIENT:
        return ProviderTransientError(message, reason_code=outcome.reason)
    if outcome.kind == RESULT:
        request_id = str(exc.request_id or "")
        return _PersonResult(
            message, outcome, ref=request_id if _CODE.fullmatch(request_id) else ""
        )
    return ProviderPermanentError(message, reason_code=outcome.reason, diagnosis=outcome.diagnosis)


class _PersonResult(ProviderPermanentError):
    """A gateway error that is the person's result (the per-ID limit): check_identity turns it
    into a failed CheckResult; elsewhere it is a refusal with that reason."""

    def __init__(self, message: str, outcome: Outcome, *, ref: str) -> None:
        super().__init__(message, reason_code=outcome.reason)
        self.outcome = outcome
        self.ref = ref or "aliyun-refused"

    def check_result(self) -> CheckResult:
        """Not remembered for the request id: a per-ID limit lifts, a retry may pass."""
        return CheckResult(passed=False, reason_code=self.outcome.reason, provider_ref=self.ref)


def _transport_error(action: str, exc: UnretryableException) -> ProviderTransientError:
    inner = getattr(exc, "inner_exception", None)
    cause = getattr(inner, "__context__", None)
    if isinstance(cause, requests.Timeout) or isinstance(inner, requests.Timeout):
        return ProviderTransientError(f"aliyun {action} timed out", reason_code=ReasonCode.TIMEOUT)
    kind = type(cause or inner).__name__
    return ProviderTransientError(
        f"aliyun {action} failed ({kind})", reason_code=ReasonCode.VENDOR_ERROR
    )


def _raise_unless_result(outcome: Outcome, message: str) -> None:
    if outcome.kind == TRANSIENT:
        raise ProviderTransientError(message, reason_code=outcome.reason)
    if outcome.kind == PERMANENT:
        raise ProviderPermanentError(
            message, reason_code=outcome.reason, diagnosis=outcome.diagnosis
        )


def _code(answer: Mapping[str, Any]) -> str:
    code = str(answer.get("Code", ""))
    return code if _CODE.fullmatch(code) else "unknown"


def _object(answer: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    found = answer.get(key)
    if not isinstance(found, dict):
        raise ProviderPermanentError(
            f"aliyun answer lacks {key}", reason_code=ReasonCode.VENDOR_ERROR
        )
    return found


# -- idempotency and the callback token ---------------------------------------------------------


#: EntElementVerify ``Result.Status`` of a company in business: 1 open, 2 relocated. The others
#: (3 deregistered, 4 revoked, 5 cancelled, 6 suspended, 0 other) cannot be verified
#: (W:alibabacloud_cloudauth20221125 EntElementVerifyResponseBodyResult).
ENT_OPERATING_STATUSES = frozenset({"1", "2"})


def _short_id(request_id: str) -> str:
    """OuterOrderNo / MerchantBizId: 32 alphanumerics, the same for the same request id."""
    return hashlib.sha256(request_id.encode()).hexdigest()[:32]


def _cache_key(kind: str, request_id: str) -> str:
    return f"aliyun:{kind}:{hashlib.sha256(request_id.encode()).hexdigest()}"


def _subject_digest(*parts: str) -> str:
    """A keyed hash of what was checked: tells a retry from an id reused for someone else."""
    return salted_hmac(_SUBJECT_SALT, "\x1f".join(parts), algorithm="sha256").hexdigest()


def _cached(kind: str, request_id: str, subject: str) -> CheckResult | None:
    stored = cache.get(_cache_key(kind, request_id))
    if not isinstance(stored, dict):
        return None
    if not constant_time_compare(str(stored.get("subject", "")), subject):
        raise ProviderPermanentError(f"aliyun {kind} check: request_id_reused for other data")
    reason = ReasonCode(stored["reason"])
    return CheckResult(
        passed=reason == ReasonCode.OK, reason_code=reason, provider_ref=stored["ref"]
    )


def callback_token(nonce: str) -> str:
    """``nonce.mac``: a MAC of ours (keyed by SECRET_KEY) that Aliyun echoes in its callback."""
    return f"{nonce}.{salted_hmac(_TOKEN_SALT, nonce, algorithm='sha256').hexdigest()}"


def verify_callback_token(token: str) -> bool:
    nonce, _, mac = token.partition(".")
    if not nonce or not mac or len(token) > 200:
        return False
    return constant_time_compare(callback_token(nonce), token)
