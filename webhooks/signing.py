"""The signature of a webhook: ``Realname-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]``,
each ``v1`` the HMAC-SHA256 of ``"<t>.<body>"`` under one of the endpoint's secrets (two during
a rotation's overlap). Receivers check it with the snippet in docs/webhooks.md."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Realname-Signature"
EVENT_ID_HEADER = "Realname-Event-Id"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(signing_secrets: list[str], body: bytes, timestamp: int) -> str:
    """The header value: the timestamp, then one ``v1`` per secret (newest first)."""
    parts = [f"t={timestamp}"]
    parts += [f"v1={signature(secret, body, timestamp)}" for secret in signing_secrets]
    return ",".join(parts)
