"""Private storage of licence files: encrypted (realname.crypto) under PRIVATE_STORAGE_ROOT,
which no URL serves. Files are named by random ids; nothing personal is in a name."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage

from realname.crypto import decrypt_bytes, encrypt_bytes

PURPOSE = "enterprise.licence"


def private_storage() -> FileSystemStorage:
    # base_url=None: the storage cannot produce a URL, so no template can link to a file.
    return FileSystemStorage(location=settings.PRIVATE_STORAGE_ROOT, base_url=None)


def licence_store(content: bytes, *, extension: str) -> str:
    """Encrypt and save; returns the storage name."""
    name = f"licences/{uuid.uuid4().hex}.{extension}.enc"
    return private_storage().save(name, ContentFile(encrypt_bytes(content, purpose=PURPOSE)))


def licence_read(name: str) -> bytes:
    with private_storage().open(name, "rb") as file:
        return decrypt_bytes(file.read(), purpose=PURPOSE)


def licence_delete(name: str) -> None:
    if name:
        private_storage().delete(name)
