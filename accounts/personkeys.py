"""Person keys (crypto-shredding): the store ``kernel.crypto`` seals each person's values with,
and :func:`shred_person`, which destroys a person's key so that no copy of their ciphertext —
database rows, licence files, backups of either — can be read again.

Call ``shred_person(user.pk)`` when an account is closed, after deleting what can be deleted.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from kernel.crypto import (
    DecryptionError,
    PersonErased,
    forget_person_key,
    key_id_of,
    primary_key_id,
    rewrap_person_key,
)
from kernel.keystore import register_person_key_store

from .models import PersonKey

__all__ = [
    "PersonKeyTable",
    "RewrapResult",
    "person_is_shredded",
    "rewrap_person_keys",
    "shred_person",
]


class PersonKeyTable:
    """The kernel's key store (kernel.keystore.PersonKeyStore), on the PersonKey table."""

    def wrapped_key(self, user_id: int) -> str | None:
        row = PersonKey.objects.filter(user_id=user_id).values_list("wrapped_key", "shredded_at")
        found = row.first()
        if found is None:
            return None
        wrapped, shredded_at = found
        if shredded_at is not None:
            raise PersonErased("This person's key was destroyed: their data is erased.")
        return wrapped

    def add_wrapped_key(self, user_id: int, wrapped: str) -> str:
        # One statement, no savepoint: a person's first value is sealed inside the submitting
        # transaction, and a conflict must not abort it.
        table = connection.ops.quote_name(PersonKey._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (user_id, wrapped_key, master_key_id, created_at) "  # noqa: S608 - our table name
                "VALUES (%s, %s, %s, %s) ON CONFLICT (user_id) DO NOTHING RETURNING user_id",
                [user_id, wrapped, key_id_of(wrapped), timezone.now()],
            )
            if cursor.fetchone() is not None:
                return wrapped
        # Another process made theirs first: use it (or learn the person was erased).
        stored = self.wrapped_key(user_id)
        if stored is None:  # pragma: no cover - the conflicting row cannot vanish
            raise IntegrityError(f"person key {user_id} neither inserted nor found")
        return stored


def register() -> None:
    register_person_key_store(PersonKeyTable())


def shred_person(user_id: int) -> bool:
    """Destroy the person's key, so that none of their values can be decrypted again, and
    refuse new values for them. Idempotent: True if a key was destroyed now, False if there was
    none or it already was. A row without a key is left as the record of the shredding."""
    now = timezone.now()
    with transaction.atomic():
        row = PersonKey.objects.select_for_update().filter(user_id=user_id).first()
        if row is None:
            PersonKey.objects.create(user_id=user_id, shredded_at=now)
            destroyed = False
        elif row.shredded_at is not None:
            destroyed = False
        else:
            PersonKey.objects.filter(user_id=user_id).update(
                wrapped_key="", master_key_id="", shredded_at=now
            )
            destroyed = True
    forget_person_key(user_id)
    return destroyed


def person_is_shredded(user_id: int) -> bool:
    return PersonKey.objects.filter(user_id=user_id, shredded_at__isnull=False).exists()


@dataclass
class RewrapResult:
    rewrapped: int = 0
    unreadable: int = 0


def rewrap_person_keys(*, batch_size: int = 500, dry_run: bool = False) -> RewrapResult:
    """Rewrap every live person key not under the primary master key, in batches (each locked
    and committed on its own), so it can be interrupted and run again. Values are not touched:
    after this the older master keys are no longer needed for person-keyed values."""
    primary = primary_key_id()
    result = RewrapResult()
    stale = PersonKey.objects.filter(shredded_at__isnull=True).exclude(master_key_id=primary)
    if dry_run:
        result.rewrapped = stale.count()
        return result
    last: int | None = None
    while True:
        with transaction.atomic():
            batch = stale.order_by("user_id")
            if last is not None:
                batch = batch.filter(user_id__gt=last)
            rows = list(batch.select_for_update()[:batch_size])
            if not rows:
                return result
            last = rows[-1].user_id
            for row in rows:
                try:
                    wrapped = rewrap_person_key(row.user_id, row.wrapped_key)
                except DecryptionError:  # its master key is no longer configured
                    result.unreadable += 1
                    continue
                if wrapped is not None:
                    PersonKey.objects.filter(user_id=row.user_id).update(
                        wrapped_key=wrapped, master_key_id=primary, rewrapped_at=timezone.now()
                    )
                result.rewrapped += 1
