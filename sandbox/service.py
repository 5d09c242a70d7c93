"""The sandbox identity provider as a plain WSGI application.

It plays an external vendor, so it shares nothing with our site but the signing secret: no
database, no Django; its sessions, stored answers and nonces live in memory behind one lock and
vanish when the process stops."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from . import pages, signing
from .faults import Faults, InvalidRequest
from .registry import DOCUMENT_TYPES, CompanyRegistry, Registry

logger = logging.getLogger("sandbox")

SESSION_TTL_SECONDS = 15 * 60
# Stored answers (for idempotency) and finished sessions are forgotten after a day.
KEEP_SECONDS = 24 * 60 * 60
MAX_BODY_BYTES = 64 * 1024
NOTIFY_RETRY_DELAYS = (0.5, 2.0, 5.0)
NOTIFY_TIMEOUT_SECONDS = 5.0

PENDING, PASSED, FAILED, EXPIRED = "pending", "pass", "fail", "expired"
_REASON_OF_STATUS = {
    PENDING: None,
    PASSED: "ok",
    FAILED: "liveness_failed",
    EXPIRED: "liveness_expired",
}
_REF = re.compile(r"[A-Za-z0-9_-]{1,64}")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


@dataclass(frozen=True)
class SandboxConfig:
    app_id: str
    secret: str
    public_url: str  # how a person's browser reaches the face page
    registry: Registry
    companies: CompanyRegistry = field(default_factory=CompanyRegistry.from_csv)  # the demo's
    faults: Faults = field(default_factory=Faults)
    session_ttl: float = SESSION_TTL_SECONDS
    notify_retry_delays: tuple[float, ...] = NOTIFY_RETRY_DELAYS
    # The app's RSA public key (PEM) the Alipay protocol verifies requests with; empty: it
    # refuses every signed call (``sandbox.vendors.alipay``).
    alipay_app_public_key: str = ""
    # Alipay's own private key (PEM) the protocol signs its answers with; empty: a new key pair
    # is made at start (``run_sandbox_provider --alipay-key-file`` keeps one across restarts).
    alipay_private_key: str = ""
    # Where the SMS carrier protocols append each message, one JSON object a line, in the
    # format of our file backend (accounts.sms.filebased); empty: messages are not kept.
    sms_file: str = ""


@dataclass
class _Session:
    ref: str
    request_digest: str
    masked_name: str
    return_url: str
    notify_url: str
    created_at: float
    outcome: str | None = None
    # Which protocol opened it ("sandbox", or a vendor's name in ``sandbox.vendors``), what
    # that protocol keeps about it, and what it does once the person decided (a vendor's
    # callback) instead of the sandbox's own signed notification.
    vendor: str = "sandbox"
    data: dict[str, Any] = field(default_factory=dict)
    on_decided: Callable[[Session, str], None] | None = None
    ready_at: float = 0.0  # when a decided outcome shows in queries (fault result_delay_ms)

    def status(self, now: float, ttl: float) -> str:
        if self.outcome:
            return self.outcome if now >= self.ready_at else PENDING
        return EXPIRED if now - self.created_at > ttl else PENDING


Session = _Session


@dataclass(frozen=True)
class VendorRequest:
    """A request to one of the vendor protocols (``sandbox.vendors``), read once."""

    method: str
    path: str
    query: str  # the raw query string, as signed
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    remote_addr: str


@dataclass
class _Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    signed: bool = False  # signed for the request nonce when sent


def _json(status: int, payload: Mapping[str, object], *, signed: bool = True) -> _Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return _Response(status, body, signed=signed)


def _html(status: int, body: bytes) -> _Response:
    return _Response(
        status,
        body,
        content_type="text/html; charset=utf-8",
        headers=[
            ("Content-Security-Policy", pages.CONTENT_SECURITY_POLICY),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
        ],
    )


def _text(payload: Mapping[str, Any], key: str, *, max_length: int = 200) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise InvalidRequest(key)
    if any(ord(char) < 32 for char in value):
        raise InvalidRequest(key)
    return value


def _birth_date(payload: Mapping[str, Any]) -> date | None:
    value = payload.get("birth_date")
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest("birth_date")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest("birth_date") from None


def _person_fields(payload: Mapping[str, Any]) -> tuple[str, str, str, date | None]:
    """Name, document type, document number and date of birth: an identity check and a liveness
    session both ask about the person, and report the first bad field in this order."""
    name = _text(payload, "name")
    document_type = _text(payload, "document_type")
    if document_type not in DOCUMENT_TYPES:
        raise InvalidRequest("document_type")
    document_number = _text(payload, "document_number", max_length=64)
    return name, document_type, document_number, _birth_date(payload)


def _url(payload: Mapping[str, Any], key: str) -> str:
    value = _text(payload, key, max_length=2000)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or not value.isascii():
        raise InvalidRequest(key)
    return value


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


class SandboxService:
    """The WSGI application. Thread-safe: every change of state happens under ``_lock``.

    ``clock`` is the service's own timeline (session expiry, forgetting old answers), so a test
    can move it; signatures are always checked against the wall clock both parties share."""

    def __init__(self, config: SandboxConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._nonces = signing.NonceCache()
        self._faults = Faults(**asdict(config.faults))  # changed at runtime, config is not
        # (kind of check, request_id) -> (digest of the request, answer, when first answered)
        self._checks: dict[tuple[str, str], tuple[str, dict[str, str], float]] = {}
        self._liveness_requests: dict[str, str] = {}  # request_id -> session ref
        self._calls: Counter[tuple[str, str]] = Counter()  # (kind, request_id) -> calls
        self._sessions: dict[str, _Session] = {}
        self._last_prune = clock()
        self._stopping = threading.Event()
        self._random = random.Random()  # noqa: S311 - faults only, nothing secret
        # The vendor protocols (``sandbox.vendors``) build on this class, so they are plugged
        # in from outside: ``sandbox.vendors.serve_vendors(service)``.
        self._vendors: list[Any] = []
        self._routes: dict[str, Callable[[dict[str, Any]], _Response]] = {
            "/api/v1/identity/check": self._identity_check,
            "/api/v1/enterprise/check": self._enterprise_check,
            "/api/v1/liveness/start": self._liveness_start,
            "/api/v1/liveness/query": self._liveness_query,
        }

    def close(self) -> None:
        """Wake hanging requests and pending notification retries so the process can stop."""
        self._stopping.set()

    # -- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO") or "/")
        request_headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        # WSGI keeps these two apart from the HTTP_* keys, but vendors sign them (Aliyun's ACS3
        # and Tencent's TC3 sign content-type), so a vendor protocol must see them as sent.
        for key, name in (("CONTENT_TYPE", "content-type"), ("CONTENT_LENGTH", "content-length")):
            if environ.get(key):
                request_headers[name] = str(environ[key])
        try:
            response = self._dispatch(environ, method, path, request_headers)
        except Exception as exc:
            # The type only: a message could quote what the person typed.
            logger.error("sandbox: %s while answering %s %s", type(exc).__name__, method, path)
            response = _json(500, {"error": "internal"})
        headers = [("Content-Type", response.content_type), *response.headers]
        if response.signed:
            nonce = request_headers.get(signing.HEADER_NONCE.lower(), "")
            signed = signing.signed_response_headers(
                secret=self.config.secret,
                app_id=self.config.app_id,
                status=response.status,
                request_nonce=nonce if signing.valid_nonce(nonce) else "",
                body=response.body,
                now=time.time(),
            )
            headers.extend(signed.items())
        headers.append(("Content-Length", str(len(response.body))))
        start_response(f"{response.status} {HTTPStatus(response.status).phrase}", headers)
        return [response.body]

    def _dispatch(
        self, environ: dict[str, Any], method: str, path: str, headers: dict[str, str]
    ) -> _Response:
        if path == "/healthz":
            if method != "GET":
                return self._not_allowed("GET")
            return _json(200, {"status": "ok"}, signed=False)
        if path.startswith("/face/"):
            return self._face(environ, method, path.removeprefix("/face/"))
        for vendor in self._vendors:
            if vendor.claims(method, path, headers):
                body = self._read_body(environ)
                if body is None:
                    return _json(413, {"error": "too_large"}, signed=False)
                return vendor.handle(
                    VendorRequest(
                        method=method,
                        path=path,
                        query=str(environ.get("QUERY_STRING") or ""),
                        headers=headers,
                        body=body,
                        remote_addr=str(environ.get("REMOTE_ADDR") or ""),
                    )
                )
        if path == "/_faults" and method == "GET":
            with self._lock:
                return _json(200, asdict(self._faults))
        if path == "/_stats" and method == "GET":
            # How often each check was asked for, by request id: what a vendor's bill counts
            # (one charge per id). Ids only, never the checked data.
            with self._lock:
                return _json(200, {"calls": {f"{k}:{r}": n for (k, r), n in self._calls.items()}})
        if path != "/_faults" and path not in self._routes:
            return _json(404, {"error": "not_found"}, signed=path.startswith("/api/"))
        if method != "POST":
            return self._not_allowed("POST")
        body = self._read_body(environ)
        if body is None:
            return _json(413, {"error": "too_large"})
        signed_path = str(environ.get("SCRIPT_NAME") or "") + path
        try:
            signing.verify_signed(
                headers,
                secret=self.config.secret,
                app_id=self.config.app_id,
                method=method,
                path=signed_path,
                body=body,
                now=time.time(),
                nonces=self._nonces,
            )
        except signing.SignatureError as refusal:
            return _json(401, {"error": refusal.code})
        try:
            payload = json.loads(body)
        except ValueError:
            return _json(400, {"error": "invalid_json"})
        if not isinstance(payload, dict):
            return _json(400, {"error": "invalid_json"})
        try:
            if path == "/_faults":
                return self._set_faults(payload)
            trouble = self._apply_faults()
            if trouble:
                return trouble
            return self._routes[path](payload)
        except InvalidRequest as exc:
            return _json(400, {"error": "invalid_request", "field": str(exc)})

    @staticmethod
    def _not_allowed(allowed: str) -> _Response:
        response = _json(405, {"error": "method_not_allowed"}, signed=False)
        response.headers.append(("Allow", allowed))
        return response

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes | None:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            return None
        return environ["wsgi.input"].read(length) if length > 0 else b""

    # -- faults -----------------------------------------------------------------------------

    def _set_faults(self, payload: dict[str, Any]) -> _Response:
        with self._lock:
            self._faults.update(payload)
            return _json(200, asdict(self._faults))

    def _apply_faults(self) -> _Response | None:
        with self._lock:
            faults = Faults(**asdict(self._faults))
            if self._faults.fail_next > 0:
                self._faults.fail_next -= 1
                return _json(503, {"error": "unavailable"})
        if faults.error_rate and self._random.random() < faults.error_rate:
            return _json(503, {"error": "unavailable"})
        if faults.timeout_rate and self._random.random() < faults.timeout_rate:
            self._stopping.wait(faults.hang_seconds)
        if faults.latency_ms:
            self._stopping.wait(faults.latency_ms / 1000)
        return None

    # -- the API ----------------------------------------------------------------------------

    def _identity_check(self, payload: dict[str, Any]) -> _Response:
        request_id = _text(payload, "request_id", max_length=128)
        name, document_type, document_number, birth_date = _person_fields(payload)
        digest = _digest(name, document_type, document_number, birth_date)
        result, reason = self.config.registry.check(
            name=name,
            document_type=document_type,
            document_number=document_number,
            birth_date=birth_date,
        )
        return self._answer_once("identity", request_id, digest, result, reason)

    def _enterprise_check(self, payload: dict[str, Any]) -> _Response:
        request_id = _text(payload, "request_id", max_length=128)
        company_name = _text(payload, "company_name")
        credit_code = _text(payload, "credit_code", max_length=64)
        legal_representative = _text(payload, "legal_representative")
        digest = _digest(company_name, credit_code, legal_representative)
        result, reason = self.config.companies.check(
            company_name=company_name,
            credit_code=credit_code,
            legal_representative=legal_representative,
        )
        return self._answer_once("enterprise", request_id, digest, result, reason)

    def _answer_once(
        self, kind: str, request_id: str, digest: str, result: str, reason: str
    ) -> _Response:
        """The first answer given to ``request_id`` for this kind of check, so a retry is
        answered (and charged) once; the same id with other data is the caller's bug: 409."""
        answer = {"result": result, "reason": reason, "ref": "ck_" + secrets.token_hex(12)}
        now = self._clock()
        with self._lock:
            self._prune(now)
            self._calls[(kind, request_id)] += 1
            stored_digest, stored, _ = self._checks.setdefault(
                (kind, request_id), (digest, answer, now)
            )
        if stored_digest != digest:
            return _json(409, {"error": "request_id_reused"})
        return _json(200, stored)

    def _liveness_start(self, payload: dict[str, Any]) -> _Response:
        request_id = _text(payload, "request_id", max_length=128)
        name, document_type, document_number, birth_date = _person_fields(payload)
        return_url = _url(payload, "return_url")
        notify_url = _url(payload, "notify_url")
        digest = _digest(name, document_type, document_number, birth_date, return_url, notify_url)
        now = self._clock()
        with self._lock:
            self._prune(now)
            ref = self._liveness_requests.get(request_id)
            if ref is None:
                ref = "lv_" + secrets.token_urlsafe(18)
                self._liveness_requests[request_id] = ref
                self._sessions[ref] = _Session(
                    ref=ref,
                    request_digest=digest,
                    masked_name=pages.mask_name(name),
                    return_url=return_url,
                    notify_url=notify_url,
                    created_at=now,
                )
            session = self._sessions[ref]
        if session.request_digest != digest:
            return _json(409, {"error": "request_id_reused"})
        url = f"{self.config.public_url.rstrip('/')}/face/{ref}"
        return _json(200, {"ref": ref, "url": url})

    def _liveness_query(self, payload: dict[str, Any]) -> _Response:
        ref = _text(payload, "ref", max_length=64)
        now = self._clock()
        with self._lock:
            session = self._sessions.get(ref)
            status = session.status(now, self.config.session_ttl) if session else None
        if status is None:
            return _json(404, {"error": "unknown_ref"})
        return _json(200, {"status": status, "reason": _REASON_OF_STATUS[status]})

    def _prune(self, now: float) -> None:
        """Forget old answers and sessions (called under the lock, at most once a minute)."""
        if now - self._last_prune < 60:
            return
        self._last_prune = now
        horizon = now - KEEP_SECONDS
        self._checks = {key: value for key, value in self._checks.items() if value[2] > horizon}
        self._calls = Counter({key: n for key, n in self._calls.items() if key in self._checks})
        old = {
            ref
            for ref, session in self._sessions.items()
            if session.created_at + self.config.session_ttl < horizon
        }
        self._sessions = {ref: s for ref, s in self._sessions.items() if ref not in old}
        self._liveness_requests = {
            key: ref for key, ref in self._liveness_requests.items() if ref not in old
        }

    # -- what the vendor protocols (``sandbox.vendors``) build on ---------------------------

    def add_vendor(self, protocol: Any) -> None:
        """Answer the requests ``protocol`` claims (first claim wins), beside our own API."""
        self._vendors.append(protocol)

    @property
    def stopping(self) -> threading.Event:
        return self._stopping

    def now(self) -> float:
        """The service's own clock (expiry, forgetting): a test can move it."""
        return self._clock()

    def vendor_trouble(self) -> bool:
        """Apply the faults to one vendor call: wait out latency or a hang, and say whether
        the call should answer the vendor's own "unavailable" error."""
        trouble = self._apply_faults()
        return trouble is not None

    def take_vendor_code(self) -> str:
        """The vendor code the next call must answer (fault ``vendor_code``), used up once."""
        with self._lock:
            code, self._faults.vendor_code = self._faults.vendor_code, ""
            return code

    def callback_copies(self) -> int:
        """How many times a vendor sends each callback (fault ``callback_duplicates``)."""
        with self._lock:
            return 1 + self._faults.callback_duplicates

    def check_person(
        self, *, name: str, document_number: str, document_type: str | None = None
    ) -> tuple[str, str]:
        """(result, reason) from the registry, as the sandbox's own check answers it; without
        a document type (vendors that take a number only), the number's own."""
        registry = self.config.registry
        if document_type is None:
            document_type = registry.document_type_of(document_number) or "cn_resident_id"
        return registry.check(
            name=name, document_type=document_type, document_number=document_number
        )

    def check_company(
        self, *, company_name: str, credit_code: str, legal_representative: str
    ) -> tuple[str, str]:
        return self.config.companies.check(
            company_name=company_name,
            credit_code=credit_code,
            legal_representative=legal_representative,
        )

    def answer_once(
        self, kind: str, request_id: str, digest: str, answer: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The first answer stored for ``(kind, request_id)`` (a vendor's idempotency key),
        or None when the id was used with other data."""
        now = self._clock()
        with self._lock:
            self._prune(now)
            self._calls[(kind, request_id)] += 1
            stored_digest, stored, _ = self._checks.setdefault(
                (kind, request_id), (digest, answer, now)
            )
        return stored if stored_digest == digest else None

    def open_session(
        self,
        *,
        vendor: str,
        request_id: str,
        digest: str,
        name: str,
        return_url: str,
        new_ref: Callable[[], str],
        data: dict[str, Any] | None = None,
        on_decided: Callable[[Session, str], None] | None = None,
    ) -> Session | None:
        """A face session on the shared face page, opened once per ``(vendor, request_id)``;
        None when the id was used with other data. ``session.ref`` is the vendor's id for it
        (made by ``new_ref``); :meth:`face_url` is where the person goes."""
        now = self._clock()
        key = f"{vendor}:{request_id}"
        with self._lock:
            self._prune(now)
            ref = self._liveness_requests.get(key)
            if ref is None:
                ref = new_ref()
                self._liveness_requests[key] = ref
                self._sessions[ref] = _Session(
                    ref=ref,
                    request_digest=digest,
                    masked_name=pages.mask_name(name),
                    return_url=return_url,
                    notify_url="",
                    created_at=now,
                    vendor=vendor,
                    data=dict(data or {}),
                    on_decided=on_decided,
                )
            session = self._sessions[ref]
        return session if session.request_digest == digest else None

    def session(self, ref: str, *, vendor: str) -> tuple[Session, str] | None:
        """A vendor's session and its status (pending, pass, fail, expired), or None."""
        now = self._clock()
        with self._lock:
            session = self._sessions.get(ref)
            if session is None or session.vendor != vendor:
                return None
            return session, session.status(now, self.config.session_ttl)

    def face_url(self, ref: str) -> str:
        return f"{self.config.public_url.rstrip('/')}/face/{ref}"

    # -- the face page ----------------------------------------------------------------------

    def _face(self, environ: dict[str, Any], method: str, ref: str) -> _Response:
        if method not in ("GET", "POST"):
            return self._not_allowed("GET, POST")
        now = self._clock()
        with self._lock:
            session = self._sessions.get(ref) if _REF.fullmatch(ref) else None
            status = session.status(now, self.config.session_ttl) if session else None
        if session is None or status is None:
            return _html(404, pages.not_found_page())
        if status == EXPIRED:
            return _html(410, pages.gone_page())
        if method == "GET":
            if status == PENDING:
                action = f"{environ.get('SCRIPT_NAME') or ''}/face/{ref}"
                return _html(200, pages.face_page(action=action, masked_name=session.masked_name))
            return _html(200, pages.finished_page(outcome=status, return_url=session.return_url))
        body = self._read_body(environ) or b""
        outcome = parse_qs(body.decode("utf-8", "replace")).get("outcome", [""])[0]
        if outcome not in (PASSED, FAILED):
            return _html(400, pages.bad_request_page())
        with self._lock:
            # Decided once: a second press (or a second tab) changes nothing.
            decided_now = session.outcome is None and status == PENDING
            if decided_now:
                session.outcome = outcome
                session.ready_at = now + self._faults.result_delay_ms / 1000
        if decided_now and session.on_decided is not None:
            threading.Thread(
                target=session.on_decided,
                args=(session, outcome),
                name=f"sandbox-{session.vendor}-callback",
                daemon=True,
            ).start()
        elif decided_now and session.vendor == "sandbox":
            threading.Thread(
                target=self._notify,
                kwargs={"ref": ref, "status": outcome, "notify_url": session.notify_url},
                name="sandbox-notify",
                daemon=True,
            ).start()
        response = _Response(303, b"", content_type="text/plain; charset=utf-8")
        response.headers.append(("Location", session.return_url))
        return response

    def _notify(self, *, ref: str, status: str, notify_url: str) -> None:
        """POST the signed notification, retrying a few times; never on the browser's time."""
        body = json.dumps({"ref": ref, "status": status}, separators=(",", ":")).encode()
        attempts = (0.0, *self.config.notify_retry_delays)
        for delay in attempts:
            if delay and self._stopping.wait(delay):
                return
            headers = signing.signed_headers(
                secret=self.config.secret,
                app_id=self.config.app_id,
                method="POST",
                path=signing.NOTIFY_PATH,
                body=body,
                now=time.time(),
            )
            headers["Content-Type"] = "application/json"
            try:
                answer = httpx.post(
                    notify_url, content=body, headers=headers, timeout=NOTIFY_TIMEOUT_SECONDS
                )
            except httpx.HTTPError as exc:
                logger.info("sandbox: notification for %s failed (%s)", ref, type(exc).__name__)
                continue
            if answer.is_success:
                logger.info("sandbox: notification for %s delivered", ref)
                return
            logger.info("sandbox: notification for %s answered %s", ref, answer.status_code)
        logger.warning("sandbox: notification for %s given up after %d tries", ref, len(attempts))
