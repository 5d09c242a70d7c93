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
    COMPANY_NOT_OPERATING = "company_not_operating"  # deregistered, revoked, suspended...
    DAILY_LIMIT_REACHED = "daily_limit_reached"  # the vendor's per-document daily limit
    TIMEOUT = "timeout"  # the vendor did not answer, retries exhausted
    VENDOR_BUSY = "vendor_busy"  # the vendor asked us to slow down or try later
    VENDOR_ERROR = "vendor_error"  # the vendor failed (5xx), retries exhausted
    REJECTED_REQUEST = "rejected_request"  # the vendor refused our request (configuration)
    # Not a vendor's answer: the person withdrew consent to the real-name service description,
    # which ended their completed verification (status ``ended``).
    CONSENT_WITHDRAWN = "consent_withdrawn"


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
    """Retrying cannot help (bad signature, bad credentials, malformed request).

    ``diagnosis`` says in words what an operator should look at (``manage.py check_provider``
    prints it): one of :data:`DIAGNOSES`' keys, or empty when the vendor's answer says nothing
    more precise than the message."""

    def __init__(
        self,
        message: str,
        *,
        reason_code: ReasonCode = ReasonCode.REJECTED_REQUEST,
        diagnosis: str = "",
    ):
        super().__init__(message)
        self.reason_code = reason_code
        self.diagnosis = diagnosis


#: What a refused call can mean for the operator, in words (``check_provider`` prints them).
DIAGNOSES = {
    "credentials": "the key id or the secret is wrong (or the key is disabled): copy them "
    "again from the vendor's console, without spaces or line breaks",
    "signature": "the vendor could not verify our signature: the secret or private key does not "
    "belong to the key id / app id, or a proxy changed the request",
    "clock": "this machine's clock is too far from the vendor's: run NTP (chrony, "
    "systemd-timesyncd) on every web and worker host",
    "ip_allow_list": "the vendor refuses calls from this machine's address: add the egress IP of "
    "the workers to the key's or app's IP allow-list in the vendor's console",
    "permission": "the key may sign but is not allowed this product or action: grant the "
    "permission (RAM policy, CAM policy, or the signed product on the open platform)",
    "configuration": "the vendor refused a setting of ours (scene, rule or product code, "
    "return URL): check the provider's settings against the console",
    "account": "the vendor account cannot be billed or the product is not activated",
    "response_signature": "the vendor's answer failed our verification: the configured vendor "
    "public key is not the vendor's (a common mistake is to paste our own public key)",
}


class BaseProvider(abc.ABC):
    """One instance per process and name (see ``verification.providers.get_provider``): keep
    it thread-safe and cheap to build."""

    #: Short name recorded on each verification (support staff filter by it), and the name the
    #: router's settings use (``VERIFICATION_PROVIDERS``, ``VERIFICATION_ROUTES``).
    name: str = ""

    #: What the person is shown as the vendor doing the check ("Alipay", "Tencent Cloud").
    display_name: str = ""

    #: The longest one call may take before the client gives up, in seconds (system check E004).
    call_timeout: float = 30.0

    #: The ``verification.documents.DocumentType`` values this vendor checks (name + number
    #: and face). The router sends a document only to providers that cover it.
    document_types: frozenset[str] = frozenset()

    #: Whether :meth:`check_enterprise` is offered.
    checks_enterprises: bool = False

    #: Whether :meth:`check_identity` is a separate call. False for vendors (Alipay) whose face
    #: session checks name and number together with the face: the identity step is then
    #: recorded as deferred to the face step, and the face result decides both.
    checks_identity_separately: bool = True

    #: Whether a birth date typed by the person is compared with the registry's.
    checks_birth_date: bool = False

    #: How the vendor tells us a face session finished: ``"signed"`` (a notification we can
    #: verify), ``"hint"`` (an unsigned callback, confirmed by fetching the result) or
    #: ``"none"`` (we learn it when the person returns, or from the sweeper's polling).
    notifications: str = "signed"

    #: How long a face session can be finished at the vendor, in seconds; a session still
    #: unfinished this long (plus ``VERIFICATION_FACE_SESSION_GRACE``) is recorded as expired.
    face_session_seconds: int = 15 * 60

    #: The Django settings that must be non-empty for this provider to work (system check).
    required_settings: tuple[str, ...] = ()

    @classmethod
    def timeout(cls) -> float:
        """The configured timeout of one call, in seconds (the sweeper's check uses it)."""
        return cls.call_timeout

    @classmethod
    def missing_settings(cls) -> list[str]:
        """The names of required settings that are empty: never their values."""
        from django.conf import settings

        return [name for name in cls.required_settings if not getattr(settings, name, "")]

    def check_enterprise(self, *, request_id: str, company: Company) -> CheckResult:
        """Three-factor check against the business registry: company name, unified social
        credit code and legal representative. Idempotent on ``request_id`` like
        :meth:`check_identity`. Offered only where :attr:`checks_enterprises` is set."""
        raise ProviderPermanentError(
            f"{self.name} does not check enterprises", diagnosis="configuration"
        )

    def probe(self) -> str:
        """One signed call that costs nothing (a query for a session nobody opened, expecting
        the vendor's "not found"), proving credentials, clock and signature. Returns a line
        saying what answered; raises :class:`ProviderError` (with a ``diagnosis`` where the
        answer allows one) otherwise."""
        raise NotImplementedError(f"{self.name} has no probe")

    @abc.abstractmethod
    def check_identity(self, *, request_id: str, identity: Identity) -> CheckResult:
        """Does the authoritative registry hold this name with this document?

        ``request_id`` is our idempotency key: the same id must give the same answer and be
        charged once, so a retried task is harmless."""

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
    def parse_notification(
        self, *, body: bytes, headers: Mapping[str, str], query: Mapping[str, str] | None = None
    ) -> str:
        """Verify a notification and return the ``provider_ref`` it is about.

        ``query`` is the notification URL's query string (Aliyun's callback is a GET). Raises
        ProviderPermanentError when it is forged, stale or replayed, or when the vendor sends
        no notifications at all. The caller then fetches the result with
        :meth:`fetch_liveness_result` rather than trusting the notification."""
