"""Alipay's RSA2 signatures, written from the open platform's documentation (never its SDK).

* Request: every parameter but ``sign`` whose value is not empty, sorted by name, joined as
  ``name=value`` with ``&``, values **not** URL-encoded; signed SHA256withRSA (PKCS#1 v1.5) with
  the app's private key, base64 in ``sign`` (Alipay's "自行实现签名", docs.open.alipay.com/291/
  106118, quoted at juejin.cn/post/6844903816484110349).
* Response: ``{"<method with _>_response":{...},"sign":"..."}``; the signature covers the exact
  characters of the ``*_response`` object as sent, braces included, and is made with Alipay's
  private key (alipay-sdk-nodejs-all ``getSignStr`` / ``checkResponseSign``).

The adapter (``verification.providers.alipay``) has its own implementation: the two sides check
each other."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def content_to_sign(params: Mapping[str, str], *, exclude: tuple[str, ...] = ("sign",)) -> str:
    """The string Alipay signs: sorted ``k=v`` pairs joined with ``&``, empty values left out."""
    return "&".join(
        f"{name}={params[name]}" for name in sorted(params) if name not in exclude and params[name]
    )


def generate_key_pair() -> tuple[str, str]:
    """A fresh RSA-2048 key pair as (PKCS#8 private PEM, SubjectPublicKeyInfo public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return private, public_pem(key)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    """The SubjectPublicKeyInfo PEM of ``key``'s public half."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def _pem(text: str, label: str) -> bytes:
    """PEM as given, or a bare base64 body (Alipay's console shows keys without the armour)."""
    text = text.strip()
    if "-----BEGIN" in text:
        return text.encode("ascii")
    body = "".join(text.split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n").encode(
        "ascii"
    )


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """PKCS#8 (``BEGIN PRIVATE KEY``, Alipay's key tool's default) or PKCS#1 (``BEGIN RSA
    PRIVATE KEY``); a bare body is tried as PKCS#8, then PKCS#1."""
    candidates = [_pem(text, "PRIVATE KEY")]
    if "-----BEGIN" not in text:
        candidates.append(_pem(text, "RSA PRIVATE KEY"))
    for pem in candidates:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except ValueError:
            continue
        if isinstance(key, rsa.RSAPrivateKey):
            return key
    raise ValueError("not an RSA private key")


def load_public_key(text: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(_pem(text, "PUBLIC KEY"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def sign(content: str, private_key: rsa.RSAPrivateKey) -> str:
    signature = private_key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def verify(content: str, signature: str, public_key: rsa.RSAPublicKey) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def response_key(method: str) -> str:
    return method.replace(".", "_") + "_response"


def response_substring(raw: str, key: str) -> str | None:
    """The exact characters of the JSON object under ``key`` in ``raw``, as sent (whitespace
    around it excluded), or None. Strings are skipped so braces inside them do not count."""
    quoted = json.dumps(key)
    start = raw.find(quoted)
    if start < 0:
        return None
    position = start + len(quoted)
    while position < len(raw) and raw[position] in " \t\r\n":
        position += 1
    if position >= len(raw) or raw[position] != ":":
        return None
    position += 1
    while position < len(raw) and raw[position] in " \t\r\n":
        position += 1
    if position >= len(raw) or raw[position] != "{":
        return None
    begin, depth, in_string, escaped = position, 0, False, False
    for index in range(begin, len(raw)):
        char = raw[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return raw[begin : index + 1]
    return None


def signed_response(
    method: str, payload: Mapping[str, object], private_key: rsa.RSAPrivateKey | None
) -> bytes:
    """Alipay's answer envelope; unsigned when ``private_key`` is None (an unknown app)."""
    inner = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    body = f"{json.dumps(response_key(method))}:{inner}"
    if private_key is not None:
        body += f',"sign":{json.dumps(sign(inner, private_key))}'
    return ("{" + body + "}").encode("utf-8")
