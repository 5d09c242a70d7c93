"""Keys: who gets in (401 for a wrong, unknown, expired or revoked key; 403 without the
scope), the rotation overlap, the per-client rate limit and the call log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import checks
from django.test import Client

from hostapi.models import ApiCall, ApiKey, Scope
from hostapi.services import api_client_revoke, api_client_rotate_key
from tests.helpers import in_a_fresh_window

pytestmark = pytest.mark.django_db

UNKNOWN = "/accounts/by-reference/user-1"


def assert_unauthorized(response) -> None:
    assert response.status_code == 401
    assert response["content-type"].startswith("application/json")
    assert response.json()["code"] == "unauthorized"
    assert response["www-authenticate"].startswith("Bearer")


def test_no_key_or_a_wrong_key_is_401(platform):
    http = Client()
    assert_unauthorized(http.get(f"/api/v1{UNKNOWN}"))
    assert_unauthorized(http.get(f"/api/v1{UNKNOWN}", headers={"authorization": "Basic abc"}))
    # The right prefix with a wrong secret, a made-up key, and a key cut short.
    prefix = "_".join(platform.key.split("_")[:2])
    for key in (f"{prefix}_wrong", "rn_00000000_" + "x" * 43, platform.key[:-1], "rn_"):
        response = http.get(f"/api/v1{UNKNOWN}", headers={"authorization": f"Bearer {key}"})
        assert_unauthorized(response)
    # A known key answers (404: no such linked account), so the 401s were about the key.
    assert platform.get(UNKNOWN).status_code == 404


def test_a_revoked_client_is_401(platform):
    assert platform.get(UNKNOWN).status_code == 404
    api_client_revoke(client=platform.client)
    assert_unauthorized(platform.get(UNKNOWN))


def test_rotation_overlap_old_key_works_until_it_ends(platform):
    old_key = platform.key
    issued = api_client_rotate_key(client=platform.client, overlap=timedelta(hours=1))
    # During the overlap both keys work.
    assert platform.get(UNKNOWN).status_code == 404
    platform.key = issued.key
    assert platform.get(UNKNOWN).status_code == 404

    # The overlap ends (its end moved to the past, as time would): the old key is refused,
    # the new one still works.
    old = ApiKey.objects.get(client=platform.client, expires_at__isnull=False)
    assert old.expires_at is not None
    old.expires_at = old.expires_at - timedelta(hours=2)
    old.save(update_fields=["expires_at"])
    platform.key = old_key
    assert_unauthorized(platform.get(UNKNOWN))
    platform.key = issued.key
    assert platform.get(UNKNOWN).status_code == 404


def test_rotation_without_overlap_ends_the_old_key_now(platform):
    old_key = platform.key
    issued = api_client_rotate_key(client=platform.client, overlap=timedelta(0))
    assert_unauthorized(platform.get(UNKNOWN))
    platform.key = issued.key
    assert platform.get(UNKNOWN).status_code == 404
    assert old_key != issued.key


def test_keys_are_stored_as_hashes_only(platform):
    key = ApiKey.objects.get(client=platform.client)
    assert platform.key.startswith(key.prefix + "_")
    stored = [str(value) for value in ApiKey.objects.values_list().get()]
    assert not any(
        platform.key in value or platform.key.split("_")[-1] in value for value in stored
    )


def test_scopes(make_platform):
    reader = make_platform(name="Billing", scopes=[Scope.READ_STATUS])
    response = reader.create_session()
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"
    assert reader.get(UNKNOWN).status_code == 404

    sessions_only = make_platform(name="Sign-up service", scopes=[Scope.CREATE_SESSIONS])
    assert sessions_only.create_session().status_code == 201
    response = sessions_only.get(UNKNOWN)
    assert response.status_code == 403
    assert "status:read" in response.json()["detail"]


def test_rate_limit_per_client_429_with_retry_after(make_platform, settings):
    settings.HOSTAPI_RATE_LIMIT = "3/h"
    in_a_fresh_window(3600)
    busy, other = make_platform(name="Busy"), make_platform(name="Other")
    assert [busy.get(UNKNOWN).status_code for _ in range(3)] == [404, 404, 404]
    response = busy.get(UNKNOWN)
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 0 < int(response["retry-after"]) <= 3600
    # Another client has its own count.
    assert other.get(UNKNOWN).status_code == 404
    # The refused call is in the call log too.
    assert list(
        ApiCall.objects.filter(client=busy.client)
        .order_by("at", "pk")
        .values_list("status_code", flat=True)
    ) == [404, 404, 404, 429]


def test_every_call_is_recorded_without_what_it_was_about(platform, make_platform):
    platform.create_session(reference="secret-ref-42")
    platform.get("/accounts/by-reference/secret-ref-42")
    platform.get("/sessions/00000000-0000-0000-0000-000000000000")
    Client().get(f"/api/v1{UNKNOWN}")  # no valid key: no client to record it against
    reader = make_platform(name="Billing", scopes=[Scope.READ_STATUS])
    reader.create_session()

    rows = list(
        ApiCall.objects.order_by("at", "pk").values_list(
            "client__name", "operation", "method", "status_code"
        )
    )
    assert rows == [
        ("Game server", "session_create", "POST", 201),
        ("Game server", "account_status_by_reference", "GET", 404),
        ("Game server", "session_read", "GET", 404),
        ("Billing", "session_create", "POST", 403),
    ]
    # Nothing of the request's values: the reference appears in no column.
    for row in ApiCall.objects.values_list():
        assert not any("secret-ref-42" in str(value) for value in row)


def test_a_key_whose_secret_contains_underscores_works(make_platform, monkeypatch):
    """The secret is URL-safe base64, in which '_' is a letter: the prefix ends at the first
    '_' after ``rn_``, not the last."""
    monkeypatch.setattr("hostapi.services.secrets.token_urlsafe", lambda n: "ab_cd_" + "e" * 37)
    platform = make_platform()
    assert platform.key.count("_") == 4
    assert platform.get(UNKNOWN).status_code == 404


def test_a_rate_that_cannot_be_read_is_a_system_check_error(settings):
    settings.HOSTAPI_RATE_LIMIT = "lots"
    settings.HOSTAPI_SESSION_LIFETIME = 10
    ids = {message.id for message in checks.run_checks()}
    assert {"hostapi.E001", "hostapi.E002"} <= ids
