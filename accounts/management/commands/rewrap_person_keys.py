"""Rewrap every person key under the primary master key after a master-key rotation.

Rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), deploy,
run this command (and reencrypt_personal_data for values still under master keys) until both
report nothing left, then remove the old keys. Values under person keys are not touched."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kernel.crypto import KeyConfigurationError, primary_key_id

from ...personkeys import rewrap_person_keys


class Command(BaseCommand):
    help = (
        "Rewrap person keys under the first (primary) key of FIELD_ENCRYPTION_KEYS. Safe to "
        "interrupt and to run again. Prints counts only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count; change nothing.")
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Keys per transaction (default 500)."
        )

    def handle(self, *args: Any, dry_run: bool, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            primary = primary_key_id()
        except KeyConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"primary key id: {primary}")
        result = rewrap_person_keys(batch_size=batch_size, dry_run=dry_run)
        verb = "to rewrap" if dry_run else "rewrapped"
        self.stdout.write(f"person keys: {result.rewrapped} {verb}")
        if result.unreadable:
            raise CommandError(
                f"{result.unreadable} person keys could not be unwrapped with the configured "
                "keys and were left as they are: restore the key they were wrapped with, then "
                "run again."
            )
