"""Browse, but not buy: the gate sends people step by step, then back where they were."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.http import urlencode

pytestmark = pytest.mark.django_db

RECHARGE = "/recharge/"


@pytest.mark.parametrize("path", ["/", "/verification/", "/legal/privacy-policy/"])
def test_anyone_may_browse(client, path):
    assert client.get(path).status_code == 200


def test_anonymous_is_sent_to_log_in_and_back(client):
    response = client.get(RECHARGE)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={RECHARGE}"


def test_then_to_the_service_description_then_to_verification(client, member, monkeypatch):
    response = client.get(RECHARGE)
    consent_url = f"{reverse('accounts:consent')}?{urlencode({'next': RECHARGE})}"
    assert response["Location"] == consent_url

    page = client.get(consent_url)
    assert 'name="consent_realname-service"' in page.content.decode()
    response = client.post(consent_url, {"consent_realname-service": "on", "next": RECHARGE})
    assert response["Location"] == RECHARGE  # back where they were

    response = client.get(RECHARGE)
    assert (
        response["Location"]
        == f"{reverse('verification:overview')}?{urlencode({'next': RECHARGE})}"
    )

    monkeypatch.setattr("accounts.decorators.identity_verified", lambda *, user: True)
    response = client.get(RECHARGE, headers={"accept-language": "en"})
    assert response.status_code == 200
    assert "No payment is taken" in response.content.decode()


def test_consent_page_never_redirects_off_site(client, member):
    response = client.post(
        reverse("accounts:consent"),
        {"consent_realname-service": "on", "next": "https://evil.example/"},
    )

    assert response["Location"] == reverse("accounts:profile")


def test_guarded_post_is_refused_too(client):
    response = client.post(RECHARGE, {"amount": "100"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
