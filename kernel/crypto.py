"""Encryption at rest for personal data, and the blind index used to look it up.

Values are sealed with AES-256-GCM under the first key of ``REALNAME_FIELD_ENCRYPTION_KEYS``
(environment: ``FIELD_ENCRYPTION_KEYS``); every key in the list can still open what it sealed, so
keys rotate without downtime (add a new key in front, run ``manage.py reencrypt_personal_data``,
then drop the old one). The *purpose* (for a model field, ``"app_label.Model.field"``) is
authenticated with each value, so a ciphertext copied into another column or file refuses to
decrypt.

Formats:

* text: ``v1:<key id>:<urlsafe base64, unpadded, of nonce || ciphertext || tag>``
* bytes: ``b"RNE1" + len(key id) as one byte + key id + nonce + ciphertext || tag``

Person keys (crypto-shredding, ``kernel.keystore``): a value that belongs to a person is sealed
under that person's own data key, itself stored wrapped by the primary master key:

* text: ``p1:<user id>:<urlsafe base64, unpadded, of nonce || ciphertext || tag>``
* bytes: ``b"RNP1" + user id as 8 bytes big-endian + nonce + ciphertext || tag``

Destroying the wrapped key makes these unreadable for good (:class:`PersonErased`); rotating the
master keys rewraps the person keys (``manage.py rewrap_person_keys``) instead of re-encrypting
every value.

The AES key is derived from the configured key material with HKDF-SHA256, so any secret of at
least 32 random bytes works (and a key never serves two algorithms).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from .app_settings import app_settings
from .keystore import person_key_store

__all__ = [
    "BYTES_MAGIC",
    "MINIMUM_KEY_BYTES",
    "PERSON_BYTES_MAGIC",
    "PERSON_TEXT_VERSION",
    "TEXT_VERSION",
    "DecryptionError",
    "KeyConfigurationError",
    "PersonErased",
    "blind_index",
    "decrypt_bytes",
    "decrypt_str",
    "encrypt_bytes",
    "encrypt_str",
    "encryption_key_problems",
    "forget_person_key",
    "is_person_sealed",
    "key_id_of",
    "owner_of",
    "primary_key_id",
    "rewrap_person_key",
    "unwrap_person_key",
    "wrap_person_key",
]

TEXT_VERSION = "v1"
BYTES_MAGIC = b"RNE1"
PERSON_TEXT_VERSION = "p1"
PERSON_BYTES_MAGIC = b"RNP1"
PERSON_KEY_BYTES = 32
# How long a process keeps an unwrapped person key: one page reads many values of one person
# without a query each; a shredded key is forgotten at once in the shredding process and within
# this many seconds in every other one.
PERSON_KEY_CACHE_SECONDS = 30.0
MINIMUM_KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
GENERATE_KEY_HINT = (
    "Set the FIELD_ENCRYPTION_KEYS environment variable (setting REALNAME_FIELD_ENCRYPTION_KEYS). "
    "Generate a key with: python -c \"import base64,os;print('k1:'"
    '+base64.urlsafe_b64encode(os.urandom(32)).decode())"'
)
_HKDF_INFO = b"realname field encryption v1"
_BLIND_INDEX_DOMAIN = b"realname blind index v1\x00"


class DecryptionError(Exception):
    """A value could not be decrypted: tampered, truncated, sealed for another purpose, or under a
    key that is no longer configured. The message never contains the value."""


class PersonErased(DecryptionError):
    """The person's key was destroyed (their account was erased): their values cannot be read,
    and nothing new can be sealed for them. The message never names the person."""


class KeyConfigurationError(ImproperlyConfigured):
    """REALNAME_FIELD_ENCRYPTION_KEYS or REALNAME_BLIND_INDEX_KEY is missing or malformed.
    ``code`` says which rule failed (``empty``, ``malformed``, ``short``, ``duplicate``); the
    message never holds a key."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class _Keyring:
    primary: str
    ciphers: dict[str, AESGCM]


def _decode_base64(text: str) -> bytes:
    """Standard or URL-safe alphabet, padding optional: both appear in generated keys."""
    normalised = text.strip().replace("-", "+").replace("_", "/")
    normalised += "=" * (-len(normalised) % 4)
    return base64.b64decode(normalised, validate=True)


def _key_entries(configured: Any) -> list[str]:
    if isinstance(configured, str):
        configured = configured.split(",")
    if not isinstance(configured, list | tuple):
        return []
    return [str(entry).strip() for entry in configured if str(entry).strip()]


def encryption_key_problems(configured: Any) -> list[KeyConfigurationError]:
    """Everything wrong with a REALNAME_FIELD_ENCRYPTION_KEYS value (empty list: it is usable).
    Shared by the key loader and the system checks so both apply the same rules."""
    entries = _key_entries(configured)
    if not entries:
        return [KeyConfigurationError("REALNAME_FIELD_ENCRYPTION_KEYS is empty.", code="empty")]
    problems: list[KeyConfigurationError] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        key_id, separator, encoded = entry.partition(":")
        if not separator or not KEY_ID_PATTERN.fullmatch(key_id):
            problems.append(
                KeyConfigurationError(
                    f"REALNAME_FIELD_ENCRYPTION_KEYS entry {position} is not "
                    "'<key id>:<base64 key>' "
                    "(the key id is 1-64 letters, digits, '.', '_' or '-').",
                    code="malformed",
                )
            )
            continue
        try:
            material = _decode_base64(encoded)
        except (binascii.Error, ValueError):
            problems.append(
                KeyConfigurationError(
                    f"REALNAME_FIELD_ENCRYPTION_KEYS key {key_id!r} is not valid base64.",
                    code="malformed",
                )
            )
            continue
        if len(material) < MINIMUM_KEY_BYTES:
            problems.append(
                KeyConfigurationError(
                    f"REALNAME_FIELD_ENCRYPTION_KEYS key {key_id!r} is {len(material)} bytes long; "
                    f"it must be at least {MINIMUM_KEY_BYTES} random bytes.",
                    code="short",
                )
            )
        if key_id in seen:
            problems.append(
                KeyConfigurationError(
                    f"REALNAME_FIELD_ENCRYPTION_KEYS names key id {key_id!r} more than once.",
                    code="duplicate",
                )
            )
        seen.add(key_id)
    return problems


def _derive_key(material: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(material)


@functools.cache
def _keyring() -> _Keyring:
    configured = app_settings.FIELD_ENCRYPTION_KEYS
    problems = encryption_key_problems(configured)
    if problems:
        raise problems[0]
    ciphers: dict[str, AESGCM] = {}
    for entry in _key_entries(configured):
        key_id, _, encoded = entry.partition(":")
        ciphers[key_id] = AESGCM(_derive_key(_decode_base64(encoded)))
    return _Keyring(primary=next(iter(ciphers)), ciphers=ciphers)


@receiver(setting_changed)
def _clear_key_cache(*, setting: str, **kwargs: Any) -> None:
    if setting in {"REALNAME_FIELD_ENCRYPTION_KEYS", "REALNAME_BLIND_INDEX_KEY"}:
        _keyring.cache_clear()
        forget_person_key()


def primary_key_id() -> str:
    """The id of the key new values are encrypted with (the first in
    REALNAME_FIELD_ENCRYPTION_KEYS)."""
    return _keyring().primary


def _associated_data(kind: bytes, key_id: str, purpose: str) -> bytes:
    # Binds the format, the key id and the purpose to the ciphertext: moving a value to another
    # column, or relabelling its key, makes authentication fail.
    return b"\x00".join((kind, key_id.encode("ascii"), purpose.encode("utf-8")))


def _cipher(key_id: str) -> AESGCM:
    cipher = _keyring().ciphers.get(key_id)
    if cipher is None:
        raise DecryptionError(f"No configured encryption key has id {key_id!r}.")
    return cipher


def _open(key_id: str, sealed: bytes, associated_data: bytes) -> bytes:
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("Encrypted value is truncated.")
    cipher = _cipher(key_id)
    try:
        return cipher.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated_data)
    except InvalidTag:
        raise DecryptionError(
            "Encrypted value failed authentication: altered, or sealed for another purpose or key."
        ) from None


def encrypt_str(plaintext: str, *, purpose: str, owner: int | None = None) -> str:
    """Encrypt text for storage in a text column: under the person key of ``owner`` (a user id)
    if given, else under the primary master key."""
    if owner is not None:
        owner = _owner_id(owner)
        nonce = os.urandom(NONCE_BYTES)
        sealed = _person_cipher(owner, create=True).encrypt(
            nonce, plaintext.encode("utf-8"), _person_associated_data(b"str", owner, purpose)
        )
        payload = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{PERSON_TEXT_VERSION}:{owner}:{payload}"
    key_id = primary_key_id()
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(key_id).encrypt(
        nonce, plaintext.encode("utf-8"), _associated_data(b"str", key_id, purpose)
    )
    payload = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
    return f"{TEXT_VERSION}:{key_id}:{payload}"


def _split_token(token: str) -> tuple[str, str]:
    version, _, rest = token.partition(":")
    key_id, separator, payload = rest.partition(":")
    if version != TEXT_VERSION or not separator or not KEY_ID_PATTERN.fullmatch(key_id):
        raise DecryptionError("Not an encrypted value in the v1 text format.")
    return key_id, payload


def decrypt_str(token: str, *, purpose: str) -> str:
    """Decrypt a value made by :func:`encrypt_str` for the same purpose, under any configured key."""
    if not isinstance(token, str):
        raise DecryptionError("Encrypted text values must be str.")
    if token.startswith(f"{PERSON_TEXT_VERSION}:"):
        owner, payload = _split_person_token(token)
        plaintext = _person_open(
            owner, _unbase64(payload), _person_associated_data(b"str", owner, purpose)
        )
    else:
        key_id, payload = _split_token(token)
        plaintext = _open(key_id, _unbase64(payload), _associated_data(b"str", key_id, purpose))
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptionError("Decrypted value is not UTF-8 text.") from None


def encrypt_bytes(data: bytes, *, purpose: str, owner: int | None = None) -> bytes:
    """Encrypt binary content (uploaded files): under the person key of ``owner`` if given,
    else under the primary master key."""
    if owner is not None:
        owner = _owner_id(owner)
        nonce = os.urandom(NONCE_BYTES)
        sealed = _person_cipher(owner, create=True).encrypt(
            nonce, bytes(data), _person_associated_data(b"bytes", owner, purpose)
        )
        return PERSON_BYTES_MAGIC + owner.to_bytes(8, "big") + nonce + sealed
    key_id = primary_key_id()
    raw_key_id = key_id.encode("ascii")
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(key_id).encrypt(
        nonce, bytes(data), _associated_data(b"bytes", key_id, purpose)
    )
    return BYTES_MAGIC + bytes([len(raw_key_id)]) + raw_key_id + nonce + sealed


def _split_blob(blob: bytes) -> tuple[str, bytes]:
    if not blob.startswith(BYTES_MAGIC) or len(blob) < len(BYTES_MAGIC) + 1:
        raise DecryptionError("Not an encrypted value in the RNE1 binary format.")
    start = len(BYTES_MAGIC) + 1
    end = start + blob[len(BYTES_MAGIC)]
    try:
        key_id = blob[start:end].decode("ascii")
    except UnicodeDecodeError:
        key_id = ""
    if len(blob) < end or not KEY_ID_PATTERN.fullmatch(key_id):
        raise DecryptionError("Encrypted value has a malformed key id.")
    return key_id, blob[end:]


def decrypt_bytes(blob: bytes, *, purpose: str) -> bytes:
    """Decrypt content made by :func:`encrypt_bytes` for the same purpose."""
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise DecryptionError("Encrypted binary values must be bytes.")
    blob = bytes(blob)
    if blob.startswith(PERSON_BYTES_MAGIC):
        owner, sealed = _split_person_blob(blob)
        return _person_open(owner, sealed, _person_associated_data(b"bytes", owner, purpose))
    key_id, sealed = _split_blob(blob)
    return _open(key_id, sealed, _associated_data(b"bytes", key_id, purpose))


def key_id_of(token: str | bytes) -> str:
    """The id of the key a value was encrypted under, without decrypting it (for rotation);
    ``person:<user id>`` for a value under a person key (rotation rewraps those keys instead)."""
    owner = owner_of(token)
    if owner is not None:
        return f"person:{owner}"
    if isinstance(token, str):
        return _split_token(token)[0]
    if isinstance(token, bytes | bytearray | memoryview):
        return _split_blob(bytes(token))[0]
    raise DecryptionError("Encrypted values are str or bytes.")


def _unbase64(payload: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        raise DecryptionError("Encrypted value is not valid base64.") from None


# Person keys ----------------------------------------------------------------------------------

_person_keys: dict[int, tuple[float, AESGCM]] = {}


def _owner_id(owner: Any) -> int:
    if isinstance(owner, bool) or not isinstance(owner, int) or owner < 1:
        raise ValueError("A person key owner is a positive user id.")
    return owner


def _person_associated_data(kind: bytes, owner: int, purpose: str) -> bytes:
    return b"\x00".join(
        (kind, PERSON_TEXT_VERSION.encode(), str(owner).encode(), purpose.encode("utf-8"))
    )


def _wrap_purpose(owner: int) -> str:
    return f"kernel.person_key:{owner}"


def wrap_person_key(owner: int, raw: bytes) -> str:
    """A person's data key sealed under the primary master key (bound to the person's id)."""
    encoded = base64.urlsafe_b64encode(raw).decode("ascii")
    return encrypt_str(encoded, purpose=_wrap_purpose(owner))


def unwrap_person_key(owner: int, wrapped: str) -> bytes:
    raw = _decode_base64(decrypt_str(wrapped, purpose=_wrap_purpose(owner)))
    if len(raw) != PERSON_KEY_BYTES:
        raise DecryptionError("A wrapped person key has the wrong length.")
    return raw


def rewrap_person_key(owner: int, wrapped: str) -> str | None:
    """The key rewrapped under the primary master key; None if it already is."""
    if key_id_of(wrapped) == primary_key_id():
        return None
    return wrap_person_key(owner, unwrap_person_key(owner, wrapped))


def _person_cipher(owner: int, *, create: bool) -> AESGCM:
    now = time.monotonic()
    cached = _person_keys.get(owner)
    if cached is not None and cached[0] > now:
        return cached[1]
    store = person_key_store()
    wrapped = store.wrapped_key(owner)
    if wrapped is None:
        if not create:
            raise DecryptionError("No person key exists for this value's owner.")
        wrapped = store.add_wrapped_key(owner, wrap_person_key(owner, os.urandom(PERSON_KEY_BYTES)))
    cipher = AESGCM(unwrap_person_key(owner, wrapped))
    _person_keys[owner] = (now + PERSON_KEY_CACHE_SECONDS, cipher)
    return cipher


def forget_person_key(owner: int | None = None) -> None:
    """Drop a person's unwrapped key (every person's if None) from this process's cache."""
    if owner is None:
        _person_keys.clear()
    else:
        _person_keys.pop(owner, None)


def _person_open(owner: int, sealed: bytes, associated_data: bytes) -> bytes:
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("Encrypted value is truncated.")
    cipher = _person_cipher(owner, create=False)
    try:
        return cipher.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated_data)
    except InvalidTag:
        raise DecryptionError(
            "Encrypted value failed authentication: altered, or sealed for another purpose or "
            "person."
        ) from None


def _split_person_token(token: str) -> tuple[int, str]:
    _, _, rest = token.partition(":")
    owner, separator, payload = rest.partition(":")
    if not separator or not owner.isdigit() or owner.startswith("0"):
        raise DecryptionError("Not an encrypted value in the p1 text format.")
    return int(owner), payload


def _split_person_blob(blob: bytes) -> tuple[int, bytes]:
    start = len(PERSON_BYTES_MAGIC)
    if len(blob) < start + 8:
        raise DecryptionError("Encrypted value is truncated.")
    return int.from_bytes(blob[start : start + 8], "big"), blob[start + 8 :]


def owner_of(token: str | bytes) -> int | None:
    """The user id whose person key sealed a value; None for a value under a master key."""
    if isinstance(token, str) and token.startswith(f"{PERSON_TEXT_VERSION}:"):
        return _split_person_token(token)[0]
    if isinstance(token, bytes | bytearray | memoryview):
        blob = bytes(token)
        if blob.startswith(PERSON_BYTES_MAGIC):
            return _split_person_blob(blob)[0]
    return None


def is_person_sealed(token: str | bytes) -> bool:
    return owner_of(token) is not None


def blind_index(value: str, *, purpose: str) -> str:
    """A keyed hash that finds equal values without storing them: HMAC-SHA256 under a subkey of
    REALNAME_BLIND_INDEX_KEY per purpose, so indexes of two columns cannot be matched against
    each other. The caller normalises ``value`` first (e.g. upper-case an ID number's check
    letter)."""
    secret = app_settings.BLIND_INDEX_KEY
    if not secret:
        raise KeyConfigurationError("REALNAME_BLIND_INDEX_KEY is empty.", code="empty")
    subkey = hmac.new(
        secret.encode("utf-8"), _BLIND_INDEX_DOMAIN + purpose.encode("utf-8"), hashlib.sha256
    ).digest()
    return hmac.new(subkey, value.encode("utf-8"), hashlib.sha256).hexdigest()
