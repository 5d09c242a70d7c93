"""Private storage of licence files: encrypted (kernel.crypto) under
``app_settings.PRIVATE_STORAGE_ROOT``, which no URL serves. Files are named by random ids; nothing
personal is in a name. Each file's ciphertext is bound to its own name, so one company's file
cannot be swapped in for another's. A file is sealed under its owner's person key (the account
that uploaded it), so erasing the person makes it unreadable even in backups."""

from __future__ import annotations

import os
import uuid

from django.core.files.storage import FileSystemStorage

from kernel.crypto import (
    decrypt_bytes,
    encrypt_bytes,
    is_person_sealed,
    key_id_of,
    primary_key_id,
)

from .app_settings import app_settings

PURPOSE = "enterprise.licence"


def private_storage() -> FileSystemStorage:
    # base_url=None: the storage cannot produce a URL, so no template can link to a file.
    return FileSystemStorage(location=app_settings.PRIVATE_STORAGE_ROOT, base_url=None)


def _purpose(name: str) -> str:
    return f"{PURPOSE}:{name}"


def _write_atomically(name: str, blob: bytes, *, replace: bool) -> None:
    """Write through a temporary file and a rename, so a reader never sees half a file and an
    interrupted write leaves the previous content in place."""
    path = private_storage().path(name)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    if not replace and os.path.exists(path):
        raise FileExistsError(name)
    temporary = f"{path}.{uuid.uuid4().hex}.tmp"
    with open(temporary, "xb") as file:
        file.write(blob)
        file.flush()
        os.fsync(file.fileno())
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def licence_store(content: bytes, *, extension: str, owner: int | None = None) -> str:
    """Encrypt (under the person key of ``owner``, a user id, if given) and save; returns the
    storage name."""
    name = f"licences/{uuid.uuid4().hex}.{extension}.enc"
    blob = encrypt_bytes(content, purpose=_purpose(name), owner=owner)
    _write_atomically(name, blob, replace=False)
    return name


def licence_read(name: str) -> bytes:
    with private_storage().open(name, "rb") as file:
        return decrypt_bytes(file.read(), purpose=_purpose(name))


def licence_key_id(name: str) -> str:
    """The encryption key id a stored file was written under, read without decrypting it."""
    with private_storage().open(name, "rb") as file:
        return key_id_of(file.read(64))


def licence_reencrypt(name: str) -> bool:
    """Re-encrypt one stored file under the primary key, in place; False if it already was.
    Raises DecryptionError if no configured key opens it (the file is then left untouched). A file
    under a person key is left as it is: master-key rotation rewraps the person key instead."""
    key_id = licence_key_id(name)
    if key_id == primary_key_id() or key_id.startswith("person:"):
        return False
    content = licence_read(name)
    _write_atomically(name, encrypt_bytes(content, purpose=_purpose(name)), replace=True)
    return True


def licence_delete(name: str) -> None:
    if name:
        private_storage().delete(name)


def licence_is_person_sealed(name: str) -> bool:
    with private_storage().open(name, "rb") as file:
        return is_person_sealed(file.read(64))


def licence_seal_for_person(name: str, owner: int) -> bool:
    """Move a file written under a master key to its owner's person key, in place; False if it
    already was (migrate_to_person_keys). Never half-written: a temporary file and a rename."""
    if licence_is_person_sealed(name):
        return False
    content = licence_read(name)
    _write_atomically(
        name, encrypt_bytes(content, purpose=_purpose(name), owner=owner), replace=True
    )
    return True
