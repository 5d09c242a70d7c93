"""The contract every identity provider adapter passes (django-allauth tests its providers the
same way: one mixin, one test class per provider).

Mix :class:`ProviderContract` into a ``Test...`` class that supplies these fixtures:

``provider``
    the adapter under test, pointed at the vendor (or its sandbox).
``contract_identities``
    a :class:`ContractIdentities`: people the vendor's registry knows and does not know.
``contract_companies``
    a :class:`ContractCompanies`: companies the vendor's business registry knows and does not.
``complete_liveness``
    ``complete_liveness(session, passed=True|False)``: finish a face session as the person
    would, pressing pass or fail (for the sandbox, a POST to its face page).
``make_vendor_time_out``
    a callable: from then on, until the test ends, the vendor takes longer than the adapter's
    timeout to answer.
``make_vendor_fail``
    a callable: the next call answers a server error (5xx).
``provider_with_bad_credentials``
    the adapter configured with a wrong secret.
``make_result_late``
    ``make_result_late(seconds)``: from then on, until the test ends, the vendor's query API
    shows a finished face session's result only ``seconds`` after the person finished.

The suite supplies ``notification_receiver`` itself: a local HTTP server that records the
notifications the vendor sends to ``notify_url``.

Vendors differ in what they offer, so the contract is cut by capability, and a provider's test
class mixes in every part its declared capabilities promise (:func:`contract_parts` lists them,
and each provider's test module checks its class against it): :class:`IdentityCheckContract`
(a separate name + number check), :class:`BirthDateContract`, :class:`EnterpriseContract`,
:class:`LivenessContract`, one of :class:`SignedNotificationContract`,
:class:`HintNotificationContract` and :class:`NoNotificationContract`, :class:`TroubleContract`
and :class:`ProbeContract`. :class:`ProviderContract` is every part the sandbox's own API
offers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.sandbox_harness import NotificationReceiver, running_notification_receiver
from verification.providers.base import (
    BaseProvider,
    CheckResult,
    Company,
    Identity,
    LivenessSession,
    ProviderPermanentError,
    ProviderTransientError,
    ReasonCode,
)

RETURN_URL = "https://realname.example/verification/return"

CompleteLiveness = Callable[..., None]


@dataclass(frozen=True)
class ContractIdentities:
    known: Identity  # in the registry, as given: passes
    name_mismatch: Identity  # a registered document under another person's name
    unknown: Identity  # a well-formed document the registry does not hold
    birth_date_mismatch: Identity  # registered name and number, another birth date


@dataclass(frozen=True)
class ContractCompanies:
    known: Company  # in the business registry, as given: passes
    company_mismatch: Company  # a registered credit code under another company's name
    legal_representative_mismatch: Company  # registered name and code, another representative
    unknown: Company  # a well-formed credit code the registry does not hold


def new_request_id() -> str:
    return f"contract-{uuid.uuid4().hex}"


def assert_plain_result(result: object) -> None:
    """Pass/fail, a reason code and the vendor's reference: nothing else (no score, no image)."""
    assert type(result) is CheckResult
    assert set(vars(result)) == {"passed", "reason_code", "provider_ref"}
    assert type(result.passed) is bool
    assert isinstance(result.reason_code, ReasonCode)
    assert isinstance(result.provider_ref, str) and result.provider_ref


def assert_no_personal_data(error: BaseException, subject: Identity | Company) -> None:
    """Error messages reach logs and error trackers: nothing the person typed may be in them."""
    text = str(error) + repr(error.args)
    typed: tuple[str, ...]
    if isinstance(subject, Company):
        typed = (subject.name, subject.credit_code, subject.legal_representative)
    else:
        typed = (subject.name, subject.document_number)
    for value in typed:
        assert value not in text


def first_call(
    provider: BaseProvider, identity: Identity, request_id: str, return_url: str
) -> CheckResult | LivenessSession:
    """The call a verification starts with at this provider: the identity check, or opening
    the face session where the vendor checks name and number with the face (Alipay). The
    notification URL is never called in the tests that use this."""
    if provider.checks_identity_separately:
        return provider.check_identity(request_id=request_id, identity=identity)
    return provider.start_liveness(
        request_id=request_id,
        identity=identity,
        return_url=return_url,
        notify_url="https://realname.example/verification/provider/notify/",
    )


class _Part:
    @pytest.fixture
    def notification_receiver(self) -> Iterator[NotificationReceiver]:
        with running_notification_receiver() as receiver:
            yield receiver

    def _start(
        self, provider: BaseProvider, identity: Identity, receiver: NotificationReceiver
    ) -> LivenessSession:
        return provider.start_liveness(
            request_id=new_request_id(),
            identity=identity,
            return_url=RETURN_URL,
            notify_url=receiver.url,
        )


class IdentityCheckContract(_Part):
    """A separate name + number check (``checks_identity_separately``)."""

    def test_registered_identity_passes(
        self, provider: BaseProvider, contract_identities: ContractIdentities
    ) -> None:
        result = provider.check_identity(
            request_id=new_request_id(), identity=contract_identities.known
        )
        assert result.passed
        assert result.reason_code == ReasonCode.OK
        assert_plain_result(result)

    def test_name_that_does_not_match_the_number_fails(
        self, provider: BaseProvider, contract_identities: ContractIdentities
    ) -> None:
        result = provider.check_identity(
            request_id=new_request_id(), identity=contract_identities.name_mismatch
        )
        assert not result.passed
        assert result.reason_code == ReasonCode.NAME_NUMBER_MISMATCH
        assert_plain_result(result)

    def test_unknown_document_fails_as_no_such_record(
        self, provider: BaseProvider, contract_identities: ContractIdentities
    ) -> None:
        result = provider.check_identity(
            request_id=new_request_id(), identity=contract_identities.unknown
        )
        assert not result.passed
        assert result.reason_code == ReasonCode.NO_SUCH_RECORD
        assert_plain_result(result)

    def test_same_request_id_gives_the_same_answer(
        self, provider: BaseProvider, contract_identities: ContractIdentities
    ) -> None:
        request_id = new_request_id()
        first = provider.check_identity(request_id=request_id, identity=contract_identities.known)
        again = provider.check_identity(request_id=request_id, identity=contract_identities.known)
        assert again == first
        other = provider.check_identity(
            request_id=new_request_id(), identity=contract_identities.known
        )
        assert other.provider_ref != first.provider_ref


class BirthDateContract(_Part):
    """A typed birth date is compared with the registry's (``checks_birth_date``)."""

    def test_wrong_birth_date_fails(
        self, provider: BaseProvider, contract_identities: ContractIdentities
    ) -> None:
        result = provider.check_identity(
            request_id=new_request_id(), identity=contract_identities.birth_date_mismatch
        )
        assert not result.passed
        assert result.reason_code == ReasonCode.BIRTH_DATE_MISMATCH


class EnterpriseContract(_Part):
    """Three-factor enterprise checks (``checks_enterprises``); needs
    ``provider_with_bad_credentials`` and ``make_vendor_fail``."""

    def test_registered_company_passes(
        self, provider: BaseProvider, contract_companies: ContractCompanies
    ) -> None:
        result = provider.check_enterprise(
            request_id=new_request_id(), company=contract_companies.known
        )
        assert result.passed
        assert result.reason_code == ReasonCode.OK
        assert_plain_result(result)

    def test_company_name_that_does_not_match_the_credit_code_fails(
        self, provider: BaseProvider, contract_companies: ContractCompanies
    ) -> None:
        result = provider.check_enterprise(
            request_id=new_request_id(), company=contract_companies.company_mismatch
        )
        assert not result.passed
        assert result.reason_code == ReasonCode.COMPANY_MISMATCH
        assert_plain_result(result)

    def test_wrong_legal_representative_fails(
        self, provider: BaseProvider, contract_companies: ContractCompanies
    ) -> None:
        result = provider.check_enterprise(
            request_id=new_request_id(), company=contract_companies.legal_representative_mismatch
        )
        assert not result.passed
        assert result.reason_code == ReasonCode.LEGAL_REPRESENTATIVE_MISMATCH
        assert_plain_result(result)

    def test_unknown_credit_code_fails_as_no_such_company(
        self, provider: BaseProvider, contract_companies: ContractCompanies
    ) -> None:
        result = provider.check_enterprise(
            request_id=new_request_id(), company=contract_companies.unknown
        )
        assert not result.passed
        assert result.reason_code == ReasonCode.NO_SUCH_COMPANY
        assert_plain_result(result)

    def test_same_enterprise_request_id_gives_the_same_answer(
        self, provider: BaseProvider, contract_companies: ContractCompanies
    ) -> None:
        request_id = new_request_id()
        first = provider.check_enterprise(request_id=request_id, company=contract_companies.known)
        again = provider.check_enterprise(request_id=request_id, company=contract_companies.known)
        assert again == first
        other = provider.check_enterprise(
            request_id=new_request_id(), company=contract_companies.known
        )
        assert other.provider_ref != first.provider_ref

    def test_vendor_server_error_in_an_enterprise_check_is_transient(
        self,
        provider: BaseProvider,
        contract_companies: ContractCompanies,
        make_vendor_fail: Callable[[], None],
    ) -> None:
        request_id = new_request_id()
        make_vendor_fail()
        with pytest.raises(ProviderTransientError) as raised:
            provider.check_enterprise(request_id=request_id, company=contract_companies.known)
        assert raised.value.reason_code in (ReasonCode.VENDOR_ERROR, ReasonCode.VENDOR_BUSY)
        assert_no_personal_data(raised.value, contract_companies.known)

        result = provider.check_enterprise(request_id=request_id, company=contract_companies.known)
        assert result.passed

    def test_bad_credentials_refuse_an_enterprise_check_permanently(
        self,
        provider_with_bad_credentials: BaseProvider,
        contract_companies: ContractCompanies,
    ) -> None:
        with pytest.raises(ProviderPermanentError) as raised:
            provider_with_bad_credentials.check_enterprise(
                request_id=new_request_id(), company=contract_companies.known
            )
        assert raised.value.reason_code == ReasonCode.REJECTED_REQUEST
        assert_no_personal_data(raised.value, contract_companies.known)


class LivenessContract(_Part):
    """Face sessions: a web address, a reference, and the result only once the person finished."""

    def test_liveness_session_has_a_web_address_and_a_reference(
        self,
        provider: BaseProvider,
        contract_identities: ContractIdentities,
        notification_receiver: NotificationReceiver,
    ) -> None:
        session = self._start(provider, contract_identities.known, notification_receiver)
        assert type(session) is LivenessSession
        assert set(vars(session)) == {"provider_ref", "url"}
        assert session.url.startswith(("https://", "http://"))
        assert session.provider_ref
        # The address carries no personal data: it goes through browsers, proxies and logs.
        assert contract_identities.known.document_number not in session.url
        assert contract_identities.known.name not in session.url

    def test_liveness_result_is_none_until_the_person_finishes(
        self,
        provider: BaseProvider,
        contract_identities: ContractIdentities,
        notification_receiver: NotificationReceiver,
    ) -> None:
        session = self._start(provider, contract_identities.known, notification_receiver)
        assert provider.fetch_liveness_result(provider_ref=session.provider_ref) is None

    def test_passed_face_check_gives_a_passed_result(
        self,
        provider: BaseProvider,
        contract_identities: ContractIdentities,
        notification_receiver: NotificationReceiver,
        complete_liveness: CompleteLiveness,
    ) -> None:
        session = self._start(provider, contract_identities.known, notification_receiver)
        complete_liveness(session, passed=True)
        result = provider.fetch_liveness_result(provider_ref=session.provider_ref)
        assert result is not None
        assert result.passed
        assert result.reason_code == ReasonCode.OK
        assert_plain_result(result)

    def test_failed_face_check_gives_liveness_failed(
        self,
        provider: BaseProvider,
        contract_identities: ContractIdentities,
        notification_receiver: NotificationReceiver,
        complete_liveness: CompleteLiveness,
    ) -> None:
        session = self._start(provider, contract_identities.known, notification_receiver)
        complete_liveness(session, passed=False)
        result = provider.fetch_liveness_result(provider_ref=session.provider_ref)
        assert result is not None
        assert not result.passed
        assert result.reason_code == ReasonCode.LIVENESS_FAILED
        assert_plain_result(result)

    def test_a_result_not_ready_yet_is_pending_until_it_is(
        self,
        provider: BaseProvider,
        contract_identities: ContractIdentities,
        notification_receiver: NotificationReceiver,
        complete_liveness: CompleteLiveness,
        make_result_late: Callable[[float], None],
    ) -> None:
        """The vendor has the person's answer but its query API does not show it yet (the
        callback may already have come): still pending, then the result."""
        make_result_late(2.0)
        session = self._start(provider, contract_identities.known, notification_receiver)
        complete_liveness(session, passed=True)
        assert provider.fetch_liveness_result(provider_ref=session.provider_ref) is None
        deadline = time.monotonic() + 30
        result = None
        while result is None and time.monotonic() < deadline:
            time.sleep(0.2)
            result = provider.fetch_liveness_result(provider_ref=session.provider_ref)
        assert result is not None and result.passed


class SignedNotificationContract(_Part):
    """``notifications = "signed"``: a notification is verified, accepted once, and a tampered,
    replayed or unsigned one is refused."""

    def test_genuine_notification_is_accepted_once_and_tampering_is_refused(
        self,
        provider: BaseProvider,
        contract_identities: ContractIdentities,
        notification_receiver: NotificationReceiver,
        complete_liveness: CompleteLiveness,
    ) -> None:
        session = self._start(provider, contract_identities.known, notification_receiver)
        complete_liveness(session, passed=True)
        notification = notification_receiver.wait()

        tampered = (
            notification.body.replace(b"pass", b"fail")
            if b"pass" in notification.body
            else notification.body + b" "
        )
        with pytest.raises(ProviderPermanentError):
            provider.parse_notification(
                body=tampered, headers=notification.headers, query=notification.query
            )

        ref = provider.parse_notification(
            body=notification.body, headers=notification.headers, query=notification.query
        )
        assert ref == session.provider_ref

        with pytest.raises(ProviderPermanentError):
            provider.parse_notification(
                body=notification.body, headers=notification.headers, query=notification.query
            )

    def test_unsigned_notification_is_refused(self, provider: BaseProvider) -> None:
        body = json.dumps({"ref": "forged", "status": "pass"}).encode()
        with pytest.raises(ProviderPermanentError):
            provider.parse_notification(body=body, headers={"Content-Type": "application/json"})


class HintNotificationContract(_Part):
    """``notifications = "hint"`` (Aliyun): an unsigned callback that only names the session;
    the result is always fetched. A callback that is not the vendor's (no token of ours) is
    refused; the vendor's retries of a genuine one (duplicates) name the same session each time,
    which is harmless, since nothing is taken from the callback but the session to fetch."""

    def test_genuine_callback_names_the_session_and_duplicates_name_it_again(
        self,
        provider: BaseProvider,
        contract_identities: ContractIdentities,
        notification_receiver: NotificationReceiver,
        complete_liveness: CompleteLiveness,
    ) -> None:
        session = self._start(provider, contract_identities.known, notification_receiver)
        complete_liveness(session, passed=True)
        callback = notification_receiver.wait()
        for _ in range(2):
            ref = provider.parse_notification(
                body=callback.body, headers=callback.headers, query=callback.query
            )
            assert ref == session.provider_ref

    def test_callback_without_our_token_is_refused(
        self,
        provider: BaseProvider,
        contract_identities: ContractIdentities,
        notification_receiver: NotificationReceiver,
        complete_liveness: CompleteLiveness,
    ) -> None:
        session = self._start(provider, contract_identities.known, notification_receiver)
        complete_liveness(session, passed=True)
        callback = notification_receiver.wait()
        forged = {key: value for key, value in callback.query.items() if "token" not in key.lower()}
        with pytest.raises(ProviderPermanentError):
            provider.parse_notification(body=b"", headers={}, query=forged)
        tampered = {
            key: ("x" + value if "token" in key.lower() else value)
            for key, value in callback.query.items()
        }
        with pytest.raises(ProviderPermanentError):
            provider.parse_notification(body=b"", headers={}, query=tampered)

    def test_callback_is_only_a_hint_the_result_is_fetched(
        self,
        provider: BaseProvider,
        contract_identities: ContractIdentities,
        notification_receiver: NotificationReceiver,
        complete_liveness: CompleteLiveness,
    ) -> None:
        session = self._start(provider, contract_identities.known, notification_receiver)
        complete_liveness(session, passed=False)
        notification_receiver.wait()
        result = provider.fetch_liveness_result(provider_ref=session.provider_ref)
        assert result is not None and not result.passed


class NoNotificationContract(_Part):
    """``notifications = "none"`` (Tencent, Alipay): the vendor sends nothing to our server, so
    anything arriving at the notification URL for it is refused; the result is fetched when the
    person returns and by the sweeper."""

    def test_anything_posing_as_a_notification_is_refused(self, provider: BaseProvider) -> None:
        body = json.dumps({"ref": "forged", "status": "pass"}).encode()
        with pytest.raises(ProviderPermanentError):
            provider.parse_notification(
                body=body, headers={"Content-Type": "application/json"}, query={"ref": "forged"}
            )


class TroubleContract(_Part):
    """Timeouts, server errors and wrong credentials, on the call a verification starts with;
    needs ``make_vendor_time_out``, ``make_vendor_fail`` and ``provider_with_bad_credentials``."""

    def test_vendor_timeout_is_transient_with_reason_timeout(
        self,
        provider: BaseProvider,
        contract_identities: ContractIdentities,
        make_vendor_time_out: Callable[[], None],
    ) -> None:
        make_vendor_time_out()
        with pytest.raises(ProviderTransientError) as raised:
            first_call(provider, contract_identities.known, new_request_id(), RETURN_URL)
        assert raised.value.reason_code == ReasonCode.TIMEOUT
        assert_no_personal_data(raised.value, contract_identities.known)

    def test_vendor_server_error_is_transient_and_a_retry_succeeds(
        self,
        provider: BaseProvider,
        contract_identities: ContractIdentities,
        make_vendor_fail: Callable[[], None],
    ) -> None:
        request_id = new_request_id()
        make_vendor_fail()
        with pytest.raises(ProviderTransientError) as raised:
            first_call(provider, contract_identities.known, request_id, RETURN_URL)
        assert raised.value.reason_code in (ReasonCode.VENDOR_ERROR, ReasonCode.VENDOR_BUSY)
        assert_no_personal_data(raised.value, contract_identities.known)

        answer = first_call(provider, contract_identities.known, request_id, RETURN_URL)
        assert isinstance(answer, LivenessSession) or getattr(answer, "passed", False)

    def test_bad_credentials_are_a_permanent_rejection(
        self,
        provider_with_bad_credentials: BaseProvider,
        contract_identities: ContractIdentities,
    ) -> None:
        with pytest.raises(ProviderPermanentError) as raised:
            first_call(
                provider_with_bad_credentials,
                contract_identities.known,
                new_request_id(),
                RETURN_URL,
            )
        assert raised.value.reason_code == ReasonCode.REJECTED_REQUEST
        assert_no_personal_data(raised.value, contract_identities.known)


class ProbeContract(_Part):
    """``manage.py check_provider``: one call that costs nothing proves the configuration."""

    def test_probe_with_good_credentials_says_what_answered(self, provider: BaseProvider) -> None:
        line = provider.probe()
        assert isinstance(line, str) and line

    def test_probe_with_bad_credentials_explains_the_refusal(
        self, provider_with_bad_credentials: BaseProvider
    ) -> None:
        with pytest.raises(ProviderPermanentError) as raised:
            provider_with_bad_credentials.probe()
        assert raised.value.diagnosis in ("credentials", "signature")


def contract_parts(provider: type[BaseProvider]) -> set[type]:
    """The parts of the contract a provider's declared capabilities promise."""
    parts: set[type] = {LivenessContract, TroubleContract, ProbeContract}
    if provider.checks_identity_separately:
        parts.add(IdentityCheckContract)
    if provider.checks_birth_date:
        parts.add(BirthDateContract)
    if provider.checks_enterprises:
        parts.add(EnterpriseContract)
    parts.add(
        {
            "signed": SignedNotificationContract,
            "hint": HintNotificationContract,
            "none": NoNotificationContract,
        }[provider.notifications]
    )
    return parts


class ProviderContract(
    IdentityCheckContract,
    BirthDateContract,
    EnterpriseContract,
    LivenessContract,
    SignedNotificationContract,
    TroubleContract,
    ProbeContract,
):
    """Everything the sandbox's own API offers."""
