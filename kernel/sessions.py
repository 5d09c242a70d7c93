"""Sessions: Django's cached database sessions (``SESSION_ENGINE = "kernel.sessions"``). Every
signed-in request reads its session; from the shared cache that is one Redis round trip
instead of a PostgreSQL query, and the database stays the record, so sessions survive a Redis
restart or outage (``kernel.cache.FailoverRedisCache``).

A session lives in the cache for at most ``SESSION_CACHE_SECONDS`` (then it is read from the
database again): while Redis is down, a change (a log-out, a new log-in) reaches the database
and this process's memory only, and the copy Redis still holds must not outlive the outage by
long."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDatabaseStore
from django.core.cache import caches

SESSION_CACHE_SECONDS = 300


class _BoundedCache:
    """The session cache, with every entry's life capped."""

    def __init__(self, cache: Any, seconds: int) -> None:
        self.cache = cache
        self.seconds = seconds

    def _capped(self, timeout: int | None) -> int:
        return self.seconds if timeout is None else max(0, min(timeout, self.seconds))

    def set(self, key: str, value: Any, timeout: int | None = None, **kwargs: Any) -> Any:
        return self.cache.set(key, value, self._capped(timeout), **kwargs)

    async def aset(self, key: str, value: Any, timeout: int | None = None, **kwargs: Any) -> Any:
        return await self.cache.aset(key, value, self._capped(timeout), **kwargs)

    def __contains__(self, key: str) -> bool:
        return key in self.cache

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cache, name)


class SessionStore(CachedDatabaseStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._cache: Any = _BoundedCache(
            caches[settings.SESSION_CACHE_ALIAS], SESSION_CACHE_SECONDS
        )
