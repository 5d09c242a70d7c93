"""The platform manages its endpoints over the API (scope ``webhooks:manage``): wrong, revoked
and under-scoped keys are refused; a secret is shown once; a client sees its own endpoints."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from hostapi.models import ApiClient, Scope
from hostapi.services import api_client_create, api_client_revoke
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db
BASE = "/api/v1/webhooks/endpoints"


def call(method: str, path: str, key: str, body: dict | None = None):
    client = Client(headers={"authorization": f"Bearer {key}", "accept-language": "en"})
    if method in ("get", "delete"):
        return getattr(client, method)(path)
    return client.post(path, data=json.dumps(body or {}), content_type="application/json")


def issued(name: str, scopes: list[str]) -> tuple[ApiClient, str]:
    """A client and its key."""
    client, first = api_client_create(name=name, scopes=scopes)
    return client, first.key


@pytest.fixture
def key() -> str:
    return issued("billing", [Scope.MANAGE_WEBHOOKS])[1]


def test_create_list_rotate_delete(key):
    created = call("post", BASE, key, {"url": "https://platform.example/hooks"})
    assert created.status_code == 201
    endpoint = created.json()
    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["enabled"] is True

    listed = call("get", BASE, key).json()
    assert [e["id"] for e in listed] == [endpoint["id"]]
    assert "secret" not in listed[0]  # shown once, at creation
    stored = WebhookEndpoint.objects.get(public_id=endpoint["id"])
    assert stored.secret == endpoint["secret"]

    rotated = call("post", f"{BASE}/{endpoint['id']}/rotate-secret", key, {"overlap_seconds": 60})
    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in (endpoint["secret"], "")
    assert rotated.json()["previous_secret_expires_at"] is not None
    assert call("get", BASE, key).json()[0]["previous_secret_expires_at"] is not None

    assert call("delete", f"{BASE}/{endpoint['id']}", key).status_code == 204
    assert call("get", BASE, key).json() == []


def test_the_secret_is_stored_encrypted(key):
    secret = call("post", BASE, key, {"url": "https://platform.example/hooks"}).json()["secret"]

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_webhookendpoint")
        (stored,) = cursor.fetchone()
    assert secret not in stored


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://platform.example/hooks", "must use https://"),
        ("ftp://platform.example/hooks", "Enter a full URL"),
        ("not a url", "Enter a full URL"),
        ("https://user:pw@platform.example/hooks", "Leave user names and passwords out"),
    ],
)
def test_a_bad_url_is_refused_next_to_the_field_and_nothing_is_made(key, url, message):
    response = call("post", BASE, key, {"url": url})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_endpoint"
    assert [error["loc"][-1] for error in body["errors"]] == ["url"]
    assert message in body["errors"][0]["msg"]
    assert not WebhookEndpoint.objects.exists()


def test_http_on_localhost_only_where_allowed(key, settings):
    assert call("post", BASE, key, {"url": "http://127.0.0.1:9/h"}).status_code == 201
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = False
    assert call("post", BASE, key, {"url": "http://127.0.0.1:9/h"}).status_code == 400


def test_wrong_revoked_and_missing_keys_are_refused(key):
    client, revoked = issued("gone", [Scope.MANAGE_WEBHOOKS])
    api_client_revoke(client=client)

    assert call("get", BASE, key + "x").status_code == 401
    assert call("get", BASE, "rn_nothing_here").status_code == 401
    assert call("get", BASE, revoked).status_code == 401
    assert Client().get(BASE).status_code == 401


def test_a_key_without_the_scope_is_forbidden():
    key = issued("status only", [Scope.READ_STATUS])[1]

    response = call("post", BASE, key, {"url": "https://platform.example/hooks"})

    assert response.status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_a_client_cannot_see_or_touch_another_clients_endpoints(key):
    other = issued("publishing", [Scope.MANAGE_WEBHOOKS])[1]
    theirs = call("post", BASE, other, {"url": "https://other.example/hooks"}).json()

    assert call("get", BASE, key).json() == []
    assert call("delete", f"{BASE}/{theirs['id']}", key).status_code == 404
    assert call("post", f"{BASE}/{theirs['id']}/rotate-secret", key).status_code == 404
    assert WebhookEndpoint.objects.get(public_id=theirs["id"]).secret == theirs["secret"]
