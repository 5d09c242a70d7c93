"""Sessions are read from the shared cache (Redis), kept in the database, and live in the
cache for a bounded time: a signed-in page costs no session query, a Redis without the copy
falls back to the database, and a stale copy left in Redis by an outage expires soon."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kernel.sessions import SESSION_CACHE_SECONDS, SessionStore
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_a_signed_in_page_reads_its_session_from_the_cache():
    client = Client()
    client.force_login(MemberFactory.create())
    client.get("/accounts/profile/")

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/accounts/profile/").status_code == 200

    assert not any("django_session" in query["sql"] for query in queries)


def test_the_database_answers_when_the_cache_lost_the_session():
    user = MemberFactory.create()
    client = Client()
    client.force_login(user)
    session_key = client.cookies["sessionid"].value
    cache.delete(SessionStore.cache_key_prefix + session_key)

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/accounts/profile/")

    assert response.status_code == 200  # still signed in
    assert any("django_session" in query["sql"] for query in queries)


def test_a_cached_session_expires_from_redis_within_the_bound():
    client = Client()
    client.force_login(MemberFactory.create())
    key = cache.make_and_validate_key(
        SessionStore.cache_key_prefix + client.cookies["sessionid"].value
    )

    ttl = cache._cache.get_client().ttl(key)  # type: ignore[attr-defined]

    assert 0 < ttl <= SESSION_CACHE_SECONDS
