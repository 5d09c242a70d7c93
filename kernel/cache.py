"""The shared cache, and what happens when it is down.

Rate limits (ours and allauth's), used TOTP codes, circuit breakers and vendors' idempotent
answers live in the Redis cache, so that every process counts together. When Redis stops
answering, :class:`FailoverRedisCache` carries on in this process's own memory (Django's
local-memory cache) instead of failing the request: limits keep holding, per process rather than
for the whole site, so an outage loosens them by at most the number of web processes and never
opens them. It logs one warning when it falls back and one line when Redis answers again, and
tries Redis again every few seconds in between (``OPTIONS["RETRY_AFTER"]``, seconds), so a Redis
that hangs costs one request a time-out now and then, not every request."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# Unreachable, refusing, hanging, restarting (BusyLoadingError is a ConnectionError), full
# (maxmemory with noeviction) or a replica after a failover: unavailable for now. Anything else
# (a wrong command, a value that cannot be read) is a bug and is raised.
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OutOfMemoryError, ReadOnlyError, OSError)
DEFAULT_RETRY_AFTER = 5.0


@dataclass
class _Outage:
    """Per process and per Redis location: every thread's cache object shares it (Django makes
    one cache object per thread)."""

    down_until: float = 0.0
    down: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage_for(location: str) -> _Outage:
    with _outages_lock:
        return _outages.setdefault(location, _Outage())


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client builds a new ``redis.Redis`` object around its connection
    pool for every cache call; that object is thread-safe and costs about as much to build as
    the round trip it makes, on every session read and rate-limit count. One per pool."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients.setdefault(
                id(pool),
                self._client(connection_pool=pool),  # type: ignore[attr-defined]
            )
        return client


class FailoverRedisCache(RedisCache):
    """Django's Redis cache that falls back to local memory while Redis is unavailable."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        self.retry_after = float(options.pop("RETRY_AFTER", DEFAULT_RETRY_AFTER))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = ReusedClientRedisCacheClient
        location = server if isinstance(server, str) else ",".join(server)
        self._outage = _outage_for(location)
        self.fallback = LocMemCache(
            f"realname-fallback:{location}",
            {
                key: params[key]
                for key in ("TIMEOUT", "KEY_PREFIX", "VERSION", "KEY_FUNCTION")
                if key in params
            }
            | {"OPTIONS": {"MAX_ENTRIES": 100_000}},
        )

    @property
    def unavailable(self) -> bool:
        """True while this process is using its local memory instead of Redis."""
        return self._outage.down

    def _either(self, method: str, *args: Any, **kwargs: Any) -> Any:
        outage = self._outage
        if time.monotonic() >= outage.down_until:
            try:
                result = getattr(RedisCache, method)(self, *args, **kwargs)
            except UNAVAILABLE as exc:
                with outage.lock:
                    outage.down_until = time.monotonic() + self.retry_after
                    first = not outage.down
                    outage.down = True
                if first:
                    logger.warning(
                        "cache unavailable (%s): rate limits and cached answers are kept in "
                        "this process's memory until Redis answers again",
                        type(exc).__name__,
                    )
            else:
                if outage.down:
                    with outage.lock:
                        recovered, outage.down = outage.down, False
                    if recovered:
                        logger.warning("cache available again: back to Redis")
                return result
        return getattr(self.fallback, method)(*args, **kwargs)

    def add(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("add", *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("get", *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("set", *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("touch", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("delete", *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("get_many", *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("has_key", *args, **kwargs)

    def incr(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("incr", *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("set_many", *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("delete_many", *args, **kwargs)

    def clear(self) -> Any:
        return self._either("clear")
