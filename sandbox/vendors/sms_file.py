"""The SMS carriers' common "handset": each accepted message appended to one JSON-lines file in
the format of our file backend (``accounts.sms.filebased``), so a developer or a test reads
codes sent through a carrier protocol exactly where the file backend writes them:
``{"to": "+8613800138000", "code": "123456", "message": "...", "sent_at": "..."}``.

The sandbox knows templates by their code only, so ``message`` is the signature, the template
and its parameters, not the carrier's wording."""

from __future__ import annotations

import fcntl
import json
import re
from datetime import UTC, datetime
from pathlib import Path

_CODE = re.compile(r"\d{4,8}")


def deliver(path: str, *, to: str, sign_name: str, template: str, params: list[str]) -> None:
    """Append one message to ``path`` (nothing when empty). The code is the first parameter
    that looks like one; a notice template has none."""
    if not path:
        return
    code = next((value for value in params if _CODE.fullmatch(value)), "")
    shown = ", ".join(params)
    line = json.dumps(
        {
            "to": to,
            "code": code,
            "message": f"【{sign_name}】template {template}" + (f": {shown}" if shown else ""),
            "sent_at": datetime.now(UTC).isoformat(),
        },
        ensure_ascii=False,
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(line + "\n")


def e164(number: str) -> str | None:
    """A number as the carriers accept it (``+86138...``, ``0086138...``, ``86138...``,
    ``138...``, ``85261234567``) in E.164, or None when it cannot be a mobile number."""
    digits = number.strip()
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    elif len(digits) == 11 and digits.startswith("1"):
        digits = "86" + digits
    if not digits.isdigit() or not 8 <= len(digits) <= 15:
        return None
    if digits.startswith("86") and not re.fullmatch(r"861[3-9]\d{9}", digits):
        return None
    return "+" + digits
