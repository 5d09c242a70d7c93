"""The Alipay adapter against the sandbox speaking Alipay's gateway: the provider contract for
its capabilities, every row of its code table, and what is particular to Alipay (RSA keys,
answers signed by Alipay, "F" meaning failed or not finished)."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from django.core.cache import cache

from sandbox.vendors.alipay_signing import generate_key_pair
from tests.factories import DEMO
from tests.sandbox_harness import FakeClock, SandboxHandle
from tests.verification.provider_contract import (
    RETURN_URL,
    ContractIdentities,
    LivenessContract,
    NoNotificationContract,
    ProbeContract,
    TroubleContract,
    assert_no_personal_data,
    contract_parts,
    new_request_id,
)
from verification.providers import alipay as alipay_module
from verification.providers.alipay import FACE_WINDOW_SECONDS, OUTCOMES, AlipayProvider
from verification.providers.base import (
    Identity,
    LivenessSession,
    ProviderPermanentError,
    ProviderTransientError,
    ReasonCode,
)

KNOWN = Identity(DEMO["name"], DEMO["document_type"], DEMO["document_number"])
NAME_MISMATCH = Identity("测试乙", KNOWN.document_type, KNOWN.document_number)
UNKNOWN = Identity("测试甲", "cn_resident_id", "110101199001019992", date(1990, 1, 1))
TIMEOUT = 2.0


@pytest.fixture
def alipay_sandbox(sandbox_provider: SandboxHandle) -> Iterator[SandboxHandle]:
    """The session's sandbox; every fault this module sets is cleared afterwards."""
    try:
        yield sandbox_provider
    finally:
        sandbox_provider.clear_faults()


def set_fault(sandbox: SandboxHandle, **faults: Any) -> None:
    sandbox.signed_post("/_faults", faults).raise_for_status()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def build(sandbox: SandboxHandle, clock: Callable[[], float], **overrides: Any) -> AlipayProvider:
    options: dict[str, Any] = {
        "gateway": sandbox.url + "/gateway.do",
        "app_id": sandbox.app_id,
        "app_private_key": sandbox.alipay_app_private_key,
        "alipay_public_key": sandbox.alipay_public_key,
        "timeout": TIMEOUT,
        "clock": clock,
    }
    options.update(overrides)
    return AlipayProvider(**options)


@pytest.fixture
def provider(alipay_sandbox: SandboxHandle, clock: FakeClock) -> Iterator[AlipayProvider]:
    provider = build(alipay_sandbox, clock)
    yield provider
    provider.close()


def start(provider: AlipayProvider, identity: Identity = KNOWN) -> LivenessSession:
    return provider.start_liveness(
        request_id=new_request_id(),
        identity=identity,
        return_url=RETURN_URL,
        notify_url="https://realname.example/verification/provider/notify/",
    )


def press(session: LivenessSession, outcome: str) -> None:
    """What the person does: open the certify URL (Alipay's gateway redirects to the face
    page), then press pass or fail; the face page sends them to the return URL."""
    redirect = httpx.get(session.url, timeout=10)
    assert redirect.status_code == 302, redirect.text
    answer = httpx.post(redirect.headers["location"], data={"outcome": outcome}, timeout=10)
    assert answer.status_code == 303
    assert answer.headers["location"] == RETURN_URL  # nothing added: no result in the URL


class TestAlipayProvider(LivenessContract, NoNotificationContract, TroubleContract, ProbeContract):
    @pytest.fixture
    def contract_identities(self) -> ContractIdentities:
        return ContractIdentities(
            known=KNOWN,
            name_mismatch=NAME_MISMATCH,
            unknown=UNKNOWN,
            birth_date_mismatch=KNOWN,  # Alipay compares no birth date
        )

    @pytest.fixture
    def complete_liveness(self, clock: FakeClock) -> Callable[..., None]:
        def complete(session: LivenessSession, *, passed: bool) -> None:
            press(session, "pass" if passed else "fail")
            if not passed:
                # Alipay's "F" also means "not finished": it is final only once the face
                # window is over (see the module docstring of verification.providers.alipay).
                clock.advance(FACE_WINDOW_SECONDS + 1)

        return complete

    @pytest.fixture
    def make_vendor_time_out(self, alipay_sandbox: SandboxHandle) -> Callable[[], None]:
        return lambda: set_fault(alipay_sandbox, timeout_rate=1, hang_seconds=TIMEOUT + 3)

    @pytest.fixture
    def make_vendor_fail(self, alipay_sandbox: SandboxHandle) -> Callable[[], None]:
        return lambda: set_fault(alipay_sandbox, fail_next=1)

    @pytest.fixture
    def make_result_late(self, alipay_sandbox: SandboxHandle) -> Callable[[float], None]:
        return lambda seconds: set_fault(alipay_sandbox, result_delay_ms=int(seconds * 1000))

    @pytest.fixture
    def provider_with_bad_credentials(
        self, alipay_sandbox: SandboxHandle, clock: FakeClock
    ) -> Iterator[AlipayProvider]:
        provider = build(alipay_sandbox, clock, app_private_key=generate_key_pair()[0])
        yield provider
        provider.close()


def test_the_test_class_mixes_in_exactly_the_promised_contract() -> None:
    bases = set(TestAlipayProvider.__bases__)
    assert bases == contract_parts(AlipayProvider)


@pytest.mark.parametrize("row", sorted(OUTCOMES), ids=lambda row: ":".join(row))
def test_every_code_maps_as_the_table_says(
    row: tuple[str, str], provider: AlipayProvider, alipay_sandbox: SandboxHandle
) -> None:
    code, sub_code = row
    expected = OUTCOMES[row]
    forced_sub_code = "isv.not-in-the-table" if sub_code == "*" else sub_code
    set_fault(alipay_sandbox, vendor_code=f"{code}:{forced_sub_code}")
    with pytest.raises((ProviderTransientError, ProviderPermanentError)) as raised:
        start(provider)
    error = raised.value
    assert isinstance(error, ProviderTransientError) == (expected.kind == "transient")
    assert isinstance(error, ProviderTransientError | ProviderPermanentError)
    assert error.reason_code == expected.reason
    if isinstance(error, ProviderPermanentError):
        assert error.diagnosis == expected.diagnosis
    assert_no_personal_data(error, KNOWN)


def test_clock_skew_is_diagnosed_as_clock(
    provider: AlipayProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = alipay_module.time.time
    monkeypatch.setattr(alipay_module, "time", types.SimpleNamespace(time=lambda: real() - 3600))
    with pytest.raises(ProviderPermanentError) as raised:
        provider.probe()
    assert raised.value.diagnosis == "clock"


def test_answer_with_a_bad_signature_is_refused(
    provider: AlipayProvider, alipay_sandbox: SandboxHandle
) -> None:
    set_fault(alipay_sandbox, bad_signatures=1)
    with pytest.raises(ProviderPermanentError) as raised:
        start(provider)
    assert raised.value.diagnosis == "response_signature"
    assert_no_personal_data(raised.value, KNOWN)
    assert provider.probe()  # only that one answer was forged


def test_our_own_public_key_in_place_of_alipays_is_diagnosed(
    alipay_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    """The usual mistake (fzlee/alipay#21): pasting the app's public key as Alipay's."""
    private = serialization.load_pem_private_key(
        alipay_sandbox.alipay_app_private_key.encode(), password=None
    )
    own_public = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    provider = build(alipay_sandbox, clock, alipay_public_key=own_public)
    with pytest.raises(ProviderPermanentError) as raised:
        provider.probe()
    assert raised.value.diagnosis == "response_signature"
    provider.close()


@pytest.mark.parametrize("form", ["pkcs1", "pkcs8-bare"])
def test_pkcs1_and_bare_private_keys_sign_too(
    form: str, alipay_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    key = serialization.load_pem_private_key(
        alipay_sandbox.alipay_app_private_key.encode(), password=None
    )
    if form == "pkcs1":
        text = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()
        assert "BEGIN RSA PRIVATE KEY" in text
    else:
        text = "".join(
            line
            for line in alipay_sandbox.alipay_app_private_key.splitlines()
            if not line.startswith("-----")
        )
    provider = build(alipay_sandbox, clock, app_private_key=text)
    assert "no such certify id" in provider.probe()
    provider.close()


def test_an_f_is_pending_within_the_face_window_then_a_failure(
    provider: AlipayProvider, clock: FakeClock
) -> None:
    session = start(provider)
    press(session, "fail")
    assert provider.fetch_liveness_result(provider_ref=session.provider_ref) is None
    clock.advance(FACE_WINDOW_SECONDS + 1)
    result = provider.fetch_liveness_result(provider_ref=session.provider_ref)
    assert result is not None and result.reason_code == ReasonCode.LIVENESS_FAILED


def test_an_f_stays_pending_when_the_cache_forgot_when_the_session_opened(
    provider: AlipayProvider, clock: FakeClock
) -> None:
    """Evicted or flushed: the person may still be on the face page, so no failure is
    invented; the lifecycle's face-session timeout ends it if nothing comes."""
    session = start(provider)
    cache.delete(alipay_module._started_key(session.provider_ref))
    clock.advance(FACE_WINDOW_SECONDS + 1)
    assert provider.fetch_liveness_result(provider_ref=session.provider_ref) is None


def test_a_name_that_does_not_match_the_number_fails_even_with_a_passed_face(
    provider: AlipayProvider, clock: FakeClock
) -> None:
    session = start(provider, NAME_MISMATCH)
    press(session, "pass")
    assert provider.fetch_liveness_result(provider_ref=session.provider_ref) is None
    clock.advance(FACE_WINDOW_SECONDS + 1)
    result = provider.fetch_liveness_result(provider_ref=session.provider_ref)
    assert result is not None and not result.passed


def test_same_request_id_reuses_the_session(provider: AlipayProvider) -> None:
    request_id = new_request_id()
    first = provider.start_liveness(
        request_id=request_id, identity=KNOWN, return_url=RETURN_URL, notify_url=RETURN_URL
    )
    again = provider.start_liveness(
        request_id=request_id, identity=KNOWN, return_url=RETURN_URL, notify_url=RETURN_URL
    )
    assert again.provider_ref == first.provider_ref
    assert start(provider).provider_ref != first.provider_ref


def test_personal_data_travels_in_the_body_never_in_a_url(provider: AlipayProvider) -> None:
    urls: list[str] = []
    bodies: list[bytes] = []

    def record(request: httpx.Request) -> None:
        urls.append(str(request.url))
        bodies.append(request.read())

    provider._client.event_hooks["request"] = [record]
    session = start(provider)
    assert urls and all(KNOWN.document_number not in url for url in urls)
    assert all("cert_name" not in url for url in urls)
    assert KNOWN.document_number.encode() in bodies[0]
    assert KNOWN.document_number not in session.url and "cert_no" not in session.url


def test_unknown_certify_id_is_a_permanent_error(provider: AlipayProvider) -> None:
    with pytest.raises(ProviderPermanentError, match="OPEN_CERTIFY_BILL_NOT_EXIST") as raised:
        provider.fetch_liveness_result(provider_ref="f" * 32)
    assert raised.value.reason_code == ReasonCode.REJECTED_REQUEST


def test_there_is_no_separate_identity_check(provider: AlipayProvider) -> None:
    with pytest.raises(ProviderPermanentError) as raised:
        provider.check_identity(request_id=new_request_id(), identity=KNOWN)
    assert raised.value.diagnosis == "configuration"
    assert_no_personal_data(raised.value, KNOWN)


def test_missing_keys_are_a_permanent_error_before_any_call(clock: FakeClock) -> None:
    provider = AlipayProvider(
        gateway="http://127.0.0.1:9/gateway.do",
        app_id="x",
        app_private_key="",
        alipay_public_key="",
        clock=clock,
    )
    with pytest.raises(ProviderPermanentError) as raised:
        start(provider)
    assert raised.value.diagnosis == "credentials"
    assert "PRIVATE" not in repr(provider)
    provider.close()
