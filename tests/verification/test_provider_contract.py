"""The provider contract, run against our sandbox client and the real sandbox service, plus
what is particular to the sandbox client (expiry, forged answers, configuration)."""

from __future__ import annotations

import csv
import json
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from stdnum.cn import uscc

from sandbox import signing
from sandbox.registry import DEMO_COMPANY_REGISTRY
from tests.factories import DEMO, DEMO_BIRTH_DATE
from tests.sandbox_harness import (
    InProcessSandbox,
    NotificationReceiver,
    SandboxHandle,
    running_notification_receiver,
    serve_in_thread,
)
from tests.verification.provider_contract import (
    RETURN_URL,
    ContractCompanies,
    ContractIdentities,
    ProviderContract,
    assert_no_personal_data,
    new_request_id,
)
from verification.providers import get_provider
from verification.providers.base import (
    Company,
    Identity,
    LivenessSession,
    ProviderPermanentError,
    ProviderTransientError,
    ReasonCode,
)
from verification.providers.sandbox import SandboxProvider

# From the demo registry (sandbox/README.md).
KNOWN = Identity(DEMO["name"], DEMO["document_type"], DEMO["document_number"], DEMO_BIRTH_DATE)
# A valid check digit, but nobody in the demo registry holds it.
UNKNOWN = Identity("测试甲", "cn_resident_id", "110101199001019992", date(1990, 1, 1))


def demo_companies() -> list[Company]:
    """The sandbox's demo company registry (sandbox/README.md)."""
    with DEMO_COMPANY_REGISTRY.open(encoding="utf-8") as handle:
        return [
            Company(row["company_name"], row["credit_code"], row["legal_representative"])
            for row in csv.DictReader(handle)
        ]


def unregistered_credit_code(companies: list[Company]) -> str:
    """A credit code with a valid check character that no demo company holds."""
    base = "91110108MA0000999"
    code = base + uscc.calc_check_digit(base)
    assert code not in {company.credit_code for company in companies}
    return code


class TestSandboxProvider(ProviderContract):
    @pytest.fixture
    def provider(self, sandbox_settings_override: SandboxHandle) -> Iterator[SandboxProvider]:
        provider = SandboxProvider()
        yield provider
        provider.close()

    @pytest.fixture
    def contract_identities(self) -> ContractIdentities:
        return ContractIdentities(
            known=KNOWN,
            name_mismatch=Identity("测试乙", KNOWN.document_type, KNOWN.document_number),
            unknown=UNKNOWN,
            birth_date_mismatch=Identity(
                KNOWN.name, KNOWN.document_type, KNOWN.document_number, date(1990, 3, 8)
            ),
        )

    @pytest.fixture
    def contract_companies(self) -> ContractCompanies:
        known, other = demo_companies()[:2]
        return ContractCompanies(
            known=known,
            company_mismatch=Company(other.name, known.credit_code, known.legal_representative),
            legal_representative_mismatch=Company(
                known.name, known.credit_code, other.legal_representative
            ),
            unknown=Company(
                known.name, unregistered_credit_code(demo_companies()), known.legal_representative
            ),
        )

    @pytest.fixture
    def complete_liveness(self) -> Callable[..., None]:
        def complete(session: LivenessSession, *, passed: bool) -> None:
            outcome = "pass" if passed else "fail"
            response = httpx.post(session.url, data={"outcome": outcome}, timeout=10)
            assert response.status_code == 303

        return complete

    @pytest.fixture
    def make_vendor_time_out(
        self, sandbox_settings_override: SandboxHandle, settings: Any
    ) -> Callable[[], None]:
        # Hang a little longer than our client waits, so the sandbox's thread ends soon after.
        hang = settings.SANDBOX_PROVIDER_TIMEOUT + 3

        def time_out() -> None:
            sandbox_settings_override.set_faults(timeout_rate=1, hang_seconds=hang)

        return time_out

    @pytest.fixture
    def make_vendor_fail(self, sandbox_settings_override: SandboxHandle) -> Callable[[], None]:
        def fail_once() -> None:
            sandbox_settings_override.set_faults(fail_next=1)

        return fail_once

    @pytest.fixture
    def make_result_late(self, sandbox_settings_override: SandboxHandle) -> Callable[[float], None]:
        def late(seconds: float) -> None:
            sandbox_settings_override.set_faults(result_delay_ms=int(seconds * 1000))

        return late

    @pytest.fixture
    def provider_with_bad_credentials(
        self, sandbox_settings_override: SandboxHandle
    ) -> Iterator[SandboxProvider]:
        provider = SandboxProvider(secret="not-the-shared-secret")
        yield provider
        provider.close()


def test_verification_provider_setting_selects_the_sandbox_client(
    sandbox_settings_override: SandboxHandle,
) -> None:
    provider = get_provider()
    assert isinstance(provider, SandboxProvider)
    assert provider.url == sandbox_settings_override.url
    assert provider.check_identity(request_id=new_request_id(), identity=KNOWN).passed


def test_unfinished_face_session_expires_as_liveness_expired(
    sandbox_in_process: InProcessSandbox,
) -> None:
    provider = _client_for(sandbox_in_process)
    with running_notification_receiver() as receiver:
        session = _start(provider, receiver)
        sandbox_in_process.clock.advance(15 * 60 + 1)
        result = provider.fetch_liveness_result(provider_ref=session.provider_ref)
    assert result is not None
    assert not result.passed
    assert result.reason_code == ReasonCode.LIVENESS_EXPIRED
    assert result.provider_ref == session.provider_ref


def test_answer_altered_on_the_way_is_refused(sandbox_in_process: InProcessSandbox) -> None:
    """A man in the middle turning a failure into a pass must not get a passed result."""
    assert sandbox_in_process.service is not None
    tampering = _AnswerRewriter(sandbox_in_process.service, b'"fail"', b'"pass"')
    with serve_in_thread(tampering) as url:
        provider = SandboxProvider(
            url=url, app_id=sandbox_in_process.app_id, secret=sandbox_in_process.secret
        )
        with pytest.raises(ProviderPermanentError) as raised:
            provider.check_identity(request_id=new_request_id(), identity=UNKNOWN)
        provider.close()
    assert tampering.rewritten
    assert_no_personal_data(raised.value, UNKNOWN)


def test_unsigned_answer_is_refused(sandbox_in_process: InProcessSandbox) -> None:
    assert sandbox_in_process.service is not None
    stripping = _AnswerRewriter(sandbox_in_process.service, b"", b"", strip_signature=True)
    with serve_in_thread(stripping) as url:
        provider = SandboxProvider(
            url=url, app_id=sandbox_in_process.app_id, secret=sandbox_in_process.secret
        )
        with pytest.raises(ProviderPermanentError):
            provider.check_identity(request_id=new_request_id(), identity=KNOWN)
        provider.close()


def test_stale_notification_is_refused(sandbox_settings_override: SandboxHandle) -> None:
    provider = SandboxProvider()
    body = json.dumps({"ref": "lv_old", "status": "pass"}).encode()
    headers = signing.signed_headers(
        secret=sandbox_settings_override.secret,
        app_id=sandbox_settings_override.app_id,
        method="POST",
        path=signing.NOTIFY_PATH,
        body=body,
        now=time.time() - signing.WINDOW_SECONDS - 60,
    )
    with pytest.raises(ProviderPermanentError, match="stale_timestamp"):
        provider.parse_notification(body=body, headers=headers)
    provider.close()


def test_notification_for_another_app_is_refused(sandbox_settings_override: SandboxHandle) -> None:
    provider = SandboxProvider()
    body = json.dumps({"ref": "lv_x", "status": "pass"}).encode()
    headers = signing.signed_headers(
        secret=sandbox_settings_override.secret,
        app_id="someone-else",
        method="POST",
        path=signing.NOTIFY_PATH,
        body=body,
    )
    with pytest.raises(ProviderPermanentError, match="unknown_app"):
        provider.parse_notification(body=body, headers=headers)
    provider.close()


def test_notification_headers_are_read_in_any_case(
    sandbox_settings_override: SandboxHandle,
) -> None:
    provider = SandboxProvider()
    body = json.dumps({"ref": "lv_case", "status": "fail"}).encode()
    headers = signing.signed_headers(
        secret=sandbox_settings_override.secret,
        app_id=sandbox_settings_override.app_id,
        method="POST",
        path=signing.NOTIFY_PATH,
        body=body,
    )
    lowered = {name.lower(): value for name, value in headers.items()}
    assert provider.parse_notification(body=body, headers=lowered) == "lv_case"
    provider.close()


def test_signed_request_to_our_api_cannot_pass_as_a_notification(
    sandbox_settings_override: SandboxHandle,
) -> None:
    provider = SandboxProvider()
    body = json.dumps({"ref": "lv_x"}).encode()
    headers = signing.signed_headers(
        secret=sandbox_settings_override.secret,
        app_id=sandbox_settings_override.app_id,
        method="POST",
        path="/api/v1/liveness/query",
        body=body,
    )
    with pytest.raises(ProviderPermanentError, match="bad_signature"):
        provider.parse_notification(body=body, headers=headers)
    provider.close()


def test_unknown_face_session_is_a_permanent_error(
    sandbox_settings_override: SandboxHandle,
) -> None:
    provider = SandboxProvider()
    with pytest.raises(ProviderPermanentError) as raised:
        provider.fetch_liveness_result(provider_ref="lv_nobody")
    assert raised.value.reason_code == ReasonCode.REJECTED_REQUEST
    provider.close()


def test_request_id_reused_for_another_person_is_refused(
    sandbox_settings_override: SandboxHandle,
) -> None:
    provider = SandboxProvider()
    request_id = new_request_id()
    assert provider.check_identity(request_id=request_id, identity=KNOWN).passed
    with pytest.raises(ProviderPermanentError) as raised:
        provider.check_identity(request_id=request_id, identity=UNKNOWN)
    assert "request_id_reused" in str(raised.value)
    assert_no_personal_data(raised.value, UNKNOWN)
    provider.close()


def test_enterprise_request_id_reused_for_another_company_is_refused(
    sandbox_settings_override: SandboxHandle,
) -> None:
    known, other = demo_companies()[:2]
    provider = SandboxProvider()
    request_id = new_request_id()
    assert provider.check_enterprise(request_id=request_id, company=known).passed
    with pytest.raises(ProviderPermanentError) as raised:
        provider.check_enterprise(request_id=request_id, company=other)
    assert raised.value.reason_code == ReasonCode.REJECTED_REQUEST
    assert "request_id_reused" in str(raised.value)
    assert_no_personal_data(raised.value, other)
    provider.close()


def test_enterprise_answer_altered_on_the_way_is_refused(
    sandbox_in_process: InProcessSandbox,
) -> None:
    """A man in the middle turning a mismatch into a pass must not get a passed result."""
    known, other = demo_companies()[:2]
    assert sandbox_in_process.service is not None
    tampering = _AnswerRewriter(sandbox_in_process.service, b'"fail"', b'"pass"')
    mismatch = Company(other.name, known.credit_code, known.legal_representative)
    with serve_in_thread(tampering) as url:
        provider = SandboxProvider(
            url=url, app_id=sandbox_in_process.app_id, secret=sandbox_in_process.secret
        )
        with pytest.raises(ProviderPermanentError) as raised:
            provider.check_enterprise(request_id=new_request_id(), company=mismatch)
        provider.close()
    assert tampering.rewritten
    assert_no_personal_data(raised.value, mismatch)


def test_unreachable_sandbox_is_transient() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = SandboxProvider(url=f"http://127.0.0.1:{port}", secret="any-secret")
    with pytest.raises(ProviderTransientError) as raised:
        provider.check_identity(request_id=new_request_id(), identity=KNOWN)
    assert raised.value.reason_code == ReasonCode.VENDOR_ERROR
    assert_no_personal_data(raised.value, KNOWN)
    provider.close()


def test_missing_secret_is_a_permanent_error_before_any_call(settings: Any) -> None:
    settings.SANDBOX_PROVIDER_SECRET = ""
    settings.SANDBOX_PROVIDER_URL = "http://127.0.0.1:9"
    provider = SandboxProvider()
    with pytest.raises(ProviderPermanentError, match="SANDBOX_PROVIDER_SECRET"):
        provider.check_identity(request_id=new_request_id(), identity=KNOWN)
    provider.close()


def _client_for(sandbox: InProcessSandbox) -> SandboxProvider:
    return SandboxProvider(url=sandbox.url, app_id=sandbox.app_id, secret=sandbox.secret)


def _start(provider: SandboxProvider, receiver: NotificationReceiver) -> LivenessSession:
    return provider.start_liveness(
        request_id=new_request_id(), identity=KNOWN, return_url=RETURN_URL, notify_url=receiver.url
    )


class _AnswerRewriter:
    """A WSGI middleware playing a man in the middle: rewrites the sandbox's answers."""

    def __init__(self, app: Any, old: bytes, new: bytes, *, strip_signature: bool = False) -> None:
        self.app = app
        self.old, self.new = old, new
        self.strip_signature = strip_signature
        self.rewritten = False

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        if self.old and self.old in body:
            body = body.replace(self.old, self.new)
            self.rewritten = True
        headers = [
            (name, value)
            for name, value in captured["headers"]
            if name.lower() != "content-length"
            and not (self.strip_signature and name.lower().startswith("x-sandbox-"))
        ]
        headers.append(("Content-Length", str(len(body))))
        start_response(captured["status"], headers)
        return [body]
