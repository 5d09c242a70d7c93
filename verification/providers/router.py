"""The router: which provider takes a new verification, and a circuit per provider.

A circuit counts a provider's transient failures in a row (timeouts, 5xx, throttling) in the
shared cache, so every worker and web process sees the same count. After
``VERIFICATION_CIRCUIT_FAILURES`` of them it *opens*: for ``VERIFICATION_CIRCUIT_COOL_DOWN``
seconds new verifications go to the next provider of their route. After the cool-down it is
*half-open*: one new verification goes there again as a trial, and its first success closes
the circuit (its first failure opens it for another cool-down). A verification whose first
call keeps failing while its provider's circuit is open moves to the next provider of its
route (``Lifecycle.record_provider_failure``): nothing is open for it at the vendor yet. Once
a vendor holds something of it (an identity answer, a face session), it stays there: a face
session always finishes at the provider that opened it.

The cache is advisory: if it is down, every circuit reads as closed and the route's first
provider is chosen, which is what routing without circuits would do."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache

from ..app_settings import app_settings
from . import configured, route

logger = logging.getLogger("verification.router")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class NoProvider(LookupError):
    """No configured provider covers this document type (or enterprise checks)."""


@dataclass(frozen=True)
class CircuitState:
    provider: str
    state: str  # CLOSED, OPEN or HALF_OPEN
    failures: int  # transient failures in a row
    reopens_at: float | None  # unix time the cool-down ends, while open

    @property
    def reopens(self) -> datetime | None:
        """When the cool-down ends, for people (the desk)."""
        return datetime.fromtimestamp(self.reopens_at, tz=UTC) if self.reopens_at else None


def _keys(provider: str) -> tuple[str, str]:
    return f"realname:circuit:{provider}:failures", f"realname:circuit:{provider}:open_until"


def _probe_key(provider: str, opened_until: float) -> str:
    return f"realname:circuit:{provider}:probe:{opened_until:.0f}"


def _take_probe(state: CircuitState) -> bool:
    """A half-open circuit lets ONE new verification through (the trial); the others go to the
    next provider until that one's first call closes or re-opens the circuit."""
    open_key = _keys(state.provider)[1]
    try:
        opened_until = cache.get(open_key)
        return bool(
            cache.add(
                _probe_key(state.provider, float(opened_until or 0)),
                1,
                timeout=app_settings.CIRCUIT_COOL_DOWN,
            )
        )
    except Exception:
        return True


def circuit(provider: str, *, now: float | None = None) -> CircuitState:
    now = time.time() if now is None else now
    failures_key, open_key = _keys(provider)
    try:
        values = cache.get_many([failures_key, open_key])
    except Exception:  # the cache is advisory, see the module docstring
        logger.warning("circuit of %s unreadable: cache unavailable", provider)
        values = {}
    failures = int(values.get(failures_key) or 0)
    open_until = values.get(open_key)
    if open_until is None:
        return CircuitState(provider, CLOSED, failures, None)
    if float(open_until) > now:
        return CircuitState(provider, OPEN, failures, float(open_until))
    return CircuitState(provider, HALF_OPEN, failures, None)


def record_success(provider: str) -> None:
    failures_key, open_key = _keys(provider)
    try:
        values = cache.get_many([failures_key, open_key])  # one round trip: this is every call
        if values.get(failures_key) or values.get(open_key) is not None:
            cache.delete_many([failures_key, open_key])
    except Exception:
        logger.warning("circuit of %s not updated: cache unavailable", provider)


def record_failure(provider: str, *, now: float | None = None) -> CircuitState:
    """Count one transient failure; open (or re-open, when half-open) the circuit at the
    threshold."""
    now = time.time() if now is None else now
    failures_key, open_key = _keys(provider)
    cool_down = app_settings.CIRCUIT_COOL_DOWN
    try:
        cache.add(failures_key, 0, timeout=None)
        failures = cache.incr(failures_key)
        state = circuit(provider, now=now)
        if failures >= app_settings.CIRCUIT_FAILURES and state.state != OPEN:
            # Kept for twice the cool-down so a half-open circuit remembers it tripped.
            cache.set(open_key, now + cool_down, timeout=2 * cool_down + 60)
            logger.warning(
                "circuit of %s open for %s s after %s transient failures",
                provider,
                cool_down,
                failures,
            )
            return CircuitState(provider, OPEN, failures, now + cool_down)
        return state
    except Exception:
        logger.warning("circuit of %s not updated: cache unavailable", provider)
        return CircuitState(provider, CLOSED, 0, None)


def choose(key: str) -> str:
    """The provider for a new verification of ``key`` (a document type or ``enterprise``):
    the first of its route whose circuit is not open; the first of the route when all are
    open (the retries then wait the outage out)."""
    names = route(key)
    if not names:
        raise NoProvider(key)
    now = time.time()
    for name in names:
        state = circuit(name, now=now)
        if state.state == CLOSED or (state.state == HALF_OPEN and _take_probe(state)):
            return name
    return names[0]


def circuits() -> list[CircuitState]:
    """Every configured provider's circuit, for the support desk."""
    now = time.time()
    return [circuit(name, now=now) for name in configured()]
