"""Legal documents as shipped in ``accounts/legal/<slug>/v<version>.<language>.md``.

The format is deliberately tiny (title, ``##``/``###`` headings, paragraphs, ``-`` lists,
``**bold**``) so that rendering needs no Markdown library and cannot inject HTML: every piece of
text is escaped before the few tags are added."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

LEGAL_DIR = Path(__file__).resolve().parent / "legal"
LANGUAGES = ("zh-hans", "en")
DOCUMENT_SLUGS = ("user-agreement", "privacy-policy", "realname-service", "face-rules")


def read_source(slug: str, version: int, language: str) -> tuple[str, str]:
    """(title, body) of one language version, read from the shipped file."""
    text = (LEGAL_DIR / slug / f"v{version}.{language}.md").read_text(encoding="utf-8")
    first, _, body = text.strip().partition("\n")
    if not first.startswith("# "):
        raise ValueError(f"{slug} v{version} ({language}) must start with '# <title>'")
    return first[2:].strip(), body.strip()


def stated_periods(slug: str, version: int) -> dict[str, int]:
    """The retention periods version ``version`` of ``slug`` states, by the setting that
    enforces each (``v<version>.periods.json`` next to its texts; none for a version stating
    none). The system checks compare them with the settings (accounts.W004)."""
    path = LEGAL_DIR / slug / f"v{version}.periods.json"
    if not path.exists():
        return {}
    periods = json.loads(path.read_text(encoding="utf-8"))
    return {str(name): int(days) for name, days in periods.items()}


def content_hash(*, slug: str, version: int, titles: dict[str, str], bodies: dict[str, str]) -> str:
    """SHA-256 over everything a person is shown, so a record proves which text was accepted."""
    canonical = json.dumps(
        {"slug": slug, "version": version, "titles": titles, "bodies": bodies},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _inline(text: str) -> str:
    return _BOLD.sub(r"<strong>\1</strong>", escape(text))


def render_html(body: str) -> SafeString:
    """The body as HTML: escaped text inside h2/h3/p/ul/li/strong only."""
    html: list[str] = []
    items: list[str] = []

    def close_list() -> None:
        if items:
            html.append("<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>")
            items.clear()

    for raw in body.splitlines():
        line = raw.strip()
        if line.startswith("- "):
            items.append(_inline(line[2:]))
            continue
        close_list()
        if not line:
            continue
        if line.startswith("### "):
            html.append(f"<h3>{_inline(line[4:])}</h3>")
        elif line.startswith("## "):
            html.append(f"<h2>{_inline(line[3:])}</h2>")
        else:
            html.append(f"<p>{_inline(line)}</p>")
    close_list()
    return mark_safe("\n".join(html))  # noqa: S308 - every text fragment above is escaped
