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

The suite supplies ``notification_receiver`` itself: a local HTTP server that records the
notifications the vendor sends to ``notify_url``."""

from __future__ import annotations

import json
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


class ProviderContract:
    """The behaviour our verification flow relies on, whatever the vendor."""

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

    # -- identity check ---------------------------------------------------------------------

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

    def test_wrong_birth_date_fails(
        self, provider: BaseProvider, contract_identities: ContractIdentities
    ) -> None:
        result = provider.check_identity(
            request_id=new_request_id(), identity=contract_identities.birth_date_mismatch
        )
        assert not result.passed
        assert result.reason_code == ReasonCode.BIRTH_DATE_MISMATCH

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

    # -- enterprise check -------------------------------------------------------------------

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

    # -- face liveness ----------------------------------------------------------------------

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

    # -- notifications ----------------------------------------------------------------------

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
            provider.parse_notification(body=tampered, headers=notification.headers)

        ref = provider.parse_notification(body=notification.body, headers=notification.headers)
        assert ref == session.provider_ref

        with pytest.raises(ProviderPermanentError):
            provider.parse_notification(body=notification.body, headers=notification.headers)

    def test_unsigned_notification_is_refused(self, provider: BaseProvider) -> None:
        body = json.dumps({"ref": "forged", "status": "pass"}).encode()
        with pytest.raises(ProviderPermanentError):
            provider.parse_notification(body=body, headers={"Content-Type": "application/json"})

    # -- trouble ----------------------------------------------------------------------------

    def test_vendor_timeout_is_transient_with_reason_timeout(
        self,
        provider: BaseProvider,
        contract_identities: ContractIdentities,
        make_vendor_time_out: Callable[[], None],
    ) -> None:
        make_vendor_time_out()
        with pytest.raises(ProviderTransientError) as raised:
            provider.check_identity(request_id=new_request_id(), identity=contract_identities.known)
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
            provider.check_identity(request_id=request_id, identity=contract_identities.known)
        assert raised.value.reason_code == ReasonCode.VENDOR_ERROR
        assert_no_personal_data(raised.value, contract_identities.known)

        result = provider.check_identity(request_id=request_id, identity=contract_identities.known)
        assert result.passed

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
        assert raised.value.reason_code == ReasonCode.VENDOR_ERROR
        assert_no_personal_data(raised.value, contract_companies.known)

        result = provider.check_enterprise(request_id=request_id, company=contract_companies.known)
        assert result.passed

    def test_bad_credentials_are_a_permanent_rejection(
        self,
        provider_with_bad_credentials: BaseProvider,
        contract_identities: ContractIdentities,
    ) -> None:
        with pytest.raises(ProviderPermanentError) as raised:
            provider_with_bad_credentials.check_identity(
                request_id=new_request_id(), identity=contract_identities.known
            )
        assert raised.value.reason_code == ReasonCode.REJECTED_REQUEST
        assert_no_personal_data(raised.value, contract_identities.known)

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
