from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.legal import DOCUMENT_SLUGS
from accounts.services import legal_document_publish


class Command(BaseCommand):
    help = (
        "Publish a new version of a legal document from accounts/legal/<slug>/v<version>.<lang>.md. "
        "From its effective date on, people are asked to accept it again at their next use."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", choices=DOCUMENT_SLUGS)
        parser.add_argument("version", type=int)
        parser.add_argument(
            "--effective-at",
            help="ISO date-time when it comes into force (default: now)",
        )

    def handle(
        self, *args: Any, slug: str, version: int, effective_at: str | None, **options: Any
    ) -> None:
        when = timezone.now()
        if effective_at:
            try:
                when = datetime.fromisoformat(effective_at)
            except ValueError as exc:
                raise CommandError(f"--effective-at: {exc}") from exc
            if timezone.is_naive(when):
                when = timezone.make_aware(when)
        try:
            document = legal_document_publish(slug=slug, version=version, effective_at=when)
        except FileNotFoundError as exc:
            raise CommandError(f"missing text: {exc.filename}") from exc
        self.stdout.write(
            f"published {document} (sha256 {document.content_hash[:12]}…), in force from {when:%Y-%m-%d %H:%M %Z}"
        )
