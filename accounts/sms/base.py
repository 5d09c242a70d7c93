from __future__ import annotations

import abc
import dataclasses
from datetime import datetime

from django.utils import timezone

#: What a text is for. Carriers send only templates approved in their console, one per purpose;
#: development backends send ``SmsMessage.body`` as it is.
CODE = "code"
ACCOUNT_EXISTS = "account_exists"
UNKNOWN_ACCOUNT = "unknown_account"
PURPOSES = (CODE, ACCOUNT_EXISTS, UNKNOWN_ACCOUNT)


class SmsSendError(Exception):
    """The message could not be handed to the carrier. The text must hold no personal data.

    A plain ``SmsSendError`` is the carrier's trouble (down, throttled, misconfigured): the
    next configured backend may succeed. Its subclasses are about the number itself, which no
    other carrier will change."""


class SmsCarrierUnreachable(SmsSendError):
    """No answer from the carrier (timeout, refused connection, DNS): the endpoint, the network
    or the carrier itself."""


class SmsNumberLimitError(SmsSendError):
    """The carrier's per-number limit (so many codes to one number per hour or day)."""


class SmsInvalidNumberError(SmsSendError):
    """The carrier says the number cannot receive texts (not a mobile number, blocked)."""


@dataclasses.dataclass(frozen=True)
class SmsMessage:
    """One text message. ``code`` repeats the one-time code in the body, so that development
    backends can expose it to tests and automation, and carriers fill it into their code
    template; carriers send the template of ``purpose``, never ``body``."""

    to: str  # E.164
    body: str
    code: str = ""
    purpose: str = CODE
    sent_at: datetime = dataclasses.field(default_factory=timezone.now)


class BaseSmsBackend(abc.ABC):
    """The whole interface a vendor backend implements."""

    #: Short name used in logs, messages and ``manage.py check_sms NAME``.
    name = "sms"

    @abc.abstractmethod
    def send(self, message: SmsMessage) -> None:
        """Deliver ``message`` or raise SmsSendError. Must not log the number or the body."""

    def probe(self) -> str:
        """One call that sends nothing (and costs nothing) but proves the credentials and the
        configuration; returns what was learnt, raises SmsSendError in plain words."""
        return "nothing to check: this backend calls no carrier"
