"""Where person keys live, seen from the kernel.

Each person's personal data is sealed under a data key of their own (``kernel.crypto``, the
``p1`` formats); the data key is stored *wrapped* (encrypted) under the primary master key of
``REALNAME_FIELD_ENCRYPTION_KEYS``. The kernel knows no app, so the table that holds wrapped keys
belongs to ``accounts`` (``accounts.models.PersonKey``), which registers its store here when it
is ready. Destroying a person's wrapped key ("crypto-shredding") makes every copy of their
ciphertext unreadable: database rows, licence files, and backups of either.
"""

from __future__ import annotations

from typing import Protocol

from django.core.exceptions import ImproperlyConfigured

__all__ = ["PersonKeyStore", "person_key_store", "register_person_key_store"]


class PersonKeyStore(Protocol):
    def wrapped_key(self, user_id: int) -> str | None:
        """The person's wrapped key; None if they have none yet. Raises kernel.crypto.PersonErased if it was
        shredded."""

    def add_wrapped_key(self, user_id: int, wrapped: str) -> str:
        """Store a new wrapped key unless the person already has one; returns the stored key
        (theirs if another process won the race). Raises kernel.crypto.PersonErased if it was shredded."""


_store: PersonKeyStore | None = None


def register_person_key_store(store: PersonKeyStore | None) -> None:
    global _store
    _store = store


def person_key_store() -> PersonKeyStore:
    if _store is None:
        raise ImproperlyConfigured(
            "No person key store is registered: is the accounts app installed?"
        )
    return _store
