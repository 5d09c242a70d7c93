"""Private storage of licence files: encrypted (kernel.crypto) under
``app_settings.PRIVATE_STORAGE_ROOT``, which no URL serves. Files are named by random ids; nothing
personal is in a name. Each file's ciphertext is bound to its own name, so one company's file
cannot be swapped in for another's."""

from __future__ import annotations

import os
import uuid

from django.core.files.storage import FileSystemStorage

from kernel.crypto import decrypt_bytes, encrypt_bytes, key_id_of, primary_key_id

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


def licence_store(content: bytes, *, extension: str) -> str:
    """Encrypt and save; returns the storage name."""
    name = f"licences/{uuid.uuid4().hex}.{extension}.enc"
    _write_atomically(name, encrypt_bytes(content, purpose=_purpose(name)), replace=False)
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
    Raises DecryptionError if no configured key opens it (the file is then left untouched)."""
    if licence_key_id(name) == primary_key_id():
        return False
    content = licence_read(name)
    _write_atomically(name, encrypt_bytes(content, purpose=_purpose(name)), replace=True)
    return True


def licence_delete(name: str) -> None:
    if name:
        private_storage().delete(name)
