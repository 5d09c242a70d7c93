import sys

from .base import BaseSmsBackend, SmsMessage


class SmsBackend(BaseSmsBackend):
    """Development: prints messages to standard output (not to the logs, which are masked)."""

    name = "console"

    def send(self, message: SmsMessage) -> None:
        sys.stdout.write(f"[sms] to {message.to}: {message.body}\n")
        sys.stdout.flush()
