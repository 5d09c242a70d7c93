"""The interface every identity provider (sandbox, Alipay, Aliyun, Tencent...) implements.

A provider answers pass/fail with a reason code, never images, videos, templates or scores.
Calls are made only from Celery workers. Transient trouble (timeouts, 5xx, connection errors)
raises :class:`ProviderTransientError` so the task retries; anything a retry cannot fix raises
:class:`ProviderPermanentError` with a reason code, and a person's mismatch is simply a failed
:class:`CheckResult`."""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date


class ReasonCode(enum.StrEnum):
    """Why a check did not pass (or ``OK`` when it did). Vendor adapters map their own codes
    onto these; the user-facing guidance for each lives in the verification app."""

    OK = "ok"
    NAME_NUMBER_MISMATCH = "name_number_mismatch"  # the number exists, under another name
    NO_SUCH_RECORD = "no_such_record"  # the authority knows no such document
    BIRTH_DATE_MISMATCH = "birth_date_mismatch"
    LIVENESS_FAILED = "liveness_failed"  # the face check was failed or refused
    LIVENESS_EXPIRED = "liveness_expired"  # the face session was not finished in time
    COMPANY_MISMATCH = "company_mismatch"  # the credit code exists, under another company name
    LEGAL_REPRESENTATIVE_MISMATCH = "legal_representative_mismatch"
    NO_SUCH_COMPANY = "no_such_company"  # the registry knows no such credit code
    TIMEOUT = "timeout"  # the vendor did not answer, retries exhausted
    VENDOR_ERROR = "vendor_error"  # the vendor failed (5xx), retries exhausted
    REJECTED_REQUEST = "rejected_request"  # the vendor refused our request (configuration)


@dataclass(frozen=True)
class Identity:
    """What is checked against the authoritative registry. Never logged, never queued."""

    name: str = field(repr=False)
    document_type: str  # a verification.documents.DocumentType value
    document_number: str = field(repr=False)  # normalised (upper case, no spaces)
    birth_date: date | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Company:
    """The three factors of an enterprise check. Never logged, never queued."""

    name: str = field(repr=False)
    credit_code: str  # unified social credit code, normalised (upper case, no spaces)
    legal_representative: str = field(repr=False)


@dataclass(frozen=True)
class CheckResult:
    passed: bool
    reason_code: ReasonCode
    provider_ref: str  # the vendor's reference for this check, for support staff

    def __post_init__(self) -> None:
        if self.passed != (self.reason_code == ReasonCode.OK):
            raise ValueError("a passed result has reason OK, a failed one any other reason")


@dataclass(frozen=True)
class LivenessSession:
    provider_ref: str  # the vendor's id of the face session; results are fetched with it
    url: str  # where to send the person's browser


class ProviderError(Exception):
    """Base of provider errors. Messages never contain personal data."""


class ProviderTransientError(ProviderError):
    """Worth retrying: timeout, connection failure, 5xx, rate limit."""

    def __init__(self, message: str, *, reason_code: ReasonCode = ReasonCode.VENDOR_ERROR):
        super().__init__(message)
        self.reason_code = reason_code


class ProviderPermanentError(ProviderError):
    """Retrying cannot help (bad signature, bad credentials, malformed request)."""

    def __init__(self, message: str, *, reason_code: ReasonCode = ReasonCode.REJECTED_REQUEST):
        super().__init__(message)
        self.reason_code = reason_code


class BaseProvider(abc.ABC):
    """One instance per process (see ``verification.providers.get_provider``): keep it
    thread-safe and cheap to build."""

    #: Short name recorded on each verification (support staff filter by it).
    name: str = ""

    #: The longest one call may take before the client gives up, in seconds (system check E004).
    call_timeout: float = 30.0

    @abc.abstractmethod
    def check_identity(self, *, request_id: str, identity: Identity) -> CheckResult:
        """Does the authoritative registry hold this name with this document?

        ``request_id`` is our idempotency key: the same id must give the same answer and be
        charged once, so a retried task is harmless."""

    @abc.abstractmethod
    def check_enterprise(self, *, request_id: str, company: Company) -> CheckResult:
        """Three-factor check against the business registry: company name, unified social
        credit code and legal representative. Idempotent on ``request_id`` like
        :meth:`check_identity`."""

    @abc.abstractmethod
    def start_liveness(
        self, *, request_id: str, identity: Identity, return_url: str, notify_url: str
    ) -> LivenessSession:
        """Open a face-liveness session for the holder of ``identity``.

        The person is sent to ``session.url``; the vendor sends them back to ``return_url``
        and POSTs a signed notification to ``notify_url`` when they finish."""

    @abc.abstractmethod
    def fetch_liveness_result(self, *, provider_ref: str) -> CheckResult | None:
        """The outcome of a face session, or None while the person has not finished."""

    @abc.abstractmethod
    def parse_notification(self, *, body: bytes, headers: Mapping[str, str]) -> str:
        """Verify a notification's signature and return the ``provider_ref`` it is about.

        Raises ProviderPermanentError when the signature is bad, stale or replayed. The caller
        then fetches the result with :meth:`fetch_liveness_result` rather than trusting the body."""
