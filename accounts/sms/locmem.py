from __future__ import annotations

from .base import BaseSmsBackend, SmsMessage

#: Messages sent in this process, newest last (like django.core.mail.outbox).
outbox: list[SmsMessage] = []


class SmsBackend(BaseSmsBackend):
    """Unit tests: keeps messages in ``accounts.sms.locmem.outbox``."""

    name = "locmem"

    def send(self, message: SmsMessage) -> None:
        outbox.append(message)
