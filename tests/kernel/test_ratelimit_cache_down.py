"""Rate limits while Redis is down: they keep counting, in this process's memory (never off, never
an error), the outage is logged once, and Redis is used again as soon as it answers."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.test import RequestFactory

from devstack.embedded import EmbeddedRedis
from kernel import ratelimit

REFUSING = "redis://127.0.0.1:9/0"  # the discard port: nothing listens, connections refused


def cache_at(settings, location: str, *, retry_after: float) -> None:
    default = settings.CACHES["default"]
    settings.CACHES = {
        "default": {
            **default,
            "LOCATION": location,
            "OPTIONS": {**default.get("OPTIONS", {}), "RETRY_AFTER": retry_after},
        }
    }


@pytest.fixture
def private_redis() -> Iterator[EmbeddedRedis]:
    work_dir = Path(tempfile.mkdtemp(prefix="realname-cache-down-"))
    server = EmbeddedRedis(work_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(work_dir, ignore_errors=True)


def test_limits_keep_counting_while_redis_is_down(settings, caplog):
    cache_at(settings, REFUSING, retry_after=60)
    settings.REALNAME_RATE_LIMITS = {"verification_submit": "3/m/ip"}
    request = RequestFactory().post("/verification/personal/", REMOTE_ADDR="198.51.100.7")
    request.user = AnonymousUser()
    other = RequestFactory().post("/verification/personal/", REMOTE_ADDR="198.51.100.8")
    other.user = AnonymousUser()

    with caplog.at_level(logging.WARNING, logger="kernel.cache"):
        allowed = [ratelimit.consume(request, "verification_submit") for _ in range(5)]
        other_allowed = ratelimit.consume(other, "verification_submit")

    assert allowed == [True, True, True, False, False]
    assert other_allowed is True  # per address, as with Redis
    assert caplog.text.count("cache unavailable (ConnectionError)") == 1


def test_the_cache_goes_back_to_redis_when_it_answers(settings, private_redis, caplog):
    cache_at(settings, private_redis.url, retry_after=0)
    private_redis.stop()

    with caplog.at_level(logging.WARNING, logger="kernel.cache"):
        cache.set("realname:test:during", "kept here", 60)
        assert cache.get("realname:test:during") == "kept here"  # from this process's memory
        private_redis.start()
        cache.set("realname:test:after", "in redis", 60)

    server = redis.Redis.from_url(private_redis.url)
    try:
        assert server.exists(cache.make_key("realname:test:after")) == 1
        assert server.exists(cache.make_key("realname:test:during")) == 0
    finally:
        server.close()
    assert "cache unavailable" in caplog.text
    assert "cache available again: back to Redis" in caplog.text
