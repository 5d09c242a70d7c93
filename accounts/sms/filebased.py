from __future__ import annotations

import fcntl
import json
from pathlib import Path

from ..app_settings import app_settings
from .base import BaseSmsBackend, SmsMessage, SmsSendError


class SmsBackend(BaseSmsBackend):
    """Appends one JSON object per message to ``SMS_FILE_PATH``:
    ``{"to": "+8613800138000", "code": "123456", "message": "...", "sent_at": "..."}``.
    Used by the embedded default and the tests; safe with several processes writing."""

    name = "file"

    def __init__(self, path: str | None = None) -> None:
        self.path = Path(path or app_settings.SMS_FILE_PATH)

    def send(self, message: SmsMessage) -> None:
        line = json.dumps(
            {
                "to": message.to,
                "code": message.code,
                "message": message.body,
                "sent_at": message.sent_at.isoformat(),
            },
            ensure_ascii=False,
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                handle.write(line + "\n")
        except OSError as exc:
            raise SmsSendError(f"could not write to the SMS file ({exc.strerror})") from exc
