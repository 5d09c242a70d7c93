"""Alipay open platform identity verification (``alipay.user.certify.open.*``).

Signed by hand with ``cryptography`` over httpx, not with Alipay's official ``alipay-sdk-python``:
that SDK is not installed, loads the app key only as PKCS#1 through ``rsa`` (Alipay's key tool
hands out PKCS#8, the usual failure), stamps ``timestamp`` with the host's local
``datetime.now()`` (Alipay reads it as Beijing time), and hides its own HTTP client, so timeouts,
retries and sharing across Celery threads would not be ours. The scheme is small: RSA2 =
SHA256withRSA (PKCS#1 v1.5) over the sorted, un-URL-encoded ``k=v&...`` of every non-empty
parameter but ``sign``; answers are verified with *Alipay's* public key over the exact
``*_response`` substring as received. Time stamps are Asia/Shanghai, explicitly.

The flow: ``initialize`` sends name, number and document type with ``outer_order_no`` and the
return URL and gets a ``certify_id`` (the provider ref); the face page is ``certify``, a signed
GET URL to the gateway built here (no call; it carries only the certify id); ``query`` is the
truth. Alipay checks name and number together with the face, so there is no separate identity
check (``checks_identity_separately = False``), and it sends nothing to our server
(``notifications = "none"``; the return URL carries no result).

``passed`` is "F" both when the person failed and while they have not finished (Alipay's
``passed``: "T认证通过 F认证不通过或者还没有认证", showdoc.com.cn/publicpay/8376283377362574;
``fail_reason`` is "扩展字段，默认不返回", alipay-sdk-java AlipayUserCertifyOpenQueryResponse).
So an "F" is pending until the session is :data:`FACE_WINDOW_SECONDS` old (the time our guidance
gives the person), and a failure after that (``LIVENESS_FAILED``): never a false pass, and at
worst a person who failed waits for the window before being told."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.core.cache import cache

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

SHANGHAI = ZoneInfo("Asia/Shanghai")
INITIALIZE = "alipay.user.certify.open.initialize"
CERTIFY = "alipay.user.certify.open.certify"
QUERY = "alipay.user.certify.open.query"
#: How long a face session may take before an "F" is final, and how long the session opened
#: for a request id is reused (the guidance asks the person to finish within 15 minutes).
FACE_WINDOW_SECONDS = 15 * 60
_CACHE_PREFIX = "alipay:certify:"

#: Our document types -> Alipay's ``cert_type`` (alipay-sdk-java OpenCertifyIdentityParam).
#: The foreign permanent resident ID card is not covered: PERMANENT_RESIDENCE_FOREIGNER appears
#: in no Alipay source found.
CERT_TYPES = {
    "cn_resident_id": "IDENTITY_CARD",
    "hk_mo_travel_permit": "HOME_VISIT_PERMIT_HK_MC",
    "tw_travel_permit": "HOME_VISIT_PERMIT_TAIWAN",
    "hk_mo_residence_permit": "RESIDENCE_PERMIT_HK_MC",
    "tw_residence_permit": "RESIDENCE_PERMIT_TAIWAN",
}


class AlipaySettings(AppSettings):
    prefix = "ALIPAY_"

    APP_ID = Setting(str, "", "The app id of the open platform app signed for the product.")
    APP_PRIVATE_KEY = Setting(
        str,
        "",
        "The app's RSA private key: PEM text (PKCS#8 'BEGIN PRIVATE KEY' or PKCS#1 'BEGIN RSA "
        "PRIVATE KEY', or the bare base64 Alipay's key tool shows) or the path of a PEM file.",
    )
    PUBLIC_KEY = Setting(
        str,
        "",
        "ALIPAY's public key from the app's console page (not the app's own): PEM text, bare "
        "base64 or a path. Every answer is verified with it.",
    )
    GATEWAY = Setting(str, "https://openapi.alipay.com/gateway.do", "The open platform gateway.")
    BIZ_CODE = Setting(str, "FACE", "The certify scene code signed for (FACE: face + ID).")
    TIMEOUT = Setting(float, 10.0, "Seconds one call may take before it counts as timed out.")


alipay_settings = AlipaySettings()


@dataclass(frozen=True)
class Outcome:
    """What one of Alipay's answers means to us."""

    kind: str  # "transient", "permanent" (a refusal of ours) or "person" (a failed result)
    reason: ReasonCode
    diagnosis: str = ""
    billed: str = "no"  # "yes", "no" or "unknown"


# Alipay's gateway codes and sub codes -> our outcome. Sources: Alipay's common error codes
# (doc 105806, open.alitrip.com/docs/doc.htm?articleId=105806&docType=1&treeId=262; the same
# table in alipay-sdk-java's error code list), the certify query's sub code
# (developer.aliyun.com/ask/285734). A sub code not listed falls back to its code's "*" row.
# No Alipay sub code for an IP allow-list refusal or a per-ID daily limit was found.
OUTCOMES: dict[tuple[str, str], Outcome] = {
    ("20000", "*"): Outcome("transient", ReasonCode.VENDOR_ERROR),
    ("20000", "isp.unknow-error"): Outcome("transient", ReasonCode.VENDOR_ERROR),
    ("20000", "aop.unknow-error"): Outcome("transient", ReasonCode.VENDOR_ERROR),
    ("20000", "isp.more-than-limit"): Outcome("transient", ReasonCode.VENDOR_BUSY),
    ("20001", "*"): Outcome("permanent", ReasonCode.REJECTED_REQUEST, "permission"),
    ("40001", "*"): Outcome("permanent", ReasonCode.REJECTED_REQUEST, "configuration"),
    ("40001", "isv.missing-signature"): Outcome(
        "permanent", ReasonCode.REJECTED_REQUEST, "signature"
    ),
    ("40001", "isv.missing-signature-key"): Outcome(
        "permanent", ReasonCode.REJECTED_REQUEST, "signature"
    ),
    ("40001", "isv.missing-app-id"): Outcome(
        "permanent", ReasonCode.REJECTED_REQUEST, "credentials"
    ),
    ("40002", "*"): Outcome("permanent", ReasonCode.REJECTED_REQUEST, "configuration"),
    ("40002", "isv.invalid-app-id"): Outcome(
        "permanent", ReasonCode.REJECTED_REQUEST, "credentials"
    ),
    ("40002", "isv.invalid-signature"): Outcome(
        "permanent", ReasonCode.REJECTED_REQUEST, "signature"
    ),
    ("40002", "isv.invalid-signature-type"): Outcome(
        "permanent", ReasonCode.REJECTED_REQUEST, "signature"
    ),
    ("40002", "isv.invalid-timestamp"): Outcome("permanent", ReasonCode.REJECTED_REQUEST, "clock"),
    ("40002", "isv.invalid-parameter"): Outcome(
        "permanent", ReasonCode.REJECTED_REQUEST, "configuration"
    ),
    ("40002", "isv.invalid-method"): Outcome(
        "permanent", ReasonCode.REJECTED_REQUEST, "configuration"
    ),
    ("40003", "*"): Outcome("permanent", ReasonCode.REJECTED_REQUEST, "account"),
    ("40003", "isv.missing-signature-config"): Outcome(
        "permanent", ReasonCode.REJECTED_REQUEST, "signature"
    ),
    ("40004", "*"): Outcome("permanent", ReasonCode.REJECTED_REQUEST, "configuration", "unknown"),
    ("40004", "OPEN_CERTIFY_BILL_NOT_EXIST"): Outcome("permanent", ReasonCode.REJECTED_REQUEST),
    ("40006", "*"): Outcome("permanent", ReasonCode.REJECTED_REQUEST, "permission"),
    ("40006", "isv.insufficient-isv-permissions"): Outcome(
        "permanent", ReasonCode.REJECTED_REQUEST, "permission"
    ),
}
#: ``query``'s ``passed`` (code 10000): the face session's result; billed per certify session.
PASSED = {
    "T": Outcome("person", ReasonCode.OK, billed="yes"),
    "F": Outcome("person", ReasonCode.LIVENESS_FAILED, billed="yes"),
}


def outcome_of(code: str, sub_code: str) -> Outcome:
    found = OUTCOMES.get((code, sub_code)) or OUTCOMES.get((code, "*"))
    return found or Outcome("permanent", ReasonCode.VENDOR_ERROR, billed="unknown")


class AlipayProvider(BaseProvider):
    """Built from ``ALIPAY_*`` settings; the keyword arguments override them (tests build one
    with another key that way, and move ``clock``). One ``httpx.Client`` per instance
    (thread-safe); the session cache is Django's, shared by every process."""

    name = "alipay"
    display_name = "Alipay"
    document_types = frozenset(CERT_TYPES)
    checks_enterprises = False
    checks_identity_separately = False
    checks_birth_date = False
    notifications = "none"
    face_session_seconds = FACE_WINDOW_SECONDS
    required_settings = ("ALIPAY_APP_ID", "ALIPAY_APP_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY")

    @classmethod
    def timeout(cls) -> float:
        return alipay_settings.TIMEOUT

    def __init__(
        self,
        *,
        gateway: str | None = None,
        app_id: str | None = None,
        app_private_key: str | None = None,
        alipay_public_key: str | None = None,
        biz_code: str | None = None,
        timeout: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.gateway = gateway or alipay_settings.GATEWAY
        self.app_id = app_id or alipay_settings.APP_ID
        self.biz_code = biz_code or alipay_settings.BIZ_CODE
        self._clock = clock
        self._private_key_text = (
            alipay_settings.APP_PRIVATE_KEY if app_private_key is None else app_private_key
        )
        self._public_key_text = (
            alipay_settings.PUBLIC_KEY if alipay_public_key is None else alipay_public_key
        )
        self._keys: tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey] | None = None
        self._client = httpx.Client(
            timeout=alipay_settings.TIMEOUT if timeout is None else timeout,
            follow_redirects=False,
            headers={"User-Agent": "realname-alipay-client"},
        )

    def __repr__(self) -> str:
        return f"<AlipayProvider app_id={self.app_id!r} gateway={self.gateway!r}>"

    def close(self) -> None:
        self._client.close()

    # -- BaseProvider -----------------------------------------------------------------------

    def check_identity(self, *, request_id: str, identity: Identity) -> CheckResult:
        raise ProviderPermanentError(
            "alipay checks name and number together with the face (start_liveness); it has no "
            "separate identity check",
            diagnosis="configuration",
        )

    def start_liveness(
        self, *, request_id: str, identity: Identity, return_url: str, notify_url: str
    ) -> LivenessSession:
        document_type = str(getattr(identity.document_type, "value", identity.document_type))
        cert_type = CERT_TYPES.get(document_type)
        if cert_type is None:
            raise ProviderPermanentError(
                f"alipay does not check the document type {document_type}",
                diagnosis="configuration",
            )
        order = outer_order_no(request_id)
        key = _CACHE_PREFIX + "order:" + order
        stored = cache.get(key)
        if isinstance(stored, dict) and isinstance(stored.get("certify_id"), str):
            return LivenessSession(stored["certify_id"], self.certify_url(stored["certify_id"]))
        answer = self._call(
            INITIALIZE,
            {
                "outer_order_no": order,
                "biz_code": self.biz_code,
                "identity_param": {
                    "identity_type": "CERT_INFO",
                    "cert_type": cert_type,
                    "cert_name": identity.name,
                    "cert_no": identity.document_number,
                },
                "merchant_config": {"return_url": return_url},
            },
        )
        certify_id = answer.get("certify_id")
        if not isinstance(certify_id, str) or not certify_id.isalnum():
            raise ProviderPermanentError(
                "alipay initialize answered no certify_id", reason_code=ReasonCode.VENDOR_ERROR
            )
        started = self._clock()
        cache.set(key, {"certify_id": certify_id}, timeout=FACE_WINDOW_SECONDS)
        cache.set(_started_key(certify_id), started, timeout=FACE_WINDOW_SECONDS + 60)
        return LivenessSession(provider_ref=certify_id, url=self.certify_url(certify_id))

    def fetch_liveness_result(self, *, provider_ref: str) -> CheckResult | None:
        answer = self._call(QUERY, {"certify_id": provider_ref})
        passed = answer.get("passed")
        if passed not in PASSED:
            raise ProviderPermanentError(
                "alipay query answered an unknown passed value", reason_code=ReasonCode.VENDOR_ERROR
            )
        if passed == "F" and self._within_window(provider_ref):
            return None  # not finished yet, or failed: Alipay does not say which
        reason = PASSED[str(passed)].reason
        return CheckResult(
            passed=reason == ReasonCode.OK, reason_code=reason, provider_ref=provider_ref
        )

    def parse_notification(
        self, *, body: bytes, headers: Mapping[str, str], query: Mapping[str, str] | None = None
    ) -> str:
        raise ProviderPermanentError(
            "alipay sends no notifications for certify sessions: the result is queried"
        )

    def probe(self) -> str:
        """Query a certify id nobody opened: Alipay answers 40004 OPEN_CERTIFY_BILL_NOT_EXIST
        once it has verified our signature, app id and time stamp."""
        try:
            self._call(QUERY, {"certify_id": "0" * 32})
        except ProviderPermanentError as refusal:
            if "OPEN_CERTIFY_BILL_NOT_EXIST" in str(refusal):
                return f"{self.gateway} verified our signature and answered: no such certify id"
            raise
        raise ProviderPermanentError("alipay answered a certify id nobody opened")

    # -- requests ---------------------------------------------------------------------------

    def certify_url(self, certify_id: str) -> str:
        """The face page: a signed GET to the gateway, carrying the certify id only."""
        params = self._signed_params(CERTIFY, {"certify_id": certify_id})
        return f"{self.gateway}?{urlencode(params)}"

    def _signed_params(self, method: str, biz: Mapping[str, Any]) -> dict[str, str]:
        private_key, _ = self._load_keys()
        params = {
            "app_id": self.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": datetime.fromtimestamp(time.time(), SHANGHAI).strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
            "version": "1.0",
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        content = "&".join(f"{k}={params[k]}" for k in sorted(params) if params[k])
        signature = private_key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
        params["sign"] = base64.b64encode(signature).decode("ascii")
        return params

    def _call(self, method: str, biz: Mapping[str, Any]) -> dict[str, Any]:
        """POST one signed call: common parameters in the query string, ``biz_content`` in the
        form body (so personal data never sits in a URL). Messages name the method and codes
        only."""
        params = self._signed_params(method, biz)
        body = {"biz_content": params.pop("biz_content")}
        try:
            response = self._client.post(
                self.gateway,
                params=params,
                content=urlencode(body).encode("ascii"),
                headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
            )
        except httpx.TimeoutException:
            raise ProviderTransientError(
                f"alipay {method} timed out", reason_code=ReasonCode.TIMEOUT
            ) from None
        except httpx.TransportError as exc:
            raise ProviderTransientError(
                f"alipay {method} unreachable ({type(exc).__name__})",
                reason_code=ReasonCode.VENDOR_ERROR,
            ) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise ProviderTransientError(f"alipay {method} answered {response.status_code}")
        if response.status_code != 200:
            raise ProviderPermanentError(
                f"alipay {method} answered HTTP {response.status_code}",
                reason_code=ReasonCode.VENDOR_ERROR,
            )
        answer = self._verified_answer(method, response.content)
        code, sub_code = str(answer.get("code", "")), str(answer.get("sub_code", ""))
        if code == "10000":
            return answer
        outcome = outcome_of(code, sub_code)
        words = f"alipay {method} refused: {code} {_word(sub_code)}".rstrip()
        if outcome.kind == "transient":
            raise ProviderTransientError(words, reason_code=outcome.reason)
        raise ProviderPermanentError(words, reason_code=outcome.reason, diagnosis=outcome.diagnosis)

    def _verified_answer(self, method: str, raw_bytes: bytes) -> dict[str, Any]:
        """The ``*_response`` object, verified over its characters as received. Only an error
        may come unsigned (the gateway cannot sign for an app it does not know); a success
        never does."""
        _, public_key = self._load_keys()
        try:
            raw = raw_bytes.decode("utf-8")
            envelope = json.loads(raw)
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict):
            raise ProviderPermanentError(
                f"alipay {method} answered something other than JSON",
                reason_code=ReasonCode.VENDOR_ERROR,
            )
        key = method.replace(".", "_") + "_response"
        if key not in envelope and "error_response" in envelope:
            key = "error_response"
        inner = envelope.get(key)
        substring = response_substring(raw, key)
        if not isinstance(inner, dict) or substring is None:
            raise ProviderPermanentError(
                f"alipay {method} answer lacks {key}", reason_code=ReasonCode.VENDOR_ERROR
            )
        sign = envelope.get("sign")
        if sign is None and str(inner.get("code")) not in ("", "10000"):
            return inner
        try:
            public_key.verify(
                base64.b64decode(str(sign), validate=True),
                substring.encode("utf-8"),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, binascii.Error, ValueError):
            raise ProviderPermanentError(
                f"alipay {method} answer failed verification with ALIPAY_PUBLIC_KEY",
                diagnosis="response_signature",
            ) from None
        return inner

    # -- keys and sessions ------------------------------------------------------------------

    def _load_keys(self) -> tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey]:
        if self._keys is None:
            if not self.app_id or not self._private_key_text or not self._public_key_text:
                raise ProviderPermanentError(
                    "ALIPAY_APP_ID, ALIPAY_APP_PRIVATE_KEY and ALIPAY_PUBLIC_KEY must be set",
                    diagnosis="credentials",
                )
            try:
                private_key = load_private_key(_key_text(self._private_key_text))
            except (ValueError, OSError):
                raise ProviderPermanentError(
                    "ALIPAY_APP_PRIVATE_KEY is not an RSA private key (PKCS#8 or PKCS#1 PEM)",
                    diagnosis="credentials",
                ) from None
            try:
                public_key = load_public_key(_key_text(self._public_key_text))
            except (ValueError, OSError):
                raise ProviderPermanentError(
                    "ALIPAY_PUBLIC_KEY is not an RSA public key", diagnosis="response_signature"
                ) from None
            self._keys = (private_key, public_key)  # same value from any thread: no lock
        return self._keys

    def _within_window(self, certify_id: str) -> bool:
        """Whether an "F" may still mean "not finished". When the cache no longer knows when
        the session opened (evicted, flushed), it may: the answer stays pending, and the
        lifecycle records the session as expired after VERIFICATION_FACE_SESSION_TIMEOUT,
        rather than failing a person who may still be on the face page."""
        started = cache.get(_started_key(certify_id))
        if not isinstance(started, int | float):
            return True
        return self._clock() - started < FACE_WINDOW_SECONDS


def outer_order_no(request_id: str) -> str:
    """Alipay's ``outer_order_no`` (at most 32 letters and digits) for our request id."""
    return hashlib.sha256(request_id.encode()).hexdigest()[:32]


def _started_key(certify_id: str) -> str:
    return _CACHE_PREFIX + "started:" + hashlib.sha256(certify_id.encode()).hexdigest()


def _word(sub_code: str) -> str:
    """A sub code as a word we may log (Alipay's, never free text)."""
    return sub_code if sub_code.replace(".", "").replace("-", "").replace("_", "").isalnum() else ""


def _key_text(value: str) -> str:
    """A key given as PEM text or bare base64, or as the path of a file holding it."""
    value = value.strip()
    if "-----BEGIN" in value or "\n" in value or len(value) > 300:
        return value
    return Path(value).read_text(encoding="ascii") if Path(value).is_file() else value


def _pem(text: str, label: str) -> bytes:
    text = text.strip()
    if "-----BEGIN" in text:
        return text.encode("ascii")
    body = "".join(text.split())
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n".encode("ascii")


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """PKCS#8 (``BEGIN PRIVATE KEY``) or PKCS#1 (``BEGIN RSA PRIVATE KEY``), armoured or bare."""
    candidates = [_pem(text, "PRIVATE KEY")]
    if "-----BEGIN" not in text:
        candidates.append(_pem(text, "RSA PRIVATE KEY"))
    for pem in candidates:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError):
            continue
        if isinstance(key, rsa.RSAPrivateKey):
            return key
    raise ValueError("not an RSA private key")


def load_public_key(text: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(_pem(text, "PUBLIC KEY"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def response_substring(raw: str, key: str) -> str | None:
    """The characters of the object under ``key`` exactly as received (strings skipped, so a
    brace inside a value does not count)."""
    quoted = json.dumps(key)
    at = raw.find(quoted)
    if at < 0:
        return None
    at += len(quoted)
    rest = raw[at:].lstrip(" \t\r\n")
    if not rest.startswith(":"):
        return None
    rest = rest[1:].lstrip(" \t\r\n")
    if not rest.startswith("{"):
        return None
    depth, in_string, escaped = 0, False, False
    for index, char in enumerate(rest):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return rest[: index + 1]
    return None
