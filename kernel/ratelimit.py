"""Request rate limits for our own endpoints (allauth limits its own: SMS codes, log-ins).

Limits are read from ``REALNAME_RATE_LIMITS`` in allauth's notation, e.g. ``"10/10m/user,60/10m/ip"``:
at most 10 per user and 60 per network address in any fixed 10-minute window. Counters live in
the shared cache, so every web process counts together; while Redis is down they live in each
process's memory (kernel.cache.FailoverRedisCache): looser by the number of processes, never off."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.core.exceptions import RateLimited
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from .app_settings import app_settings
from .request import client_ip

DEFAULT_RATE_LIMITS = {
    # Form submissions that start a verification (valid or not): generous for a person
    # correcting typos, a wall for a script trying numbers.
    "verification_submit": "10/10m/user,60/10m/ip",
    # The provider's callbacks come from its few addresses; a flood from anywhere is refused.
    "provider_notify": "600/m/ip",
}
_RULE = re.compile(r"^(\d+)/(\d*)([smhd])/(user|ip)$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _rules(action: str) -> list[tuple[int, int, str]]:
    configured = {**DEFAULT_RATE_LIMITS, **app_settings.RATE_LIMITS}
    rules = []
    for rule in filter(None, (configured.get(action) or "").split(",")):
        match = _RULE.match(rule.strip())
        if not match:
            raise ValueError(f"REALNAME_RATE_LIMITS[{action!r}]: cannot read {rule!r}")
        amount, count, unit, kind = match.groups()
        rules.append((int(amount), int(count or 1) * _SECONDS[unit], kind))
    return rules


def consume(request: HttpRequest, action: str) -> bool:
    """Count one request; False when any limit for ``action`` is already used up."""
    allowed = True
    now = int(time.time())
    for amount, period, kind in _rules(action):
        if kind == "user":
            if not request.user.is_authenticated:
                continue
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{client_ip(request) or 'unknown'}"
        key = f"realname:rl:{action}:{ident}:{period}:{now // period}"
        cache.add(key, 0, timeout=period + 1)
        try:
            used = cache.incr(key)
        except ValueError:  # expired between add and incr: a new window
            cache.add(key, 1, timeout=period + 1)
            used = 1
        allowed = allowed and used <= amount
    return allowed


def rate_limit(action: str, *, methods: tuple[str, ...] = ("POST",)) -> Callable:
    """View decorator: over the limit, the 429 page (accounts.middleware) instead of the view."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method in methods and not consume(request, action):
                raise RateLimited
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


_RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")


def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/m"`` → (600, 60); ``"100/10s"`` → (100, 10). ValueError when unreadable."""
    match = _RATE.match(rate.strip())
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"cannot read the rate {rate!r} (expected e.g. '600/m' or '100/10s')")
    amount, count, unit = match.groups()
    return int(amount), int(count or 1) * _SECONDS[unit]


def consume_for(action: str, ident: str, rate: str) -> int:
    """Count one request of ``ident`` (an API client, say) against ``rate`` in a fixed window;
    0 when allowed, else the seconds until the window ends (for Retry-After)."""
    amount, period = parse_rate(rate)
    now = time.time()
    window = int(now) // period
    key = f"realname:rl:{action}:{ident}:{period}:{window}"
    cache.add(key, 0, timeout=period + 1)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr: a new window
        cache.add(key, 1, timeout=period + 1)
        used = 1
    if used <= amount:
        return 0
    return max(1, int((window + 1) * period - now + 0.999))
