"""One lifecycle for every kind of verification, written once.

A verification is submitted under the account's lock, waits for provider calls made by Celery
workers, records each answer idempotently, counts transient provider failures (retried with
capped, jittered backoff for ``VERIFICATION_PROVIDER_RETRY_WINDOW``), stops in ``error`` (and
alerts the support team) when that window is spent, is resumed by support staff, and is
re-sent by the sweeper if the broker lost its message. Personal and enterprise verification
differ only in their fields, their states and their provider calls: each kind subclasses
:class:`Lifecycle` with those, and its tasks use :class:`ProviderTask`.

Services hand work to tasks by their registered Celery name, so this module and the services
never import a tasks module: tasks import services, not the other way round."""

from .reads import (
    attempts_today,
    current_of,
    lockout_lifts_at,
)
from .steps import Answer, Failures, Lifecycle
from .worker import ProviderTask, backoff_seconds, call_provider, retry_window_left

__all__ = [
    "Answer",
    "Failures",
    "Lifecycle",
    "ProviderTask",
    "attempts_today",
    "backoff_seconds",
    "call_provider",
    "current_of",
    "lockout_lifts_at",
    "retry_window_left",
]
