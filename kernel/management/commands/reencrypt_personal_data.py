"""Re-encrypt personal data (database columns and encrypted files) under the primary key after a
key rotation.

Rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), deploy,
run this command and ``rewrap_person_keys`` until they report nothing left, then remove the old
keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.db.models.functions import Cast

from kernel.crypto import (
    PERSON_TEXT_VERSION,
    TEXT_VERSION,
    DecryptionError,
    KeyConfigurationError,
    decrypt_str,
    encrypt_str,
    primary_key_id,
)
from kernel.fields import EncryptedFieldMixin, encrypted_fields

STORED = "stored_ciphertext"


@dataclass
class FieldResult:
    reencrypted: int = 0
    unreadable: list[Any] = field(default_factory=list)


def stale_values(
    model: type[models.Model], encrypted: EncryptedFieldMixin, primary: str
) -> models.QuerySet:
    """Rows whose value is sealed under a master key other than the primary one. The column is
    read through a cast to text so the raw token (and its key id) is seen, not the decrypted
    value. Values under person keys are not here: rotation rewraps those keys
    (``manage.py rewrap_person_keys``)."""
    return (
        model._base_manager.annotate(**{STORED: Cast(encrypted.name, models.TextField())})
        .filter(**{f"{STORED}__isnull": False})
        .exclude(**{f"{STORED}__startswith": f"{TEXT_VERSION}:{primary}:"})
        .exclude(**{f"{STORED}__startswith": f"{PERSON_TEXT_VERSION}:"})
    )


def field_reencrypt(
    model: type[models.Model], encrypted: EncryptedFieldMixin, *, batch_size: int
) -> FieldResult:
    """Re-encrypt one column in batches, each batch locked and committed on its own, so the
    command can be interrupted and run again (rows already on the primary key are skipped)."""
    primary = primary_key_id()
    result = FieldResult()
    last_pk: Any = None
    while True:
        with transaction.atomic():
            batch = stale_values(model, encrypted, primary).order_by("pk")
            if last_pk is not None:
                batch = batch.filter(pk__gt=last_pk)
            rows = list(batch.select_for_update().values_list("pk", STORED)[:batch_size])
            if not rows:
                return result
            last_pk = rows[-1][0]
            for pk, token in rows:
                try:
                    plaintext = decrypt_str(token, purpose=encrypted.purpose)
                except DecryptionError:
                    result.unreadable.append(pk)
                    continue
                # A Value with a plain text output field is written as given, not encrypted again.
                new_token = models.Value(
                    encrypt_str(plaintext, purpose=encrypted.purpose), models.TextField()
                )
                model._base_manager.filter(pk=pk).update(**{encrypted.name: new_token})
                result.reencrypted += 1


class Command(BaseCommand):
    help = (
        "Re-encrypt personal data written under an older key of FIELD_ENCRYPTION_KEYS with the "
        "first (primary) key. Safe to interrupt and to run again. Prints counts, never values."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the values to re-encrypt; change nothing."
        )
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Rows per transaction (default 500)."
        )
        parser.add_argument(
            "--model",
            action="append",
            dest="model_labels",
            metavar="APP_LABEL.MODEL",
            help="Only this model (repeatable). Default: every model with encrypted fields.",
        )

    def handle(
        self,
        *args: Any,
        dry_run: bool,
        batch_size: int,
        model_labels: list[str] | None,
        **options: Any,
    ) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            primary = primary_key_id()
        except KeyConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"primary key id: {primary}")
        unreadable = 0
        for model in self.selected_models(model_labels):
            for encrypted in encrypted_fields(model):
                label = f"{model._meta.label}.{encrypted.name}"
                if dry_run:
                    count = stale_values(model, encrypted, primary).count()
                    self.stdout.write(f"{label}: {count} to re-encrypt")
                    continue
                result = field_reencrypt(model, encrypted, batch_size=batch_size)
                line = f"{label}: {result.reencrypted} re-encrypted"
                if result.unreadable:
                    unreadable += len(result.unreadable)
                    ids = ", ".join(str(pk) for pk in result.unreadable[:20])
                    more = ", …" if len(result.unreadable) > 20 else ""
                    line += f", {len(result.unreadable)} unreadable (pk {ids}{more})"
                self.stdout.write(line)
        if not model_labels:
            unreadable += self.reencrypt_files(dry_run=dry_run, primary=primary)
        if unreadable:
            raise CommandError(
                f"{unreadable} values could not be decrypted with the configured keys and were "
                "left as they are: restore the key they were written with, then run again."
            )

    def reencrypt_files(self, *, dry_run: bool, primary: str) -> int:
        """Files of every app whose config lists them (see EnterpriseConfig.encrypted_files).
        Each file is rewritten through a temporary file and a rename: never half-written."""
        unreadable = 0
        for config in apps.get_app_configs():
            if not hasattr(config, "encrypted_files"):
                continue
            files: Any = config  # an app config with the three methods (duck-typed)
            label = f"{config.label} files"
            stale = reencrypted = 0
            failed: list[str] = []
            for name in files.encrypted_files():
                try:
                    if dry_run:
                        key_id = files.encrypted_file_key_id(name)
                        # Files under a person key: rotation rewraps the key instead.
                        stale += key_id != primary and not key_id.startswith("person:")
                    else:
                        reencrypted += files.reencrypt_file(name)
                except (DecryptionError, OSError):
                    failed.append(name)
            if dry_run:
                self.stdout.write(f"{label}: {stale} to re-encrypt")
                continue
            line = f"{label}: {reencrypted} re-encrypted"
            if failed:
                unreadable += len(failed)
                more = ", …" if len(failed) > 20 else ""
                line += f", {len(failed)} unreadable or missing ({', '.join(failed[:20])}{more})"
            self.stdout.write(line)
        return unreadable

    def selected_models(self, labels: list[str] | None) -> list[type[models.Model]]:
        if not labels:
            return [
                model
                for model in apps.get_models()
                if not model._meta.proxy and encrypted_fields(model)
            ]
        selected = []
        for label in labels:
            try:
                model = apps.get_model(label)
            except (LookupError, ValueError) as exc:
                raise CommandError(f"--model {label}: no such model.") from exc
            if not encrypted_fields(model):
                raise CommandError(f"--model {label}: the model has no encrypted fields.")
            selected.append(model)
        return selected
