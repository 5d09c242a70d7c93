"""The sandbox's message signatures, shared by the service and our client for it.

Every API request, every response and every notification carries an app id, a unix timestamp,
a random nonce and an HMAC-SHA256 over those and the body's SHA-256, like the signed APIs of
the real vendors. The README of this package spells out the canonical strings, so an adapter
written from the documentation alone would interoperate."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import re
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Protocol

HEADER_APP_ID = "X-Sandbox-App-Id"
HEADER_TIMESTAMP = "X-Sandbox-Timestamp"
HEADER_NONCE = "X-Sandbox-Nonce"
HEADER_SIGNATURE = "X-Sandbox-Signature"

# A message whose timestamp is further than this from our clock is refused, and a nonce is
# remembered for as long as its message could still be accepted.
WINDOW_SECONDS = 300
MIN_NONCE_LENGTH = 16
_NONCE = re.compile(rf"[A-Za-z0-9_-]{{{MIN_NONCE_LENGTH},128}}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")

# Notifications go to a URL of ours that proxies may rewrite, so instead of a path their
# canonical string holds this fixed word; it also keeps them apart from signed requests.
NOTIFY_PATH = "notify"

# Why a signed message was refused, as the service reports it in a 401 answer.
UNKNOWN_APP = "unknown_app"
BAD_SIGNATURE = "bad_signature"
STALE_TIMESTAMP = "stale_timestamp"
REPLAYED_NONCE = "replayed_nonce"


class SignatureError(Exception):
    """A signed message was refused; ``code`` is one of the module's refusal codes."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(16)


def sign(secret: str, *parts: str) -> str:
    """Hex HMAC-SHA256 of the parts joined by newlines (none of them may hold one)."""
    message = "\n".join(parts).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _signature(
    secret: str, subject: tuple[str, str], *, timestamp: str, nonce: str, body: bytes
) -> str:
    """Every message signs what it is about, then its timestamp, its nonce and its body."""
    return sign(secret, *subject, timestamp, nonce, body_sha256(body))


def _request_subject(method: str, path: str) -> tuple[str, str]:
    return method.upper(), path


def _response_subject(status: int, request_nonce: str) -> tuple[str, str]:
    """A response is bound to the request it answers (its nonce), so an old answer cannot be
    replayed to a new question."""
    return str(status), request_nonce


def _headers(
    secret: str, app_id: str, subject: tuple[str, str], *, timestamp: str, nonce: str, body: bytes
) -> dict[str, str]:
    return {
        HEADER_APP_ID: app_id,
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: _signature(secret, subject, timestamp=timestamp, nonce=nonce, body=body),
    }


def signed_headers(
    *,
    secret: str,
    app_id: str,
    method: str,
    path: str,
    body: bytes,
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Headers of a signed request (or, with ``method="POST"`` and ``path=NOTIFY_PATH``, of a
    notification)."""
    timestamp = str(int(time.time() if now is None else now))
    subject = _request_subject(method, path)
    return _headers(
        secret, app_id, subject, timestamp=timestamp, nonce=nonce or new_nonce(), body=body
    )


def signed_response_headers(
    *, secret: str, app_id: str, status: int, request_nonce: str, body: bytes, now: float
) -> dict[str, str]:
    subject = _response_subject(status, request_nonce)
    return _headers(secret, app_id, subject, timestamp=str(int(now)), nonce=new_nonce(), body=body)


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names are case-insensitive; callers hand us Django, httpx or plain dicts."""
    return {name.lower(): value for name, value in headers.items()}


def valid_nonce(nonce: str) -> bool:
    return bool(_NONCE.fullmatch(nonce))


class NonceStore(Protocol):
    def add(self, nonce: str, *, timestamp: int, now: float) -> bool:
        """Remember ``nonce``; False when it was already seen (a replay)."""
        ...


class NonceCache:
    """Nonces seen within the window, each forgotten once its timestamp would be refused anyway.

    In memory and thread-safe; one per process is enough because a replayed message gains
    nothing beyond what re-fetching the result gives."""

    def __init__(self, window: int = WINDOW_SECONDS) -> None:
        self._window = window
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []

    def add(self, nonce: str, *, timestamp: int, now: float) -> bool:
        """Remember ``nonce``; False when it was already seen (a replay)."""
        with self._lock:
            while self._heap and self._heap[0][0] < now:
                _, old = heapq.heappop(self._heap)
                self._expiry.pop(old, None)
            if nonce in self._expiry:
                return False
            expires = max(float(timestamp), now) + self._window
            self._expiry[nonce] = expires
            heapq.heappush(self._heap, (expires, nonce))
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)


def _signed_timestamp_and_nonce(
    headers: Mapping[str, str], *, secret: str, subject: tuple[str, str], body: bytes
) -> tuple[int, str] | None:
    """The timestamp and nonce of a message whose signature headers are well formed and whose
    signature matches; None for any other message. ``headers`` have lower-case names."""
    timestamp = headers.get(HEADER_TIMESTAMP.lower(), "")
    nonce = headers.get(HEADER_NONCE.lower(), "")
    signature = headers.get(HEADER_SIGNATURE.lower(), "")
    if not (
        _TIMESTAMP.fullmatch(timestamp) and valid_nonce(nonce) and _SIGNATURE.fullmatch(signature)
    ):
        return None
    expected = _signature(secret, subject, timestamp=timestamp, nonce=nonce, body=body)
    if not hmac.compare_digest(expected, signature.lower()):
        return None
    return int(timestamp), nonce


def verify_signed(
    headers: Mapping[str, str],
    *,
    secret: str,
    app_id: str,
    method: str,
    path: str,
    body: bytes,
    now: float,
    nonces: NonceStore,
) -> None:
    """Check a signed request or notification; raise :class:`SignatureError` if refused.

    The signature is checked before the clock and the nonce, so an unsigned message learns
    nothing else, and only genuine messages use up a nonce."""
    headers = lower_keys(headers)
    if not hmac.compare_digest(headers.get(HEADER_APP_ID.lower(), "").encode(), app_id.encode()):
        raise SignatureError(UNKNOWN_APP)
    signed = _signed_timestamp_and_nonce(
        headers, secret=secret, subject=_request_subject(method, path), body=body
    )
    if signed is None:
        raise SignatureError(BAD_SIGNATURE)
    timestamp, nonce = signed
    if abs(now - timestamp) > WINDOW_SECONDS:
        raise SignatureError(STALE_TIMESTAMP)
    if not nonces.add(nonce, timestamp=timestamp, now=now):
        raise SignatureError(REPLAYED_NONCE)


def verify_response(
    headers: Mapping[str, str],
    *,
    secret: str,
    status: int,
    request_nonce: str,
    body: bytes,
    now: float,
) -> bool:
    """Is this response the sandbox's genuine, fresh answer to our request?"""
    signed = _signed_timestamp_and_nonce(
        lower_keys(headers),
        secret=secret,
        subject=_response_subject(status, request_nonce),
        body=body,
    )
    return signed is not None and abs(now - signed[0]) <= WINDOW_SECONDS
