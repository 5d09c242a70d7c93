"""Counters that every process adds to and the web process reports (``/metrics``).

Web, worker and beat are separate processes, in separate containers under docker-compose, and
workers can be scaled out: a count kept in one process's memory is invisible to the process
that answers the scrape. The counts therefore live in Redis, which every process already
shares (it is the broker and the cache): an observation is one pipelined ``HINCRBY`` round
trip, and a scrape reads one hash per metric. Nothing needs a shared volume, a directory to
empty at start or unique process ids across containers, as prometheus_client's multiprocess
mode would; a Redis restart resets the counters, which Prometheus's ``rate()`` expects of any
counter.

Recording never fails the work it measures: with Redis unset (the embedded dev stack without
``REDIS_URL``) nothing is recorded, and with Redis down the observation is dropped with a
warning at most once a minute.

Label values are names we chose (a provider, a carrier, an outcome, a kind, a task), checked
against :data:`LABEL_VALUE`, never anything a person typed: no personal data can reach a label."""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import redis
from django.conf import settings
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from .app_settings import app_settings

logger = logging.getLogger(__name__)

#: A label value: a short lower-case word that starts with a letter (never a number, a name or
#: an identity number). Anything else is recorded as ``other``.
LABEL_VALUE = re.compile(r"[a-z][a-z0-9_]{0,39}")
#: What became of one call to a vendor or carrier.
OUTCOMES = frozenset(
    {
        "ok",  # it answered (whatever the answer: a failed check is still an answer)
        "transient",  # timeout, 5xx, connection refused: retried
        "permanent",  # refused for good (bad credentials, bad request)
        "error",  # anything else: an unexpected answer or a bug
        "rate_limited",  # the carrier's per-number or per-account limit
        "invalid_number",  # the carrier says the number cannot receive texts
    }
)
CALL_KINDS = {"provider": "provider", "sms": "carrier"}  # kind -> its label name
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
REDIS_TIMEOUT = 0.5  # seconds: a metric never holds up a request or a task for long
WARN_EVERY = 60.0  # seconds between two warnings about an unreachable store
CELERY_PRIORITY_STEPS = (3, 6, 9)  # kombu's Redis transport keeps one list per step
CELERY_PRIORITY_SEPARATOR = "\x06\x16"


@dataclass(frozen=True)
class Family:
    """One metric as it is stored (one Redis hash) and reported."""

    name: str  # without the ``_total`` that counters get in the exposition
    documentation: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()  # a histogram when given

    @property
    def key(self) -> str:
        return f"{app_settings.METRICS_KEY_PREFIX}:{self.name}"


PROVIDER_CALLS = Family(
    "realname_provider_calls",
    "Calls to identity providers made by the workers, by provider and outcome.",
    ("provider", "outcome"),
)
PROVIDER_DURATION = Family(
    "realname_provider_call_duration_seconds",
    "Seconds one provider step took in a worker (the vendor's answer and its recording).",
    ("provider", "outcome"),
    LATENCY_BUCKETS,
)
SMS_CALLS = Family(
    "realname_sms_calls",
    "Text messages handed to an SMS carrier (one per attempt), by carrier and outcome.",
    ("carrier", "outcome"),
)
SMS_DURATION = Family(
    "realname_sms_call_duration_seconds",
    "Seconds one attempt at an SMS carrier took.",
    ("carrier", "outcome"),
    LATENCY_BUCKETS,
)
PROVIDER_RETRIES = Family(
    "realname_provider_retries",
    "Provider steps scheduled again after a transient failure.",
    ("provider",),
)
SWEEP_RUNS = Family(
    "realname_sweep_runs",
    "Runs of the sweeper that re-enqueues work the broker may have lost, by verification kind.",
    ("kind",),
)
SWEEP_REQUEUED = Family(
    "realname_sweep_requeued",
    "Verifications the sweeper re-enqueued, by kind and by the task they waited for.",
    ("kind", "task"),
)
FAMILIES = (
    PROVIDER_CALLS,
    PROVIDER_DURATION,
    SMS_CALLS,
    SMS_DURATION,
    PROVIDER_RETRIES,
    SWEEP_RUNS,
    SWEEP_REQUEUED,
)
_CALLS = {"provider": (PROVIDER_CALLS, PROVIDER_DURATION), "sms": (SMS_CALLS, SMS_DURATION)}


def label(value: str) -> str:
    """``value`` if it is a word we could have chosen, else ``other`` (see :data:`LABEL_VALUE`)."""
    value = str(value).lower()
    return value if LABEL_VALUE.fullmatch(value) else "other"


def _field(values: Iterable[str]) -> str:
    return json.dumps(list(values), separators=(",", ":"))


@functools.cache
def _client(url: str) -> redis.Redis:
    # One pool per process; redis-py starts a new pool in a forked child (prefork workers).
    return redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
    )


def store() -> redis.Redis | None:
    """The Redis that keeps the counters, or None when none is configured."""
    url = app_settings.METRICS_REDIS_URL
    return _client(url) if url else None


_last_warning = -math.inf


def _warn(exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARN_EVERY:
        _last_warning = now
        logger.warning(
            "metrics not recorded: the metrics store is unreachable (%s)", type(exc).__name__
        )


def _record(increments: Iterable[tuple[Family, tuple[str, ...], float]]) -> None:
    """Add each ``(family, label values, amount)``; a histogram's amount is the observed value."""
    client = store()
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)
        for family, values, amount in increments:
            if not family.buckets:
                pipe.hincrbyfloat(family.key, _field(values), amount)
                continue
            bucket = next((f"{b:g}" for b in family.buckets if amount <= b), "+Inf")
            pipe.hincrby(family.key, _field((*values, bucket)), 1)
            pipe.hincrbyfloat(family.key, _field((*values, "_sum")), amount)
        pipe.execute()
    except Exception as exc:  # never fail the work being measured
        _warn(exc)


def observe_call(*, kind: str, name: str, outcome: str, seconds: float) -> None:
    """One call to the outside world: ``kind`` ``"provider"`` (an identity vendor) or ``"sms"``
    (a carrier), ``name`` the provider's or carrier's name (``aliyun``), ``outcome`` one of
    :data:`OUTCOMES`. Call it once per attempt, where the attempt is made."""
    if kind not in _CALLS:
        logger.warning("metrics: no calls of kind %r are counted", label(kind))
        return
    calls, duration = _CALLS[kind]
    outcome = outcome if outcome in OUTCOMES else "error"
    values = (label(name), outcome)
    _record([(calls, values, 1), (duration, values, max(0.0, seconds))])


def observe_retry(*, provider: str) -> None:
    """A provider step was scheduled again after a transient failure."""
    _record([(PROVIDER_RETRIES, (label(provider),), 1)])


def observe_sweep(*, kind: str, requeued: Mapping[str, int]) -> None:
    """One sweeper run over ``kind``, with how many records it re-enqueued by task."""
    _record(
        [
            (SWEEP_RUNS, (label(kind),), 1),
            *((SWEEP_REQUEUED, (label(kind), label(task)), n) for task, n in requeued.items()),
        ]
    )


def collect() -> list[Metric]:
    """Every stored counter and histogram as prometheus_client metric families (empty ones
    included, so names are there before the first event). Raises when the store is
    configured but unreadable; returns [] when none is configured."""
    client = store()
    if client is None:
        return []
    pipe = client.pipeline(transaction=False)
    for family in FAMILIES:
        pipe.hgetall(family.key)
    stored = pipe.execute()
    return [_family(family, raw) for family, raw in zip(FAMILIES, stored, strict=True)]


def _family(family: Family, raw: Mapping[bytes, bytes]) -> Metric:
    entries = {tuple(json.loads(key)): float(value) for key, value in raw.items()}
    if not family.buckets:
        counter = CounterMetricFamily(family.name, family.documentation, labels=family.labels)
        for values, amount in sorted(entries.items()):
            counter.add_metric(list(values), amount)
        return counter
    histogram = HistogramMetricFamily(family.name, family.documentation, labels=family.labels)
    series = sorted({values[:-1] for values in entries})
    for values in series:
        running = 0.0
        buckets = []
        for bound in (*(f"{b:g}" for b in family.buckets), "+Inf"):
            running += entries.get((*values, bound), 0.0)
            buckets.append((bound, running))
        histogram.add_metric(list(values), buckets, sum_value=entries.get((*values, "_sum"), 0.0))
    return histogram


def queue_depth() -> int | None:
    """Messages waiting in the default Celery queue (``CELERY_TASK_DEFAULT_QUEUE``) when the
    broker is Redis; None for any other broker (the filesystem broker of the dev stack keeps
    no count one could read cheaply). Raises when Redis does not answer."""
    url = getattr(settings, "CELERY_BROKER_URL", "") or ""
    if not url.startswith(("redis://", "rediss://")):
        return None
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    keys = [queue, *(f"{queue}{CELERY_PRIORITY_SEPARATOR}{step}" for step in CELERY_PRIORITY_STEPS)]
    pipe = _client(url).pipeline(transaction=False)
    for key in keys:
        pipe.llen(key)
    return sum(int(n) for n in pipe.execute())
