"""One account can never see or change another's verification, licence or consent: every URL
with an object id is found from the URL configuration itself (a new one is covered without
editing this test) and tried as the owner, another account, anonymous and, for the desk, as
staff without the permission. Consent records have no URL of their own: each account sees its
own on its profile only."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import ConsentRecord
from enterprise.models import EnterpriseVerification
from tests.factories import (
    FailedPersonalFactory,
    MemberFactory,
    PendingEnterpriseFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db
EN = {"accept-language": "en"}


def object_urls(prefix: str) -> list[str]:
    """Every route under ``prefix`` that takes a verification's ``public_id``."""
    found: list[str] = []

    def walk(patterns, base: str) -> None:
        for pattern in patterns:
            route = base + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and "<uuid:public_id>" in route:
                found.append("/" + route)

    walk(get_resolver().url_patterns, "")
    return sorted(route for route in found if route.startswith(prefix))


PERSONAL = object_urls("/verification/personal/")
ENTERPRISE = object_urls("/verification/enterprise/")
DESK = object_urls("/admin/support/reviewqueue/")


def test_the_routes_under_test_are_the_ones_the_site_has():
    assert PERSONAL == [
        "/verification/personal/<uuid:public_id>/",
        "/verification/personal/<uuid:public_id>/face/",
        "/verification/personal/<uuid:public_id>/return/",
        "/verification/personal/<uuid:public_id>/status.json",
    ]
    assert ENTERPRISE == [
        "/verification/enterprise/<uuid:public_id>/",
        "/verification/enterprise/<uuid:public_id>/licence/",
        "/verification/enterprise/<uuid:public_id>/status.json",
    ]
    assert len(DESK) == 2


def fill(route: str, verification) -> str:
    kind = "enterprise" if isinstance(verification, EnterpriseVerification) else "personal"
    return route.replace("<uuid:public_id>", str(verification.public_id)).replace(
        "<str:kind>", kind
    )


def as_user(user) -> Client:
    client = Client(headers=EN)
    client.force_login(user)
    return client


@pytest.mark.parametrize("route", PERSONAL + ENTERPRISE)
def test_another_account_gets_not_found_and_changes_nothing(route):
    owner = MemberFactory.create(face=True)
    verification = (
        PendingEnterpriseFactory.create(user=owner)
        if "/enterprise/" in route
        else FailedPersonalFactory.create(user=owner)
    )
    intruder = as_user(MemberFactory.create(face=True))
    before = type(verification).objects.filter(pk=verification.pk).values().get()
    consents = ConsentRecord.objects.count()
    url = fill(route, verification)

    assert intruder.get(url).status_code in (404, 405)
    assert intruder.post(url, {"consent_face-rules": "on"}).status_code in (404, 405)
    assert type(verification).objects.filter(pk=verification.pk).values().get() == before
    assert ConsentRecord.objects.count() == consents
    assert as_user(owner).get(url).status_code in (200, 302, 405)


@pytest.mark.parametrize("route", PERSONAL + ENTERPRISE)
def test_anonymous_visitors_are_sent_to_log_in(route):
    verification = (
        PendingEnterpriseFactory.create()
        if "/enterprise/" in route
        else FailedPersonalFactory.create()
    )

    response = Client().get(fill(route, verification))

    assert response.status_code in (302, 403, 405)
    if response.status_code == 302:
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("route", DESK)
@pytest.mark.parametrize("who", ["member", "staff-without-group", "anonymous"])
def test_the_desk_refuses_everyone_without_the_permission(route, who, desk_client):
    verification = PendingEnterpriseFactory.create()
    url = fill(route, verification)
    if who == "anonymous":
        response = Client().get(url, follow=True)
        assert response.redirect_chain[-1][0].startswith("/accounts/login/")
        return
    user = MemberFactory.create() if who == "member" else StaffFactory.create(groups=[])
    client = desk_client(user)

    assert client.get(url).status_code == 403
    assert client.post(url, {"action": "approve"}).status_code == 403
    verification.refresh_from_db()
    assert verification.status == EnterpriseVerification.Status.PENDING_REVIEW
