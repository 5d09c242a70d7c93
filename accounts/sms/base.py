from __future__ import annotations

import abc
import dataclasses
from datetime import datetime

from django.utils import timezone


class SmsSendError(Exception):
    """The message could not be handed to the carrier. The text must hold no personal data."""


@dataclasses.dataclass(frozen=True)
class SmsMessage:
    """One text message. ``code`` repeats the one-time code in the body, so that development
    backends can expose it to tests and automation; vendor backends send only ``body``."""

    to: str  # E.164
    body: str
    code: str = ""
    sent_at: datetime = dataclasses.field(default_factory=timezone.now)


class BaseSmsBackend(abc.ABC):
    """The whole interface a vendor backend implements."""

    @abc.abstractmethod
    def send(self, message: SmsMessage) -> None:
        """Deliver ``message`` or raise SmsSendError. Must not log the number or the body."""
