"""Aliyun's two request signatures, written from Aliyun's documentation (never its SDK):

* **ACS3-HMAC-SHA256** ("V3", https://help.aliyun.com/zh/sdk/product-overview/v3-request-
  structure-and-signature): a canonical request ``METHOD \\n / \\n query \\n headers \\n
  signed-header-names \\n hex(sha256(body))`` is hashed, and ``ACS3-HMAC-SHA256 \\n <that hash>``
  is signed with HMAC-SHA256 under the AccessKey secret; the ``Authorization`` header carries the
  key id, the signed header names and the hex signature.
* **RPC HMAC-SHA1** ("V2", https://help.aliyun.com/zh/sdk/product-overview/rpc-mechanism): the
  query and form parameters but ``Signature``, sorted and percent-encoded, make
  ``METHOD&%2F&percent(canonical)``, signed with HMAC-SHA1 under ``secret + "&"`` and carried in
  base64 as the ``Signature`` parameter.

Both sides are here: the sandbox verifies with them, and the protocol tests build requests with
them (checked against Aliyun's published worked examples)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

ACS3 = "ACS3-HMAC-SHA256"
RPC_SIGNATURE_METHOD = "HMAC-SHA1"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: Aliyun refuses a request whose time is further than this from its clock (15 minutes).
WINDOW_SECONDS = 15 * 60
_AUTHORIZATION = re.compile(
    r"ACS3-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]*),\s*"
    r"SignedHeaders=(?P<signed_headers>[^,\s]*),\s*Signature=(?P<signature>[0-9a-fA-F]{64})"
)


def percent_encode(value: str) -> str:
    """RFC 3986 of the UTF-8 bytes: only ``A-Z a-z 0-9 - _ . ~`` stay as they are."""
    return quote(value, safe="~", encoding="utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(
        f"{percent_encode(key)}={percent_encode(params[key])}" for key in sorted(params)
    )


# -- ACS3-HMAC-SHA256 ----------------------------------------------------------------------


def acs3_canonical_request(
    *,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    signed_headers: list[str],
    payload_hash: str,
) -> str:
    """``headers`` have lower-case names; every name in ``signed_headers`` must be among them."""
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in signed_headers)
    return "\n".join(
        [
            method.upper(),
            path or "/",
            canonical_query(query),
            canonical_headers,
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def acs3_signature(secret: str, canonical_request: str) -> str:
    string_to_sign = f"{ACS3}\n{sha256_hex(canonical_request.encode())}"
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def acs3_authorization(
    *,
    key_id: str,
    secret: str,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
) -> str:
    """The ``Authorization`` header over every header given (names lower-cased and sorted),
    as the SDK signs: ``headers`` must already hold ``x-acs-content-sha256``."""
    lowered = {name.lower(): value for name, value in headers.items()}
    names = sorted(lowered)
    canonical = acs3_canonical_request(
        method=method,
        path=path,
        query=query,
        headers=lowered,
        signed_headers=names,
        payload_hash=lowered["x-acs-content-sha256"],
    )
    signature = acs3_signature(secret, canonical)
    return f"{ACS3} Credential={key_id},SignedHeaders={';'.join(names)},Signature={signature}"


def parse_acs3_authorization(value: str) -> tuple[str, list[str], str] | None:
    """(key id, signed header names, signature), or None when malformed."""
    found = _AUTHORIZATION.fullmatch(value.strip())
    if not found:
        return None
    names = found["signed_headers"].split(";")
    if not all(names) or names != sorted(set(names)):
        return None
    return found["credential"], names, found["signature"].lower()


# -- RPC HMAC-SHA1 ---------------------------------------------------------------------------


def rpc_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    canonical = canonical_query({k: v for k, v in params.items() if k != "Signature"})
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical)}"


def rpc_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    digest = hmac.new(
        (secret + "&").encode(), rpc_string_to_sign(method, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")


# -- time ------------------------------------------------------------------------------------


def parse_timestamp(value: str) -> float | None:
    """Seconds since the epoch of an ISO 8601 UTC time (``2023-10-26T10:22:32Z``), or None."""
    try:
        return datetime.strptime(value, TIMESTAMP_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def format_timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime(TIMESTAMP_FORMAT)
