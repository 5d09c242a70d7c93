"""The home page: what a visitor sees, in their language, with the security headers on."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_home_defaults_to_simplified_chinese(client):
    response = client.get("/")

    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    content = response.content.decode()
    assert '<html lang="zh-hans">' in content
    assert "实名认证" in content


def test_home_follows_the_browsers_accept_language(client):
    response = client.get("/", headers={"accept-language": "en-US,en;q=0.9"})

    assert response["Content-Language"] == "en"
    assert "Verify your identity once, then pay, publish and recharge" in response.content.decode()


def test_home_links_to_sign_up_log_in_and_verification(client):
    content = client.get("/").content.decode()

    for name in ("account_signup", "account_login", "verification:overview"):
        assert f'href="{reverse(name)}"' in content


def test_language_switcher_changes_the_language(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"}, follow=True)

    assert response.redirect_chain[-1][0] == "/"
    assert response["Content-Language"] == "en"
    assert "Sign up" in response.content.decode()


def test_pages_carry_security_headers(client):
    response = client.get("/")

    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_verification_overview_lists_what_to_prepare(client):
    response = client.get(reverse("verification:overview"), headers={"accept-language": "en"})

    content = response.content.decode()
    assert "Personal verification" in content
    assert "unified social credit code" in content
