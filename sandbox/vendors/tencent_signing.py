"""Tencent Cloud API 3.0 signatures (TC3-HMAC-SHA256), verified as the vendor does, written from
its documentation ("签名方法 v3", cloud.tencent.com/document/api/213/30654, the same text for
every product; FaceID's copy is under document/api/1007). No vendor SDK here: the adapter uses
the official one, so the two sides check each other.

A signed request carries ``X-TC-Timestamp`` (unix seconds) and ``Authorization: TC3-HMAC-SHA256
Credential=<SecretId>/<UTC date>/<service>/tc3_request, SignedHeaders=<names>, Signature=<hex>``:

1. CanonicalRequest = method, URI ("/"), query string, the signed headers as ``name:value\\n``
   (names and values lower-cased and trimmed, names in ASCII order), the signed header names
   joined by ``;``, and hex(SHA-256(payload)), joined by newlines. The payload is the raw body
   bytes (a GET's is empty), or the literal ``UNSIGNED-PAYLOAD`` when the request says
   ``X-TC-Content-SHA256: UNSIGNED-PAYLOAD`` (what the official SDKs send with
   ``unsignedPayload``).
2. StringToSign = ``TC3-HMAC-SHA256``, the timestamp, ``<date>/<service>/tc3_request`` and
   hex(SHA-256(CanonicalRequest)), joined by newlines; ``date`` is the **UTC** date of the
   timestamp.
3. SigningKey = HMAC(HMAC(HMAC("TC3" + SecretKey, date), service), "tc3_request");
   Signature = hex(HMAC(SigningKey, StringToSign)).

Refusals use the vendor's common error codes (cloud.tencent.com/document/api/1007/31324)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

ALGORITHM = "TC3-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
#: "如果与服务器时间相差超过5分钟，会引起签名过期错误" (common parameters, X-TC-Timestamp).
WINDOW_SECONDS = 300
_REQUIRED_SIGNED_HEADERS = ("content-type", "host")
_AUTHORIZATION = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<secret_id>[^/\s,]+)/(?P<date>\d{4}-\d{2}-\d{2})/"
    r"(?P<service>[a-z0-9-]+)/tc3_request, ?SignedHeaders=(?P<signed>[a-z0-9;_-]+), ?"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)


class SignatureRefused(Exception):
    """The request is refused; ``code`` is the vendor's error code for it."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Authorization:
    secret_id: str
    date: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def utc_date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def payload_hash(body: bytes, headers: Mapping[str, str]) -> str:
    if headers.get("x-tc-content-sha256", "").strip() == UNSIGNED_PAYLOAD:
        body = UNSIGNED_PAYLOAD.encode()
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    hashed_payload: str,
) -> str:
    """``headers`` with lower-case names; a signed header the request lacks counts as empty."""
    canonical_headers = "".join(
        f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed_headers
    )
    parts = (method.upper(), path or "/", query, canonical_headers)
    return "\n".join((*parts, ";".join(signed_headers), hashed_payload))


def string_to_sign(*, timestamp: int, date: str, service: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{digest}"


def signature(*, secret_key: str, date: str, service: str, to_sign: str) -> str:
    def _hmac(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()

    signing_key = _hmac(
        _hmac(_hmac(("TC3" + secret_key).encode("utf-8"), date), service), "tc3_request"
    )
    return hmac.new(signing_key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def parse_authorization(value: str) -> Authorization:
    found = _AUTHORIZATION.fullmatch(value.strip())
    if found is None:
        raise SignatureRefused("AuthFailure.InvalidAuthorization")
    signed = tuple(found["signed"].split(";"))
    if list(signed) != sorted(set(signed)) or not set(_REQUIRED_SIGNED_HEADERS) <= set(signed):
        raise SignatureRefused("AuthFailure.InvalidAuthorization")
    return Authorization(
        secret_id=found["secret_id"],
        date=found["date"],
        service=found["service"],
        signed_headers=signed,
        signature=found["signature"],
    )


def verify(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: Mapping[str, str],
    service: str,
    now: float,
) -> str:
    """Check a request's TC3 signature; return its SecretId, or raise :class:`SignatureRefused`.

    ``headers`` have lower-case names; ``secrets`` maps the SecretIds known to their keys. The
    order of the checks: a malformed header, an unknown key, a stale timestamp, then the
    signature itself (the date and service of the scope are part of it)."""
    authorization = parse_authorization(headers.get("authorization", ""))
    secret_key = secrets.get(authorization.secret_id)
    if secret_key is None:
        raise SignatureRefused("AuthFailure.SecretIdNotFound")
    raw_timestamp = headers.get("x-tc-timestamp", "").strip()
    if not raw_timestamp.isdigit() or len(raw_timestamp) > 12:
        raise SignatureRefused("MissingParameter" if not raw_timestamp else "InvalidParameter")
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > WINDOW_SECONDS:
        raise SignatureRefused("AuthFailure.SignatureExpire")
    if authorization.date != utc_date(timestamp) or authorization.service != service:
        raise SignatureRefused("AuthFailure.SignatureFailure")
    canonical = canonical_request(
        method=method,
        path=path,
        query=query,
        headers=headers,
        signed_headers=authorization.signed_headers,
        hashed_payload=payload_hash(body, headers),
    )
    expected = signature(
        secret_key=secret_key,
        date=authorization.date,
        service=service,
        to_sign=string_to_sign(
            timestamp=timestamp, date=authorization.date, service=service, canonical=canonical
        ),
    )
    if not hmac.compare_digest(expected, authorization.signature):
        raise SignatureRefused("AuthFailure.SignatureFailure")
    return authorization.secret_id


def sign(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    body: bytes,
    timestamp: int,
    content_type: str = "application/json",
) -> dict[str, str]:
    """The headers of a signed JSON POST to ``/`` (for the sandbox's own tests and tools)."""
    headers = {"content-type": content_type, "host": host}
    date = utc_date(timestamp)
    canonical = canonical_request(
        method="POST",
        path="/",
        query="",
        headers=headers,
        signed_headers=_REQUIRED_SIGNED_HEADERS,
        hashed_payload=hashlib.sha256(body).hexdigest(),
    )
    to_sign = string_to_sign(timestamp=timestamp, date=date, service=service, canonical=canonical)
    hex_signature = signature(secret_key=secret_key, date=date, service=service, to_sign=to_sign)
    return {
        "Content-Type": content_type,
        "Host": host,
        "X-TC-Timestamp": str(timestamp),
        "Authorization": f"{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, "
        f"SignedHeaders={';'.join(_REQUIRED_SIGNED_HEADERS)}, Signature={hex_signature}",
    }
