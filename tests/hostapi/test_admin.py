"""API clients in the admin: only staff with ``hostapi.manage_api_clients``; the key is shown
once, on the answer to the form, and stored only as a hash; rotation with an overlap; revoking."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from hostapi.models import ApiClient, ApiKey
from hostapi.services import api_key_authenticate
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/hostapi/apiclient/add/"
KEY = re.compile(r'<code id="issued-key"[^>]*>(rn_[^<]+)</code>')


def issued_key(response) -> str:
    match = KEY.search(response.content.decode())
    assert match, "no key on the page"
    return match.group(1)


@pytest.fixture
def manager(desk_client):
    staff = StaffFactory.create()
    staff.user_permissions.add(Permission.objects.get(codename="manage_api_clients"))
    return desk_client(staff)


def create(manager, **overrides):
    return manager.post(
        ADD,
        {
            "name": "Game server",
            "scopes": ["status:read", "sessions:write"],
            "return_urls": "https://platform.example/realname/\nhttp://localhost:8080/back/",
            "keys-TOTAL_FORMS": "0",
            "keys-INITIAL_FORMS": "0",
            **overrides,
        },
    )


def test_staff_without_the_permission_cannot_see_api_clients(desk_client):
    staff = desk_client(StaffFactory.create())
    assert staff.get(ADD).status_code == 403
    assert staff.get("/admin/hostapi/apiclient/").status_code == 403
    assert b"/admin/hostapi/" not in staff.get("/admin/").content


def test_create_a_client_the_key_is_shown_once(manager, caplog):
    response = create(manager)
    assert response.status_code == 200
    assert "no-store" in response["cache-control"]
    key = issued_key(response)
    client = ApiClient.objects.get()
    assert client.scopes == ["status:read", "sessions:write"]
    assert client.return_urls == [
        "https://platform.example/realname/",
        "http://localhost:8080/back/",
    ]
    assert api_key_authenticate(key) == client
    # Stored as a hash, never in clear; not in the logs; the change page shows the prefix only.
    assert not any(key in str(v) for v in ApiKey.objects.values_list().get())
    assert key not in caplog.text
    page = manager.get(f"/admin/hostapi/apiclient/{client.pk}/change/").content.decode()
    assert key not in page
    assert ApiKey.objects.get().prefix in page
    assert key not in manager.get(f"/admin/hostapi/apiclient/{client.pk}/change/").content.decode()


def test_a_return_url_that_is_not_allowed_is_shown_next_to_the_field(manager):
    response = create(manager, return_urls="http://platform.example/realname/")
    assert response.status_code == 200
    assert b"must use https" in response.content
    assert not ApiClient.objects.exists()


def test_rotate_with_an_overlap_then_revoke(manager):
    first_key = issued_key(create(manager))
    client = ApiClient.objects.get()
    rotate = f"/admin/hostapi/apiclient/{client.pk}/rotate/"
    assert manager.get(rotate).status_code == 200
    response = manager.post(rotate, {"overlap": "86400"})
    new_key = issued_key(response)
    assert new_key != first_key
    old = ApiKey.objects.get(client=client, expires_at__isnull=False)
    assert old.expires_at is not None
    assert (
        timezone.now() + timedelta(hours=23) < old.expires_at <= timezone.now() + timedelta(days=1)
    )
    assert api_key_authenticate(first_key) == client
    assert api_key_authenticate(new_key) == client

    response = manager.post(f"/admin/hostapi/apiclient/{client.pk}/revoke/")
    assert response.status_code == 302
    assert api_key_authenticate(first_key) is None
    assert api_key_authenticate(new_key) is None
    client.refresh_from_db()
    assert client.revoked_at is not None
    # A revoked client's key is not rotated again.
    manager.post(rotate, {"overlap": "0"})
    assert ApiKey.objects.filter(client=client).count() == 2


def test_change_scopes_and_return_urls(manager):
    create(manager)
    client = ApiClient.objects.get()
    change = f"/admin/hostapi/apiclient/{client.pk}/change/"
    page = manager.get(change)
    assert (
        "https://platform.example/realname/\nhttp://localhost:8080/back/" in page.content.decode()
    )
    response = manager.post(
        change,
        {
            "name": "Game server",
            "scopes": ["status:read"],
            "return_urls": "https://platform.example/other/",
            "keys-TOTAL_FORMS": "1",
            "keys-INITIAL_FORMS": "1",
            "keys-0-id": str(ApiKey.objects.get().pk),
            "keys-0-client": str(client.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    client.refresh_from_db()
    assert client.scopes == ["status:read"]
    assert client.return_urls == ["https://platform.example/other/"]
