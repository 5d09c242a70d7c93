"""The provider contract and Tencent's own code mapping, run against the sandbox speaking
Tencent FaceID's wire protocol (``sandbox.vendors.tencent``) with the official SDK on our side."""

from __future__ import annotations

import io
import json
import logging
import socket
import time
import types
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from tencentcloud.common import abstract_client
from tencentcloud.common.retry import NoopRetryer

from tests.factories import DEMO
from tests.sandbox_harness import InProcessSandbox, SandboxHandle, serve_in_thread
from tests.verification.provider_contract import (
    RETURN_URL,
    ContractIdentities,
    IdentityCheckContract,
    LivenessContract,
    NoNotificationContract,
    ProbeContract,
    TroubleContract,
    assert_no_personal_data,
    contract_parts,
    new_request_id,
)
from verification.providers import get_provider
from verification.providers.base import (
    CheckResult,
    Identity,
    LivenessSession,
    ProviderPermanentError,
    ProviderTransientError,
    ReasonCode,
)
from verification.providers.tencent import (
    API_ERRORS,
    DETECT_ERR_CODES,
    ID_CARD_RESULTS,
    PENDING,
    PERMANENT,
    RESULT,
    TRANSIENT,
    Outcome,
    TencentProvider,
    error_outcome,
)

KNOWN = Identity(DEMO["name"], "cn_resident_id", DEMO["document_number"])
MISMATCH = Identity("测试乙", "cn_resident_id", DEMO["document_number"])
UNKNOWN = Identity("测试甲", "cn_resident_id", "110101199001019992")
RULE_ID = "1"
TIMEOUT = 3.0
# The SDK's own codes, raised on our side of the wire: tested with their own causes below.
SDK_CODES = {"ClientNetworkError", "ServerNetworkError", "InvalidCredential"}


@pytest.fixture
def tencent_sandbox(settings: Any, sandbox_provider: SandboxHandle) -> Iterator[SandboxHandle]:
    """Point the ``TENCENT_*`` settings at the sandbox; its faults are cleared afterwards."""
    settings.TENCENT_SECRET_ID = sandbox_provider.app_id
    settings.TENCENT_SECRET_KEY = sandbox_provider.secret
    settings.TENCENT_ENDPOINT = sandbox_provider.url
    settings.TENCENT_FACE_RULE_ID = RULE_ID
    settings.TENCENT_TIMEOUT = TIMEOUT
    try:
        yield sandbox_provider
    finally:
        sandbox_provider.clear_faults()


def _press(session: LivenessSession, *, passed: bool) -> httpx.Response:
    outcome = "pass" if passed else "fail"
    return httpx.post(session.url, data={"outcome": outcome}, timeout=10)


class TestTencentProvider(
    IdentityCheckContract,
    LivenessContract,
    NoNotificationContract,
    TroubleContract,
    ProbeContract,
):
    @pytest.fixture
    def provider(self, tencent_sandbox: SandboxHandle) -> TencentProvider:
        return TencentProvider()

    @pytest.fixture
    def contract_identities(self) -> ContractIdentities:
        return ContractIdentities(
            known=KNOWN,
            name_mismatch=MISMATCH,
            unknown=UNKNOWN,
            birth_date_mismatch=Identity(
                KNOWN.name, KNOWN.document_type, KNOWN.document_number, date(1990, 3, 8)
            ),
        )

    @pytest.fixture
    def complete_liveness(self) -> Callable[..., None]:
        def complete(session: LivenessSession, *, passed: bool) -> None:
            assert _press(session, passed=passed).status_code == 303

        return complete

    @pytest.fixture
    def make_vendor_time_out(self, tencent_sandbox: SandboxHandle) -> Callable[[], None]:
        def time_out() -> None:
            tencent_sandbox.set_faults(timeout_rate=1, hang_seconds=TIMEOUT + 3)

        return time_out

    @pytest.fixture
    def make_vendor_fail(self, tencent_sandbox: SandboxHandle) -> Callable[[], None]:
        def fail_once() -> None:
            tencent_sandbox.set_faults(fail_next=1)

        return fail_once

    @pytest.fixture
    def make_result_late(self, tencent_sandbox: SandboxHandle) -> Callable[[float], None]:
        def late(seconds: float) -> None:
            tencent_sandbox.set_faults(result_delay_ms=int(seconds * 1000))

        return late

    @pytest.fixture
    def provider_with_bad_credentials(self, tencent_sandbox: SandboxHandle) -> TencentProvider:
        return TencentProvider(secret_key="not-the-sandbox-secret")


def test_the_test_class_mixes_in_exactly_what_the_capabilities_promise() -> None:
    assert set(TestTencentProvider.__bases__) == contract_parts(TencentProvider)


def test_capabilities_and_settings(settings: Any) -> None:
    assert TencentProvider.name == "tencent"
    assert TencentProvider.document_types == frozenset({"cn_resident_id"})
    assert TencentProvider.notifications == "none"
    assert not TencentProvider.checks_enterprises and not TencentProvider.checks_birth_date
    settings.TENCENT_TIMEOUT = 7.5
    assert TencentProvider.timeout() == 7.5
    settings.TENCENT_SECRET_KEY = ""
    settings.TENCENT_SECRET_ID = "AKID-x"
    settings.TENCENT_FACE_RULE_ID = ""
    assert TencentProvider.missing_settings() == ["TENCENT_SECRET_KEY", "TENCENT_FACE_RULE_ID"]


def test_the_built_in_name_selects_the_tencent_adapter(tencent_sandbox: SandboxHandle) -> None:
    provider = get_provider("tencent")
    assert isinstance(provider, TencentProvider)
    assert provider.endpoint == tencent_sandbox.url
    assert tencent_sandbox.secret not in repr(provider)


def test_the_sdk_client_has_no_retries_no_region_breaker_and_our_timeout(
    tencent_sandbox: SandboxHandle,
) -> None:
    client = TencentProvider()._client()
    profile = client.profile
    assert isinstance(profile.retryer, NoopRetryer)
    assert profile.disable_region_breaker is True
    assert client.circuit_breaker is None
    assert profile.httpProfile.reqTimeout == TIMEOUT
    assert profile.signMethod == "TC3-HMAC-SHA256"


def test_each_thread_has_its_own_client_and_concurrent_checks_all_answer(
    tencent_sandbox: SandboxHandle,
) -> None:
    provider = TencentProvider()
    with ThreadPoolExecutor(max_workers=4) as pool:
        clients = list(pool.map(lambda _: id(provider._client()), range(4)))
        results = list(
            pool.map(
                lambda _: provider.check_identity(request_id=new_request_id(), identity=KNOWN),
                range(8),
            )
        )
    assert all(result.passed for result in results)
    assert len({result.provider_ref for result in results}) == 8
    assert len(clients) == 4


# -- every code of the mapping tables, forced through the sandbox's vendor_code fault ---------


def _assert_maps(call: Callable[[], CheckResult | None], outcome: Outcome) -> None:
    if outcome.kind == PENDING:
        assert call() is None
    elif outcome.kind == RESULT:
        result = call()
        assert result is not None
        assert result.reason_code == outcome.reason
        assert result.passed == (outcome.reason == ReasonCode.OK)
        assert result.provider_ref
    elif outcome.kind == TRANSIENT:
        with pytest.raises(ProviderTransientError) as transient:
            call()
        assert transient.value.reason_code == outcome.reason
        assert_no_personal_data(transient.value, KNOWN)
    else:
        assert outcome.kind == PERMANENT
        with pytest.raises(ProviderPermanentError) as permanent:
            call()
        assert permanent.value.reason_code == outcome.reason
        assert permanent.value.diagnosis == outcome.diagnosis
        assert_no_personal_data(permanent.value, KNOWN)


@pytest.mark.parametrize("result", sorted(ID_CARD_RESULTS))
def test_every_id_card_result_maps_as_the_table_says(
    tencent_sandbox: SandboxHandle, result: str
) -> None:
    provider = TencentProvider()
    tencent_sandbox.set_faults(vendor_code=f"Result:{result}")
    _assert_maps(
        lambda: provider.check_identity(request_id=new_request_id(), identity=KNOWN),
        ID_CARD_RESULTS[result],
    )
    assert tencent_sandbox.faults()["vendor_code"] == ""  # the forced answer was given


@pytest.mark.parametrize("err_code", sorted(DETECT_ERR_CODES))
def test_every_detect_err_code_maps_as_the_table_says(
    tencent_sandbox: SandboxHandle, err_code: int
) -> None:
    provider = TencentProvider()
    session = provider.start_liveness(
        request_id=new_request_id(), identity=KNOWN, return_url=RETURN_URL, notify_url=""
    )
    tencent_sandbox.set_faults(vendor_code=f"ErrCode:{err_code}")
    _assert_maps(
        lambda: provider.fetch_liveness_result(provider_ref=session.provider_ref),
        DETECT_ERR_CODES[err_code],
    )
    assert tencent_sandbox.faults()["vendor_code"] == ""


@pytest.mark.parametrize("code", sorted(set(API_ERRORS) - SDK_CODES))
def test_every_api_error_code_maps_as_the_table_says(
    tencent_sandbox: SandboxHandle, code: str
) -> None:
    provider = TencentProvider()
    tencent_sandbox.set_faults(vendor_code=f"Error:{code}")
    _assert_maps(
        lambda: provider.check_identity(request_id=new_request_id(), identity=KNOWN),
        API_ERRORS[code],
    )


@pytest.mark.parametrize(
    ("code", "kind", "reason"),
    [
        ("InternalError.SomethingNew", TRANSIENT, ReasonCode.VENDOR_ERROR),
        ("RequestLimitExceeded.SomethingNew", TRANSIENT, ReasonCode.VENDOR_BUSY),
        ("AuthFailure.SomethingNew", PERMANENT, ReasonCode.REJECTED_REQUEST),
        ("NeverSeen.Before", PERMANENT, ReasonCode.VENDOR_ERROR),
    ],
)
def test_codes_not_in_the_table_fall_back_on_their_family(
    tencent_sandbox: SandboxHandle, code: str, kind: str, reason: ReasonCode
) -> None:
    assert (error_outcome(code).kind, error_outcome(code).reason) == (kind, reason)
    tencent_sandbox.set_faults(vendor_code=f"Error:{code}")
    _assert_maps(
        lambda: TencentProvider().check_identity(request_id=new_request_id(), identity=KNOWN),
        error_outcome(code),
    )


def test_fetching_an_expired_biz_token_is_liveness_expired(tencent_sandbox: SandboxHandle) -> None:
    tencent_sandbox.set_faults(vendor_code="Error:InvalidParameterValue.BizTokenExpired")
    result = TencentProvider().fetch_liveness_result(provider_ref="SOME-OLD-TOKEN")
    assert result == CheckResult(
        passed=False, reason_code=ReasonCode.LIVENESS_EXPIRED, provider_ref="SOME-OLD-TOKEN"
    )


def test_per_id_daily_limit_of_the_face_flow_fails_the_person(
    tencent_sandbox: SandboxHandle,
) -> None:
    provider = TencentProvider()
    session = provider.start_liveness(
        request_id=new_request_id(), identity=KNOWN, return_url=RETURN_URL, notify_url=""
    )
    _press(session, passed=True)
    tencent_sandbox.set_faults(vendor_code="ErrCode:2018")
    result = provider.fetch_liveness_result(provider_ref=session.provider_ref)
    assert result is not None and result.reason_code == ReasonCode.DAILY_LIMIT_REACHED


# -- the sandbox's registry through the face flow ----------------------------------------------


def test_a_passed_face_for_a_name_the_number_does_not_hold_is_a_mismatch(
    tencent_sandbox: SandboxHandle,
) -> None:
    provider = TencentProvider()
    session = provider.start_liveness(
        request_id=new_request_id(), identity=MISMATCH, return_url=RETURN_URL, notify_url=""
    )
    _press(session, passed=True)
    result = provider.fetch_liveness_result(provider_ref=session.provider_ref)
    assert result is not None and result.reason_code == ReasonCode.NAME_NUMBER_MISMATCH


def test_the_browser_goes_back_to_the_return_url_with_the_token(
    tencent_sandbox: SandboxHandle,
) -> None:
    session = TencentProvider().start_liveness(
        request_id=new_request_id(), identity=KNOWN, return_url=RETURN_URL, notify_url=""
    )
    location = _press(session, passed=True).headers["location"]
    assert location.startswith(RETURN_URL + "?")
    assert parse_qs(urlsplit(location).query) == {"token": [session.provider_ref]}


# -- idempotency on request_id, which Tencent does not offer ----------------------------------


def test_a_retried_identity_check_is_answered_from_the_cache_without_a_call(
    tencent_sandbox: SandboxHandle,
) -> None:
    provider = TencentProvider()
    request_id = new_request_id()
    first = provider.check_identity(request_id=request_id, identity=KNOWN)
    tencent_sandbox.set_faults(vendor_code="Error:InternalError")  # a call would fail
    assert TencentProvider().check_identity(request_id=request_id, identity=KNOWN) == first
    assert tencent_sandbox.faults()["vendor_code"] == "Error:InternalError"  # no call was made


def test_a_retried_start_opens_no_second_face_session(tencent_sandbox: SandboxHandle) -> None:
    provider = TencentProvider()
    request_id = new_request_id()
    first = provider.start_liveness(
        request_id=request_id, identity=KNOWN, return_url=RETURN_URL, notify_url=""
    )
    tencent_sandbox.set_faults(vendor_code="Error:InternalError")
    again = TencentProvider().start_liveness(
        request_id=request_id, identity=KNOWN, return_url=RETURN_URL, notify_url=""
    )
    assert again == first
    assert tencent_sandbox.faults()["vendor_code"] == "Error:InternalError"
    tencent_sandbox.clear_faults()
    other = provider.start_liveness(
        request_id=new_request_id(), identity=KNOWN, return_url=RETURN_URL, notify_url=""
    )
    assert other.provider_ref != first.provider_ref


def test_a_failed_call_is_not_cached(tencent_sandbox: SandboxHandle) -> None:
    provider = TencentProvider()
    request_id = new_request_id()
    tencent_sandbox.set_faults(vendor_code="Error:RequestLimitExceeded")
    with pytest.raises(ProviderTransientError) as raised:
        provider.check_identity(request_id=request_id, identity=KNOWN)
    assert raised.value.reason_code == ReasonCode.VENDOR_BUSY
    assert provider.check_identity(request_id=request_id, identity=KNOWN).passed


# -- diagnoses ----------------------------------------------------------------------------------


def test_clock_skew_is_diagnosed_as_clock(
    tencent_sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    ten_minutes_slow = types.SimpleNamespace(time=lambda: time.time() - 600)
    monkeypatch.setattr(abstract_client, "time", ten_minutes_slow)
    with pytest.raises(ProviderPermanentError) as raised:
        TencentProvider().probe()
    assert raised.value.diagnosis == "clock"
    assert "AuthFailure.SignatureExpire" in str(raised.value)


def test_an_unknown_secret_id_is_diagnosed_as_credentials(tencent_sandbox: SandboxHandle) -> None:
    with pytest.raises(ProviderPermanentError) as raised:
        TencentProvider(secret_id="AKID-nobody").probe()
    assert raised.value.diagnosis == "credentials"


def test_a_wrong_secret_key_is_diagnosed_as_signature(tencent_sandbox: SandboxHandle) -> None:
    with pytest.raises(ProviderPermanentError) as raised:
        TencentProvider(secret_key="wrong").probe()
    assert raised.value.diagnosis == "signature"


def test_a_secret_pasted_with_spaces_is_diagnosed_as_credentials(
    tencent_sandbox: SandboxHandle,
) -> None:
    with pytest.raises(ProviderPermanentError) as raised:
        TencentProvider(secret_key=tencent_sandbox.secret + "\n").check_identity(
            request_id=new_request_id(), identity=KNOWN
        )
    assert raised.value.diagnosis == "credentials"
    assert tencent_sandbox.secret not in str(raised.value)


def test_a_wrong_rule_id_is_diagnosed_by_the_probe(tencent_sandbox: SandboxHandle) -> None:
    tencent_sandbox.set_faults(vendor_code="Error:InvalidParameterValue.RuleIdNotExist")
    with pytest.raises(ProviderPermanentError) as raised:
        TencentProvider().probe()
    assert raised.value.diagnosis == "configuration"


def test_probe_names_what_answered(tencent_sandbox: SandboxHandle) -> None:
    line = TencentProvider().probe()
    assert tencent_sandbox.url in line and "BizTokenIllegal" in line


def test_the_probe_needs_the_rule_id(tencent_sandbox: SandboxHandle) -> None:
    with pytest.raises(ProviderPermanentError) as raised:
        TencentProvider(rule_id="").probe()
    assert raised.value.diagnosis == "configuration"


def test_an_endpoint_with_a_path_is_a_configuration_error() -> None:
    provider = TencentProvider(
        endpoint="https://faceid.tencentcloudapi.com/v3", secret_id="a", secret_key="b"
    )
    with pytest.raises(ProviderPermanentError) as raised:
        provider.check_identity(request_id=new_request_id(), identity=KNOWN)
    assert raised.value.diagnosis == "configuration"


def test_documents_it_does_not_cover_are_refused_before_any_call() -> None:
    permit = Identity("测试己", "hk_mo_residence_permit", "810000199201019034")
    provider = TencentProvider(endpoint="http://127.0.0.1:9", secret_id="a", secret_key="b")
    with pytest.raises(ProviderPermanentError) as raised:
        provider.check_identity(request_id=new_request_id(), identity=permit)
    assert raised.value.diagnosis == "configuration"
    assert_no_personal_data(raised.value, permit)


def test_an_unreachable_vendor_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = TencentProvider(endpoint=f"http://127.0.0.1:{port}", secret_id="a", secret_key="b")
    with pytest.raises(ProviderTransientError) as raised:
        provider.check_identity(request_id=new_request_id(), identity=KNOWN)
    assert raised.value.reason_code == ReasonCode.VENDOR_ERROR
    assert_no_personal_data(raised.value, KNOWN)
    assert raised.value.__suppress_context__


def test_tencent_sends_no_notifications(tencent_sandbox: SandboxHandle) -> None:
    with pytest.raises(ProviderPermanentError):
        TencentProvider().parse_notification(body=b"", headers={}, query={"token": "X"})


# -- what goes over the wire, and what the logs see --------------------------------------------


class _Recorder:
    """A WSGI middleware in front of the sandbox: records each request, may answer a status."""

    def __init__(self, app: Any, *, status: str = "") -> None:
        self.app = app
        self.status = status
        self.requests: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        self.requests.append(
            {
                "path": environ.get("PATH_INFO", ""),
                "query": environ.get("QUERY_STRING", ""),
                "action": environ.get("HTTP_X_TC_ACTION", ""),
                "headers": {k: v for k, v in environ.items() if k.startswith("HTTP_")},
                "body": body,
            }
        )
        if self.status:
            start_response(self.status, [("Content-Type", "text/html")])
            return [b"<html>bad gateway</html>"]
        environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)


def _provider_for(url: str, sandbox: InProcessSandbox) -> TencentProvider:
    return TencentProvider(
        endpoint=url,
        secret_id=sandbox.app_id,
        secret_key=sandbox.secret,
        rule_id=RULE_ID,
        timeout=TIMEOUT,
    )


def test_personal_data_travels_only_in_the_signed_body(
    sandbox_in_process: InProcessSandbox,
) -> None:
    recorder = _Recorder(sandbox_in_process.service)
    with serve_in_thread(recorder) as url:
        provider = _provider_for(url, sandbox_in_process)
        assert provider.check_identity(request_id=new_request_id(), identity=KNOWN).passed
        session = provider.start_liveness(
            request_id=new_request_id(), identity=KNOWN, return_url=RETURN_URL, notify_url=""
        )
        assert provider.fetch_liveness_result(provider_ref=session.provider_ref) is None
    escaped_name = json.dumps(KNOWN.name).strip('"')  # the SDK sends \uXXXX escapes
    for request in recorder.requests:
        assert request["path"] == "/" and request["query"] == ""
        for value in request["headers"].values():
            assert KNOWN.document_number not in value and escaped_name not in value
    by_action = {request["action"]: json.loads(request["body"]) for request in recorder.requests}
    assert by_action["IdCardVerification"] == {"IdCard": KNOWN.document_number, "Name": KNOWN.name}
    detect_auth = by_action["DetectAuth"]
    assert "Extra" not in detect_auth
    assert detect_auth["RedirectUrl"] == RETURN_URL and detect_auth["RuleId"] == RULE_ID
    # The text result only: never the ID card images, best frames or the video.
    assert by_action["GetDetectInfoEnhanced"]["InfoType"] == "1"


def test_a_gateway_error_page_is_transient(sandbox_in_process: InProcessSandbox) -> None:
    recorder = _Recorder(sandbox_in_process.service, status="502 Bad Gateway")
    with serve_in_thread(recorder) as url, pytest.raises(ProviderTransientError) as raised:
        _provider_for(url, sandbox_in_process).check_identity(
            request_id=new_request_id(), identity=KNOWN
        )
    assert raised.value.reason_code == ReasonCode.VENDOR_ERROR
    assert "ServerNetworkError" in str(raised.value)
    assert "bad gateway" not in str(raised.value)


def test_an_unfinished_face_session_expires_as_liveness_expired(
    sandbox_in_process: InProcessSandbox,
) -> None:
    provider = _provider_for(sandbox_in_process.url, sandbox_in_process)
    session = provider.start_liveness(
        request_id=new_request_id(), identity=KNOWN, return_url=RETURN_URL, notify_url=""
    )
    sandbox_in_process.clock.advance(15 * 60 + 1)
    result = provider.fetch_liveness_result(provider_ref=session.provider_ref)
    assert result == CheckResult(
        passed=False, reason_code=ReasonCode.LIVENESS_EXPIRED, provider_ref=session.provider_ref
    )


def test_the_sdk_logs_nothing_personal_even_at_debug(
    tencent_sandbox: SandboxHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="tencentcloud_sdk_common")
    provider = TencentProvider()
    provider.check_identity(request_id=new_request_id(), identity=KNOWN)
    session = provider.start_liveness(
        request_id=new_request_id(), identity=KNOWN, return_url=RETURN_URL, notify_url=""
    )
    _press(session, passed=True)
    assert provider.fetch_liveness_result(provider_ref=session.provider_ref) is not None
    escaped_name = json.dumps(KNOWN.name).strip('"')
    for record in caplog.records:
        text = record.getMessage()
        assert KNOWN.document_number not in text
        assert KNOWN.name not in text and escaped_name not in text
    assert not [r for r in caplog.records if r.name == "tencentcloud_sdk_common"]
