"""An API client may have ``WEBHOOKS_MAX_ENDPOINTS_PER_CLIENT`` endpoints: one more is a 409
problem answer, and nothing is made; concurrent creations are counted one after the other (the
client's row is locked), so the cap holds under races. And the system checks of the settings
that open private networks."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from hostapi.models import ApiClient, Scope
from hostapi.services import api_client_create
from webhooks import checks, services
from webhooks.models import WebhookEndpoint

from .test_api import BASE, call


def _client(name: str = "platform") -> tuple[ApiClient, str]:
    client, issued = api_client_create(name=name, scopes=[Scope.MANAGE_WEBHOOKS])
    return client, issued.key


@pytest.mark.django_db
def test_one_endpoint_more_than_the_cap_is_refused(settings):
    settings.WEBHOOKS_MAX_ENDPOINTS_PER_CLIENT = 2
    client, key = _client()
    made = [call("post", BASE, key, {"url": f"https://platform.example/h{n}"}) for n in (1, 2)]
    assert [response.status_code for response in made] == [201, 201]

    refused = call("post", BASE, key, {"url": "https://platform.example/h3"})

    assert refused.status_code == 409
    assert refused.json()["code"] == "endpoint_limit_reached"
    assert "2 webhook endpoints" in refused.json()["detail"]
    assert WebhookEndpoint.objects.filter(client=client).count() == 2
    # Another client has its own count; deleting one makes room again.
    other_key = _client("publisher")[1]
    assert call("post", BASE, other_key, {"url": "https://other.example/h"}).status_code == 201
    assert call("delete", f"{BASE}/{made[0].json()['id']}", key).status_code == 204
    assert call("post", BASE, key, {"url": "https://platform.example/h3"}).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_the_cap_holds_when_two_creations_race(settings):
    """The first creation has counted and inserted but not committed; the second must wait for
    it (and then count it), not count what was committed before."""
    settings.WEBHOOKS_MAX_ENDPOINTS_PER_CLIENT = 1
    client, _key = _client()
    first_made, first_may_commit = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                services.endpoint_create(client=client, url="https://platform.example/a")
                first_made.set()
                first_may_commit.wait(timeout=60)
            outcomes["first"] = "created"
        finally:
            connection.close()

    def second() -> None:
        try:
            services.endpoint_create(client=client, url="https://platform.example/b")
            outcomes["second"] = "created"
        except services.EndpointLimitReached:
            outcomes["second"] = "refused"
        finally:
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert first_made.wait(timeout=60)
    two = threading.Thread(target=second)
    two.start()
    _wait_until_a_session_waits_for_a_lock()
    first_may_commit.set()
    one.join(timeout=60)
    two.join(timeout=60)

    assert outcomes == {"first": "created", "second": "refused"}
    assert WebhookEndpoint.objects.filter(client=client).count() == 1


def _wait_until_a_session_waits_for_a_lock() -> None:
    """Until another session of this database is blocked on a lock (the second creation, on
    the client's row)."""
    for _ in range(600):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        threading.Event().wait(0.05)
    raise AssertionError("the second creation never waited for the first")


def test_malformed_allowed_networks_are_an_error(settings):
    settings.WEBHOOKS_ALLOWED_NETWORKS = ["10.0.0.0/8", "ten dot zero"]

    [error] = checks.allowed_networks_are_networks()

    assert error.id == "webhooks.E001"
    assert "ten dot zero" in error.msg


def test_allowed_networks_outside_debug_are_warned_of(settings):
    settings.DEBUG = False
    settings.WEBHOOKS_ALLOWED_NETWORKS = []
    assert checks.private_networks_in_production() == []
    assert checks.allowed_networks_are_networks() == []

    settings.WEBHOOKS_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    [warning] = checks.private_networks_in_production()
    assert warning.id == "webhooks.W002"
    assert "10.20.0.0/16" in warning.msg

    settings.DEBUG = True
    assert checks.private_networks_in_production() == []
