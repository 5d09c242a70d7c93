"""The webhook receiver the README shows, as code the tests run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"  # the receiver the issue asks the README to show
DOCS = ROOT / "docs" / "webhooks.md"
SNIPPET = re.compile(
    r"<!-- receiver-snippet -->\s*```python\n(?P<code>.*?)```\s*<!-- /receiver-snippet -->",
    re.DOTALL,
)


def receiver_snippet(source: Path = README) -> str:
    match = SNIPPET.search(source.read_text())
    assert match, f"{source.name} lost its receiver snippet"
    return match["code"]
