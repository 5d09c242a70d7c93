"""The provider contract run against our Aliyun adapter and the sandbox speaking Aliyun's
protocol (sandbox/vendors/aliyun.py), plus every code of the adapter's mapping table forced
through the sandbox's ``vendor_code`` fault, clock skew, the legacy signature, and what the
adapter keeps out of URLs and messages."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from alibabacloud_tea_openapi.utils import Utils
from darabonba.core import DaraCore

from tests.sandbox_harness import NO_FAULTS, SandboxHandle
from tests.verification.provider_contract import (
    ContractCompanies,
    ContractIdentities,
    EnterpriseContract,
    HintNotificationContract,
    IdentityCheckContract,
    LivenessContract,
    ProbeContract,
    TroubleContract,
    assert_no_personal_data,
    contract_parts,
    new_request_id,
)
from tests.verification.test_provider_contract import (
    KNOWN,
    UNKNOWN,
    demo_companies,
    unregistered_credit_code,
)
from verification.providers import aliyun
from verification.providers.aliyun import (
    BUSINESS_CODES,
    ENT_BIZ_CODES,
    GATEWAY_CODES,
    ID2META_BIZ_CODES,
    PENDING,
    RESULT,
    SUB_CODES,
    TRANSIENT,
    AliyunProvider,
    Outcome,
)
from verification.providers.base import (
    Company,
    Identity,
    LivenessSession,
    ProviderPermanentError,
    ProviderTransientError,
    ReasonCode,
)

TIMEOUT = 2.0
NAME_MISMATCH = Identity("测试乙", KNOWN.document_type, KNOWN.document_number)
RETURN_URL = "https://realname.example/verification/return"
NOTIFY_URL = "https://realname.example/verification/provider/aliyun/notify/"
ALL_FAULTS_CLEARED = {
    **NO_FAULTS,
    "vendor_code": "",
    "callback_duplicates": 0,
    "result_delay_ms": 0,
}


def force_code(sandbox: SandboxHandle, code: str) -> None:
    """The next call answers Aliyun's ``code`` (the sandbox's ``vendor_code`` fault, a string,
    which ``SandboxHandle.set_faults`` does not type)."""
    sandbox.signed_post("/_faults", {"vendor_code": code}).raise_for_status()


@pytest.fixture
def aliyun_sandbox(settings: Any, sandbox_provider: SandboxHandle) -> Iterator[SandboxHandle]:
    """Our Aliyun settings pointed at the sandbox; every fault cleared after the test."""
    settings.ALIYUN_ENDPOINT = sandbox_provider.url
    settings.ALIYUN_ACCESS_KEY_ID = sandbox_provider.app_id
    settings.ALIYUN_ACCESS_KEY_SECRET = sandbox_provider.secret
    settings.ALIYUN_FACE_SCENE_ID = "1000000001"
    settings.ALIYUN_ENTERPRISE_SCENE_CODE = "realname_enterprise"
    settings.ALIYUN_SIGNATURE_VERSION = "v3"
    settings.ALIYUN_TIMEOUT = TIMEOUT
    try:
        yield sandbox_provider
    finally:
        sandbox_provider.signed_post("/_faults", ALL_FAULTS_CLEARED).raise_for_status()


def _companies() -> ContractCompanies:
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


class TestAliyunProvider(
    IdentityCheckContract,
    EnterpriseContract,
    LivenessContract,
    HintNotificationContract,
    TroubleContract,
    ProbeContract,
):
    @pytest.fixture
    def provider(self, aliyun_sandbox: SandboxHandle) -> AliyunProvider:
        return AliyunProvider()

    @pytest.fixture
    def contract_identities(self) -> ContractIdentities:
        return ContractIdentities(
            known=KNOWN, name_mismatch=NAME_MISMATCH, unknown=UNKNOWN, birth_date_mismatch=KNOWN
        )

    @pytest.fixture
    def contract_companies(self) -> ContractCompanies:
        return _companies()

    @pytest.fixture
    def complete_liveness(self) -> Callable[..., None]:
        def complete(session: LivenessSession, *, passed: bool) -> None:
            outcome = "pass" if passed else "fail"
            response = httpx.post(session.url, data={"outcome": outcome}, timeout=10)
            assert response.status_code == 303

        return complete

    @pytest.fixture
    def make_vendor_time_out(self, aliyun_sandbox: SandboxHandle) -> Callable[[], None]:
        def time_out() -> None:
            aliyun_sandbox.set_faults(timeout_rate=1, hang_seconds=TIMEOUT + 3)

        return time_out

    @pytest.fixture
    def make_vendor_fail(self, aliyun_sandbox: SandboxHandle) -> Callable[[], None]:
        def fail_once() -> None:
            aliyun_sandbox.set_faults(fail_next=1)

        return fail_once

    @pytest.fixture
    def make_result_late(self, aliyun_sandbox: SandboxHandle) -> Callable[[float], None]:
        def late(seconds: float) -> None:
            aliyun_sandbox.set_faults(result_delay_ms=int(seconds * 1000))

        return late

    @pytest.fixture
    def provider_with_bad_credentials(self, aliyun_sandbox: SandboxHandle) -> AliyunProvider:
        return AliyunProvider(access_key_secret="not-the-secret")


def test_the_test_class_mixes_in_exactly_what_the_capabilities_promise() -> None:
    bases = {base for base in TestAliyunProvider.__mro__ if base.__name__.endswith("Contract")}
    assert bases == contract_parts(AliyunProvider)


# -- every code of the mapping table, forced through the sandbox --------------------------------


def _assert_raised_as(error: BaseException, outcome: Outcome) -> None:
    if outcome.kind == TRANSIENT:
        assert isinstance(error, ProviderTransientError)
    else:
        assert isinstance(error, ProviderPermanentError)
        assert error.diagnosis == outcome.diagnosis
    assert error.reason_code == outcome.reason
    assert_no_personal_data(error, KNOWN)


@pytest.mark.parametrize("code", sorted(GATEWAY_CODES))
def test_gateway_code_maps_as_the_table_says(aliyun_sandbox: SandboxHandle, code: str) -> None:
    outcome = GATEWAY_CODES[code]
    force_code(aliyun_sandbox, code)
    provider = AliyunProvider()
    if outcome.kind == RESULT:
        result = provider.check_identity(request_id=new_request_id(), identity=KNOWN)
        assert not result.passed and result.reason_code == outcome.reason
        return
    with pytest.raises((ProviderTransientError, ProviderPermanentError)) as raised:
        provider.check_identity(request_id=new_request_id(), identity=KNOWN)
    _assert_raised_as(raised.value, outcome)
    assert code in str(raised.value)


@pytest.mark.parametrize("code", sorted(BUSINESS_CODES))
def test_business_code_maps_as_the_table_says(aliyun_sandbox: SandboxHandle, code: str) -> None:
    outcome = BUSINESS_CODES[code]
    force_code(aliyun_sandbox, code)
    provider = AliyunProvider()
    ref = "0123456789abcdef0123456789abcdef"
    if outcome.kind == PENDING:
        assert provider.fetch_liveness_result(provider_ref=ref) is None
    elif outcome.kind == RESULT:
        result = provider.fetch_liveness_result(provider_ref=ref)
        assert result is not None and not result.passed
        assert result.reason_code == outcome.reason
    else:
        with pytest.raises((ProviderTransientError, ProviderPermanentError)) as raised:
            provider.fetch_liveness_result(provider_ref=ref)
        _assert_raised_as(raised.value, outcome)


@pytest.mark.parametrize("code", ["417", "418", "427"])
def test_a_persons_code_when_opening_a_face_session_is_a_refusal_with_that_reason(
    aliyun_sandbox: SandboxHandle, code: str
) -> None:
    force_code(aliyun_sandbox, code)
    with pytest.raises(ProviderPermanentError) as raised:
        AliyunProvider().start_liveness(
            request_id=new_request_id(),
            identity=KNOWN,
            return_url=RETURN_URL,
            notify_url=NOTIFY_URL,
        )
    assert raised.value.reason_code == BUSINESS_CODES[code].reason
    assert_no_personal_data(raised.value, KNOWN)


@pytest.mark.parametrize("biz_code", sorted(ID2META_BIZ_CODES))
def test_id2meta_biz_code_maps_as_the_table_says(
    aliyun_sandbox: SandboxHandle, biz_code: str
) -> None:
    force_code(aliyun_sandbox, f"BizCode:{biz_code}")
    result = AliyunProvider().check_identity(request_id=new_request_id(), identity=KNOWN)
    assert result.reason_code == ID2META_BIZ_CODES[biz_code].reason
    assert result.passed == (biz_code == "1")


@pytest.mark.parametrize("biz_code", sorted(ENT_BIZ_CODES))
def test_enterprise_biz_code_maps_as_the_table_says(
    aliyun_sandbox: SandboxHandle, biz_code: str
) -> None:
    force_code(aliyun_sandbox, f"BizCode:{biz_code}")
    result = AliyunProvider().check_enterprise(
        request_id=new_request_id(), company=_companies().known
    )
    assert result.reason_code == ENT_BIZ_CODES[biz_code].reason


@pytest.mark.parametrize(
    ("status", "passes"), [("1", True), ("2", True), ("3", False), ("4", False), ("6", False)]
)
def test_a_matching_company_no_longer_in_business_does_not_pass(
    aliyun_sandbox: SandboxHandle, status: str, passes: bool
) -> None:
    force_code(aliyun_sandbox, f"EntStatus:{status}")
    result = AliyunProvider().check_enterprise(
        request_id=new_request_id(), company=_companies().known
    )
    assert result.passed is passes
    if not passes:
        assert result.reason_code == ReasonCode.COMPANY_NOT_OPERATING


@pytest.mark.parametrize("sub_code", [*sorted(SUB_CODES), "299"])
def test_describe_sub_code_maps_as_the_table_says(
    aliyun_sandbox: SandboxHandle, sub_code: str
) -> None:
    force_code(aliyun_sandbox, f"SubCode:{sub_code}")
    result = AliyunProvider().fetch_liveness_result(provider_ref="0123456789abcdef0123456789abcdef")
    expected = SUB_CODES.get(sub_code, Outcome(RESULT, ReasonCode.LIVENESS_FAILED)).reason
    assert result is not None
    assert result.reason_code == expected
    assert result.passed == (sub_code == "200")


def test_an_unknown_gateway_code_is_a_permanent_refusal(aliyun_sandbox: SandboxHandle) -> None:
    force_code(aliyun_sandbox, "Something.New")
    with pytest.raises(ProviderPermanentError) as refused:
        AliyunProvider().check_identity(request_id=new_request_id(), identity=KNOWN)
    assert refused.value.reason_code == ReasonCode.REJECTED_REQUEST
    assert "HTTP 400 Something.New" in str(refused.value)


# -- signatures, clock, credentials -------------------------------------------------------------


@pytest.mark.parametrize("version", ["v3", "v2"])
def test_clock_skew_is_diagnosed_as_clock(
    aliyun_sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    twenty_minutes_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1200))
    monkeypatch.setattr(Utils, "get_timestamp", staticmethod(lambda: twenty_minutes_ago))
    with pytest.raises(ProviderPermanentError) as raised:
        AliyunProvider(signature_version=version).check_identity(
            request_id=new_request_id(), identity=KNOWN
        )
    assert raised.value.diagnosis == "clock"
    assert "InvalidTimeStamp.Expired" in str(raised.value)
    with pytest.raises(ProviderPermanentError) as probed:
        AliyunProvider(signature_version=version).probe()
    assert probed.value.diagnosis == "clock"


def test_legacy_rpc_signature_works_and_a_wrong_secret_is_a_signature_problem(
    aliyun_sandbox: SandboxHandle,
) -> None:
    provider = AliyunProvider(signature_version="v2")
    assert provider.check_identity(request_id=new_request_id(), identity=KNOWN).passed
    assert provider.probe()
    with pytest.raises(ProviderPermanentError) as raised:
        AliyunProvider(signature_version="v2", access_key_secret="wrong").probe()
    assert raised.value.diagnosis == "signature"


def test_unknown_key_id_is_diagnosed_as_credentials(aliyun_sandbox: SandboxHandle) -> None:
    with pytest.raises(ProviderPermanentError) as raised:
        AliyunProvider(access_key_id="LTAI-nobody").probe()
    assert raised.value.diagnosis == "credentials"
    assert "InvalidAccessKeyId.NotFound" in str(raised.value)


def test_unreachable_endpoint_is_transient(aliyun_sandbox: SandboxHandle) -> None:
    provider = AliyunProvider(endpoint="http://127.0.0.1:9")
    with pytest.raises(ProviderTransientError) as raised:
        provider.check_identity(request_id=new_request_id(), identity=KNOWN)
    assert raised.value.reason_code == ReasonCode.VENDOR_ERROR
    assert_no_personal_data(raised.value, KNOWN)


# -- idempotency --------------------------------------------------------------------------------


def test_a_retried_check_is_answered_from_the_cache_without_calling_aliyun(
    aliyun_sandbox: SandboxHandle,
) -> None:
    provider = AliyunProvider()
    request_id = new_request_id()
    first = provider.check_identity(request_id=request_id, identity=NAME_MISMATCH)
    aliyun_sandbox.set_faults(fail_next=1)
    assert provider.check_identity(request_id=request_id, identity=NAME_MISMATCH) == first
    # The fault is still armed: the retry above never reached the vendor.
    with pytest.raises(ProviderTransientError):
        provider.check_identity(request_id=new_request_id(), identity=KNOWN)


def test_a_request_id_reused_for_someone_else_is_refused(aliyun_sandbox: SandboxHandle) -> None:
    provider = AliyunProvider()
    request_id = new_request_id()
    assert provider.check_identity(request_id=request_id, identity=KNOWN).passed
    with pytest.raises(ProviderPermanentError) as raised:
        provider.check_identity(request_id=request_id, identity=UNKNOWN)
    assert "request_id_reused" in str(raised.value)
    assert_no_personal_data(raised.value, UNKNOWN)


def test_a_retried_face_session_start_gets_the_same_session(aliyun_sandbox: SandboxHandle) -> None:
    provider = AliyunProvider()
    request_id = new_request_id()
    first = provider.start_liveness(
        request_id=request_id, identity=KNOWN, return_url=RETURN_URL, notify_url=NOTIFY_URL
    )
    again = provider.start_liveness(
        request_id=request_id, identity=KNOWN, return_url=RETURN_URL, notify_url=NOTIFY_URL
    )
    assert again == first


# -- what leaves our process ----------------------------------------------------------------------


def test_no_personal_data_in_the_urls_the_adapter_calls(
    aliyun_sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls: list[str] = []
    do_action = DaraCore.do_action

    def recording(request: Any, runtime: Any = None) -> Any:
        urls.append(unquote(DaraCore.compose_url(request)))
        return do_action(request, runtime)

    monkeypatch.setattr(DaraCore, "do_action", staticmethod(recording))
    company = _companies().known
    for version in ("v3", "v2"):
        provider = AliyunProvider(signature_version=version)
        provider.check_identity(request_id=new_request_id(), identity=KNOWN)
        provider.start_liveness(
            request_id=new_request_id(),
            identity=KNOWN,
            return_url=RETURN_URL,
            notify_url=NOTIFY_URL,
        )
        provider.check_enterprise(request_id=new_request_id(), company=company)
    assert len(urls) == 6
    for url in urls:
        for value in (
            KNOWN.name,
            KNOWN.document_number,
            company.name,
            company.legal_representative,
        ):
            assert value not in url


def test_a_face_of_someone_else_fails_as_the_identity_mismatch(
    aliyun_sandbox: SandboxHandle,
) -> None:
    """ID_PRO checks name and number with the face: SubCode 201 when they do not match."""
    provider = AliyunProvider()
    session = provider.start_liveness(
        request_id=new_request_id(),
        identity=NAME_MISMATCH,
        return_url=RETURN_URL,
        notify_url=NOTIFY_URL,
    )
    assert httpx.post(session.url, data={"outcome": "pass"}, timeout=10).status_code == 303
    result = provider.fetch_liveness_result(provider_ref=session.provider_ref)
    assert result is not None and result.reason_code == ReasonCode.NAME_NUMBER_MISMATCH


def test_callback_token_is_ours_and_bound_to_its_nonce(settings: Any) -> None:
    token = aliyun.callback_token("a" * 32)
    assert aliyun.verify_callback_token(token)
    _nonce, _, mac = token.partition(".")
    assert not aliyun.verify_callback_token(f"{'b' * 32}.{mac}")
    settings.SECRET_KEY = "another-deployment-entirely-" * 2
    assert not aliyun.verify_callback_token(token)


def test_missing_enterprise_scene_code_is_a_configuration_error(
    aliyun_sandbox: SandboxHandle, settings: Any
) -> None:
    settings.ALIYUN_ENTERPRISE_SCENE_CODE = ""
    with pytest.raises(ProviderPermanentError) as raised:
        AliyunProvider().check_enterprise(request_id=new_request_id(), company=_companies().known)
    assert raised.value.diagnosis == "configuration"


def test_missing_credentials_refuse_before_any_call(settings: Any) -> None:
    settings.ALIYUN_ACCESS_KEY_SECRET = ""
    settings.ALIYUN_ENDPOINT = "http://127.0.0.1:9"
    with pytest.raises(ProviderPermanentError) as raised:
        AliyunProvider().check_identity(request_id=new_request_id(), identity=KNOWN)
    assert raised.value.diagnosis == "credentials"


def test_repr_shows_no_secret(settings: Any) -> None:
    settings.ALIYUN_ACCESS_KEY_SECRET = "very-secret-value"
    provider = AliyunProvider()
    assert "very-secret-value" not in repr(provider)
    assert "very-secret-value" not in repr(vars(provider).get("endpoint"))


def test_a_retried_face_session_start_opens_no_second_session(
    aliyun_sandbox: SandboxHandle,
) -> None:
    """Aliyun does not deduplicate InitFaceVerify: the adapter answers a retry itself."""
    provider = AliyunProvider()
    request_id = new_request_id()
    identity = KNOWN
    first = provider.start_liveness(
        request_id=request_id, identity=identity, return_url=RETURN_URL, notify_url=RETURN_URL
    )
    force_code(aliyun_sandbox, "500")  # a second InitFaceVerify would be refused now
    again = provider.start_liveness(
        request_id=request_id, identity=identity, return_url=RETURN_URL, notify_url=RETURN_URL
    )
    assert again == first
    aliyun_sandbox.set_faults(vendor_code="")
    with pytest.raises(ProviderPermanentError):
        provider.start_liveness(
            request_id=request_id,
            identity=NAME_MISMATCH,
            return_url=RETURN_URL,
            notify_url=RETURN_URL,
        )
