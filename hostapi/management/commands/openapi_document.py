"""Write the API's OpenAPI document, as /api/v1/openapi.json serves it, to docs/openapi.json
(``--check``: exit 1 when the checked-in file differs instead)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import RequestFactory
from django.urls import resolve, reverse

DEFAULT_PATH = Path(settings.BASE_DIR) / "docs" / "openapi.json"


def served_document() -> dict[str, Any]:
    """The document the site serves (asked of its own URL configuration, not rebuilt here)."""
    url = reverse("api:openapi-json")
    request = RequestFactory().get(url)
    response = resolve(url).func(request)
    return json.loads(response.content)


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--path", default=str(DEFAULT_PATH))
        parser.add_argument("--check", action="store_true", help="Fail when the file differs.")

    def handle(self, *args: Any, path: str, check: bool, **options: Any) -> None:
        text = render(served_document())
        target = Path(path)
        if check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                raise CommandError(
                    f"{target} is not the served document: run manage.py openapi_document"
                )
            self.stdout.write(f"{target} is up to date.")
            return
        target.write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote {target}.")
