"""Our client for the sandbox identity provider (``manage.py run_sandbox_provider``).

The reference adapter: it talks to the sandbox over signed HTTP exactly as an adapter for a
real vendor would, so the code paths of tasks, retries and notifications are the real ones."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any

import httpx
from django.core.cache import cache

from sandbox import signing
from sandbox.app_settings import sandbox_settings

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

_ERROR_CODE = re.compile(r"[a-z_]{1,40}")
# The reasons each kind of check may answer with.
_CHECK_REASONS = frozenset(
    {
        ReasonCode.OK,
        ReasonCode.NAME_NUMBER_MISMATCH,
        ReasonCode.NO_SUCH_RECORD,
        ReasonCode.BIRTH_DATE_MISMATCH,
    }
)
_ENTERPRISE_REASONS = frozenset(
    {
        ReasonCode.OK,
        ReasonCode.COMPANY_MISMATCH,
        ReasonCode.LEGAL_REPRESENTATIVE_MISMATCH,
        ReasonCode.NO_SUCH_COMPANY,
    }
)
# The sandbox's refusals, in the words of ``base.DIAGNOSES``.
_DIAGNOSIS = {
    "unknown_app": "credentials",
    "bad_signature": "signature",
    "stale_timestamp": "clock",
    "replayed_nonce": "signature",
}
_LIVENESS_RESULTS = {
    "pass": ReasonCode.OK,
    "fail": ReasonCode.LIVENESS_FAILED,
    "expired": ReasonCode.LIVENESS_EXPIRED,
}


class SharedNonces:
    """Notification nonces remembered in the shared cache, so a replay is refused by every web
    process, not only by the one that saw the original."""

    def add(self, nonce: str, *, timestamp: int, now: float) -> bool:
        expires = max(float(timestamp), now) + signing.WINDOW_SECONDS - now
        return bool(cache.add(f"sandbox:notify-nonce:{nonce}", 1, timeout=int(expires) + 1))


class SandboxProvider(BaseProvider):
    """Built from ``SANDBOX_PROVIDER_*`` settings; the keyword arguments override them (tests
    build one with wrong credentials that way).

    One ``httpx.Client`` per instance: it is thread-safe and keeps connections alive. The nonce
    cache that refuses replayed notifications is per process, which is enough: the caller
    re-fetches the result rather than trusting a notification, so a replay gains nothing."""

    name = "sandbox"
    display_name = "Sandbox"
    document_types = frozenset(
        {
            "cn_resident_id",
            "hk_mo_travel_permit",
            "tw_travel_permit",
            "hk_mo_residence_permit",
            "tw_residence_permit",
            "foreign_permanent_resident_id",
        }
    )
    checks_enterprises = True
    checks_birth_date = True
    notifications = "signed"
    required_settings: tuple[str, ...] = ("SANDBOX_PROVIDER_SECRET",)

    @classmethod
    def timeout(cls) -> float:
        return sandbox_settings.TIMEOUT

    def __init__(
        self,
        *,
        url: str | None = None,
        app_id: str | None = None,
        secret: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.url = (url or sandbox_settings.URL).rstrip("/")
        self.app_id = app_id or sandbox_settings.APP_ID
        self._secret = sandbox_settings.SECRET if secret is None else secret
        self._client = httpx.Client(
            base_url=self.url,
            timeout=sandbox_settings.TIMEOUT if timeout is None else timeout,
            follow_redirects=False,
            headers={"User-Agent": "realname-sandbox-client"},
        )
        self._notification_nonces = SharedNonces()

    def close(self) -> None:
        self._client.close()

    # -- BaseProvider -----------------------------------------------------------------------

    def check_identity(self, *, request_id: str, identity: Identity) -> CheckResult:
        answer = self._call(
            "/api/v1/identity/check", {"request_id": request_id, **_identity_fields(identity)}
        )
        return _check_result(answer, _CHECK_REASONS, what="identity check")

    def check_enterprise(self, *, request_id: str, company: Company) -> CheckResult:
        answer = self._call(
            "/api/v1/enterprise/check",
            {
                "request_id": request_id,
                "company_name": company.name,
                "credit_code": company.credit_code,
                "legal_representative": company.legal_representative,
            },
        )
        return _check_result(answer, _ENTERPRISE_REASONS, what="enterprise check")

    def start_liveness(
        self, *, request_id: str, identity: Identity, return_url: str, notify_url: str
    ) -> LivenessSession:
        answer = self._call(
            "/api/v1/liveness/start",
            {
                "request_id": request_id,
                **_identity_fields(identity),
                "return_url": return_url,
                "notify_url": notify_url,
            },
        )
        url = _field(answer, "url")
        if not url.startswith(("https://", "http://")):
            raise ProviderPermanentError(
                "sandbox answered a face session URL that is not http(s)",
                reason_code=ReasonCode.VENDOR_ERROR,
            )
        return LivenessSession(provider_ref=_field(answer, "ref"), url=url)

    def fetch_liveness_result(self, *, provider_ref: str) -> CheckResult | None:
        answer = self._call("/api/v1/liveness/query", {"ref": provider_ref})
        status = _field(answer, "status")
        if status == "pending":
            return None
        if status not in _LIVENESS_RESULTS:
            raise ProviderPermanentError(
                "sandbox answered an unknown face session status",
                reason_code=ReasonCode.VENDOR_ERROR,
            )
        reason = _LIVENESS_RESULTS[status]
        return CheckResult(
            passed=reason == ReasonCode.OK, reason_code=reason, provider_ref=provider_ref
        )

    def parse_notification(
        self, *, body: bytes, headers: Mapping[str, str], query: Mapping[str, str] | None = None
    ) -> str:
        self._require_secret()
        try:
            signing.verify_signed(
                headers,
                secret=self._secret,
                app_id=self.app_id,
                method="POST",
                path=signing.NOTIFY_PATH,
                body=body,
                now=time.time(),
                nonces=self._notification_nonces,
            )
        except signing.SignatureError as refusal:
            raise ProviderPermanentError(f"sandbox notification refused: {refusal.code}") from None
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        ref = payload.get("ref") if isinstance(payload, dict) else None
        if not isinstance(ref, str) or not ref:
            raise ProviderPermanentError("sandbox notification names no session")
        return ref

    def probe(self) -> str:
        """Ask for a face session nobody opened: the sandbox answers 404 ``unknown_ref``."""
        try:
            self._call("/api/v1/liveness/query", {"ref": "lv_realname_probe"})
        except ProviderPermanentError as refusal:
            if "unknown_ref" in str(refusal):
                return f"{self.url} verified our signature and answered: no such session"
            raise
        raise ProviderPermanentError("sandbox answered a session nobody opened")

    # -- HTTP -------------------------------------------------------------------------------

    def _require_secret(self) -> None:
        if not self._secret:
            raise ProviderPermanentError(
                "SANDBOX_PROVIDER_SECRET is not set: the sandbox refuses unsigned calls"
            )

    def _call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a signed JSON request and return the verified JSON answer.

        Messages name the path and the status only: the payload holds personal data."""
        self._require_secret()
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        request = self._client.build_request(
            "POST", path, content=body, headers={"Content-Type": "application/json"}
        )
        headers = signing.signed_headers(
            secret=self._secret,
            app_id=self.app_id,
            method="POST",
            path=request.url.raw_path.decode("ascii").split("?", 1)[0],
            body=body,
        )
        request.headers.update(headers)
        try:
            response = self._client.send(request)
        except httpx.TimeoutException as exc:
            raise ProviderTransientError(
                f"sandbox {path} timed out", reason_code=ReasonCode.TIMEOUT
            ) from exc
        except httpx.TransportError as exc:
            raise ProviderTransientError(
                f"sandbox {path} unreachable ({type(exc).__name__})",
                reason_code=ReasonCode.VENDOR_ERROR,
            ) from exc
        status = response.status_code
        if status >= 500 or status == 429:
            # Not trusted, but harmless: the worst a forged one does is cause a retry.
            raise ProviderTransientError(
                f"sandbox {path} answered {status}", reason_code=ReasonCode.VENDOR_ERROR
            )
        if status >= 400:
            code = _error_code(response)
            raise ProviderPermanentError(
                f"sandbox {path} refused the request: {status} {code}",
                reason_code=ReasonCode.REJECTED_REQUEST,
                diagnosis=_DIAGNOSIS.get(code, ""),
            )
        if status != 200:
            raise ProviderPermanentError(
                f"sandbox {path} answered an unexpected {status}",
                reason_code=ReasonCode.VENDOR_ERROR,
            )
        if not signing.verify_response(
            response.headers,
            secret=self._secret,
            status=status,
            request_nonce=headers[signing.HEADER_NONCE],
            body=response.content,
            now=time.time(),
        ):
            raise ProviderPermanentError(
                f"sandbox {path} answer has a bad or stale signature",
                reason_code=ReasonCode.REJECTED_REQUEST,
            )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ProviderPermanentError(
                f"sandbox {path} answered something other than a JSON object",
                reason_code=ReasonCode.VENDOR_ERROR,
            )
        return answer


def _identity_fields(identity: Identity) -> dict[str, str | None]:
    return {
        "name": identity.name,
        # A DocumentType member or its value: send the value either way.
        "document_type": str(getattr(identity.document_type, "value", identity.document_type)),
        "document_number": identity.document_number,
        "birth_date": identity.birth_date.isoformat() if identity.birth_date else None,
    }


def _check_result(
    answer: Mapping[str, Any], reasons: frozenset[ReasonCode], *, what: str
) -> CheckResult:
    """A check's answer as a result; a reason that does not belong to this kind of check is
    the vendor's fault, not the person's."""
    ref = _field(answer, "ref")
    result = _field(answer, "result")
    reason = _field(answer, "reason")
    try:
        if result not in ("pass", "fail") or reason not in reasons:
            raise ValueError(result)
        return CheckResult(
            passed=result == "pass", reason_code=ReasonCode(reason), provider_ref=ref
        )
    except ValueError:
        raise ProviderPermanentError(
            f"sandbox {what} answered an unknown result", reason_code=ReasonCode.VENDOR_ERROR
        ) from None


def _field(answer: Mapping[str, Any], key: str) -> str:
    value = answer.get(key)
    if not isinstance(value, str) or not value:
        raise ProviderPermanentError(
            f"sandbox answer lacks {key}", reason_code=ReasonCode.VENDOR_ERROR
        )
    return value


def _error_code(response: httpx.Response) -> str:
    """The sandbox's error word (``bad_signature``...), never free text from the answer."""
    try:
        code = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    return code if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else ""
