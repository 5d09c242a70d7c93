"""Move personal data sealed under the master keys (the ``v1`` format) to the person keys of
the people it belongs to (``p1``), without downtime: in batches, each locked and committed on its
own, so the site keeps running, the command can be interrupted at any point and run again (it
only picks values still in the old format), and a value written meanwhile by the site (already
under a person key) is left alone.

Covers every encrypted field declared with an ``owner``, and the files of every app config that
lists them (``person_files`` / ``seal_file_for_person``, e.g. enterprise licences). A model whose
owner column is empty on old rows may fill it: a classmethod ``owners_of(instances)`` returning
``{pk: user id}`` (support.StaffNote).

``--check`` tells an operator whether the migration has finished, changing nothing: per table
and column, the values still under a master key whose owner's key lives ("to move"), and the
licence files not yet under a person key; it exits non-zero while any remain. Values under a
master key of a person already erased are blanks written at closing (not counted) unless they
still hold something ("readable after erasure": counted, the migration came too late for them;
see docs/privacy/person-keys.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.db.models.functions import Cast

from kernel.crypto import (
    TEXT_VERSION,
    DecryptionError,
    KeyConfigurationError,
    PersonErased,
    decrypt_str,
    encrypt_str,
    primary_key_id,
)
from kernel.fields import EncryptedFieldMixin, encrypted_fields
from kernel.keystore import person_key_store

STORED = "stored_ciphertext"
#: The plaintexts of the blanks closing an account writes (text, JSON).
BLANKS = frozenset({"", "{}", "[]", "null"})


@dataclass
class Moved:
    moved: int = 0
    unreadable: int = 0
    ownerless: int = 0
    erased: int = 0  # the owner's key is shredded: nothing to move to


@dataclass
class Left:
    """What ``--check`` finds still under a master key in one column."""

    to_move: int = 0
    readable_after_erasure: int = 0
    unreadable: int = 0
    erased_blanks: int = 0

    @property
    def problems(self) -> int:
        return self.to_move + self.readable_after_erasure + self.unreadable


def person_keyed_fields(model: type[models.Model]) -> list[EncryptedFieldMixin]:
    return [field for field in encrypted_fields(model) if field.owner]


def master_keyed(model: type[models.Model], encrypted: EncryptedFieldMixin) -> models.QuerySet:
    """Rows whose value of this column is still under a master key (read as raw text)."""
    return model._base_manager.annotate(
        **{STORED: Cast(encrypted.name, models.TextField())}
    ).filter(**{f"{STORED}__startswith": f"{TEXT_VERSION}:"})


def move_column(
    model: type[models.Model],
    encrypted: EncryptedFieldMixin,
    *,
    batch_size: int,
    max_batches: int | None = None,
) -> Moved:
    # The owner is named by attribute (``user_id``, ``subject_id``): a column of the model.
    owner_column = encrypted.owner or ""
    resolve = getattr(model, "owners_of", None)
    result = Moved()
    last_pk: Any = None
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        with transaction.atomic():
            batch = master_keyed(model, encrypted).order_by("pk")
            if last_pk is not None:
                batch = batch.filter(pk__gt=last_pk)
            rows = list(batch.select_for_update()[:batch_size])
            if not rows:
                break
            last_pk = rows[-1].pk
            owners = {row.pk: getattr(row, owner_column) for row in rows}
            missing = [row for row in rows if owners[row.pk] is None]
            if missing and resolve is not None:
                owners.update(resolve(missing))
            for row in rows:
                owner = owners[row.pk]
                if owner is None:
                    result.ownerless += 1
                    continue
                token = getattr(row, STORED)
                try:
                    plaintext = decrypt_str(token, purpose=encrypted.purpose)
                except DecryptionError:
                    result.unreadable += 1
                    continue
                # A Value with a plain text output field is written as given, not encrypted again.
                try:
                    sealed = encrypt_str(plaintext, purpose=encrypted.purpose, owner=owner)
                except PersonErased:  # closed account: its blanks were written under a master key
                    result.erased += 1
                    continue
                changes: dict[str, Any] = {encrypted.name: models.Value(sealed, models.TextField())}
                if getattr(row, owner_column) is None:
                    changes[owner_column] = owner
                model._base_manager.filter(pk=row.pk).update(**changes)
                result.moved += 1
    return result


def _shredded(owner: int, cache: dict[int, bool]) -> bool:
    if owner not in cache:
        try:
            person_key_store().wrapped_key(owner)
            cache[owner] = False
        except PersonErased:
            cache[owner] = True
    return cache[owner]


def left_in_column(model: type[models.Model], encrypted: EncryptedFieldMixin) -> Left:
    """Count, changing nothing, what ``move_column`` has still to do in this column."""
    owner_column = encrypted.owner or ""
    left = Left()
    shredded: dict[int, bool] = {}
    rows = master_keyed(model, encrypted).values_list(owner_column, STORED).order_by("pk")
    for owner, token in rows.iterator(chunk_size=1000):
        if owner is None or not _shredded(owner, shredded):
            left.to_move += 1
            continue
        try:
            plaintext = decrypt_str(token, purpose=encrypted.purpose)
        except DecryptionError:
            left.unreadable += 1
            continue
        if plaintext.strip() in BLANKS:
            left.erased_blanks += 1
        else:
            left.readable_after_erasure += 1
    return left


class Command(BaseCommand):
    help = (
        "Move personal data sealed under the master keys to the person keys of the people it "
        "belongs to (crypto-shredding). Batched, safe while the site runs, safe to interrupt and "
        "to run again. Prints counts, never values."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count; change nothing.")
        parser.add_argument(
            "--check",
            action="store_true",
            help="Report what is still under a master key, per table; change nothing; exit "
            "non-zero while anything remains (the migration has not finished).",
        )
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Rows per transaction (default 500)."
        )
        parser.add_argument(
            "--max-batches",
            type=int,
            default=None,
            help="Stop each column after this many batches (to spread the work over runs).",
        )

    def handle(
        self,
        *args: Any,
        dry_run: bool,
        batch_size: int,
        max_batches: int | None,
        check: bool = False,
        **options: Any,
    ) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            primary_key_id()
        except KeyConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        if check:
            self.check_finished()
            return
        problems = 0
        for model in apps.get_models():
            if model._meta.proxy:
                continue
            for encrypted in person_keyed_fields(model):
                label = f"{model._meta.label}.{encrypted.name}"
                if dry_run:
                    count = master_keyed(model, encrypted).count()
                    self.stdout.write(f"{label}: {count} under a master key")
                    continue
                result = move_column(
                    model, encrypted, batch_size=batch_size, max_batches=max_batches
                )
                line = f"{label}: {result.moved} moved to person keys"
                if result.unreadable:
                    line += f", {result.unreadable} unreadable"
                if result.ownerless:
                    line += f", {result.ownerless} without an owner (left under the master key)"
                problems += result.unreadable
                self.stdout.write(line)
        problems += self.move_files(dry_run=dry_run)
        if problems:
            raise CommandError(
                f"{problems} values could not be decrypted with the configured keys and were "
                "left as they are: restore the key they were written with, then run again."
            )

    def check_finished(self) -> None:
        remaining = 0
        for model in apps.get_models():
            if model._meta.proxy:
                continue
            for encrypted in person_keyed_fields(model):
                left = left_in_column(model, encrypted)
                line = f"{model._meta.label}.{encrypted.name}: {left.to_move} to move"
                if left.readable_after_erasure:
                    line += f", {left.readable_after_erasure} of erased people still readable"
                if left.unreadable:
                    line += f", {left.unreadable} unreadable with the configured keys"
                if left.erased_blanks:
                    line += f" ({left.erased_blanks} blanks of erased people: nothing to move)"
                remaining += left.problems
                self.stdout.write(line)
        for config in apps.get_app_configs():
            is_sealed = getattr(config, "file_is_person_sealed", None)
            if not hasattr(config, "person_files") or is_sealed is None:
                continue
            files: Any = config
            count = 0
            for name, _owner in files.person_files():
                try:
                    count += not is_sealed(name)
                except OSError:
                    count += 1  # missing: the migration would report it too
            self.stdout.write(f"{config.label} files: {count} to move")
            remaining += count
        if remaining:
            raise CommandError(
                f"{remaining} values or files are still under a master key: the migration to "
                "person keys has not finished (run manage.py migrate_to_person_keys)."
            )
        self.stdout.write("Finished: every personal value is under a person key.")

    def move_files(self, *, dry_run: bool) -> int:
        unreadable = 0
        for config in apps.get_app_configs():
            if not hasattr(config, "person_files"):
                continue
            files: Any = config
            moved = 0
            failed = 0
            for name, owner in files.person_files():
                if dry_run:
                    continue
                try:
                    moved += files.seal_file_for_person(name, owner)
                except (DecryptionError, OSError):
                    failed += 1
            if dry_run:
                self.stdout.write(f"{config.label} files: counted when run")
                continue
            line = f"{config.label} files: {moved} moved to person keys"
            if failed:
                line += f", {failed} unreadable or missing"
            unreadable += failed
            self.stdout.write(line)
        return unreadable
