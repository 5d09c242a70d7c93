"""Every database connection is cut (pg_terminate_backend, as a failover or a restart does):
web requests and worker tasks carry on without anyone restarting anything."""

from __future__ import annotations

import httpx
import pytest
from django.db import connection

from tests.factories import MemberFactory
from tests.helpers import submit_demo, wait_for
from verification.models import PersonalVerification

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def terminate_every_other_connection() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def test_requests_and_tasks_recover_after_the_connections_are_cut(worker, live_server, settings):
    # Persistent connections, as in production (the test settings close them per request):
    # the web thread keeps one open between requests, so it is one that gets cut.
    database = settings.DATABASES["default"]
    original_max_age = database["CONN_MAX_AGE"]
    database["CONN_MAX_AGE"] = 60
    pages = httpx.Client(base_url=live_server.url, timeout=30)
    try:
        assert pages.get("/healthz").json()["checks"]["database"]["ok"]
        wait_for(
            submit_demo(MemberFactory.create()),
            lambda v: v.status == PersonalVerification.Status.IN_PROGRESS,
        )

        assert terminate_every_other_connection() >= 1

        assert pages.get("/healthz").json()["checks"]["database"]["ok"]
        verification = submit_demo(MemberFactory.create())
        wait_for(verification, lambda v: v.status == PersonalVerification.Status.IN_PROGRESS)
    finally:
        database["CONN_MAX_AGE"] = original_max_age
        # Cut the persistent connection once more and let one request replace it with a
        # per-request one, so no connection outlives the test.
        terminate_every_other_connection()
        pages.get("/healthz")
