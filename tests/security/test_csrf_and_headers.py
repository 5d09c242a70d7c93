"""CSRF on every form, the cookies' flags in production, and the security headers on pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import (
    FailedPersonalFactory,
    MemberFactory,
    PendingEnterpriseFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db
# The only view that takes a POST without our CSRF token: the provider's signed callback.
CSRF_EXEMPT = {"verification.views.provider_notify"}
# The host platform API (docs/api.md) authenticates every call by a bearer key only.
API = "api/v1/"


def all_views() -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []

    def walk(patterns, base: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, base + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                found.append((base + str(pattern.pattern), pattern.callback))

    walk(get_resolver().url_patterns, "")
    return found


def test_no_view_skips_the_csrf_check_except_the_signed_callback():
    exempt = {
        f"{view.__module__}.{view.__name__}"
        for route, view in all_views()
        if getattr(view, "csrf_exempt", False) and not route.startswith(API)
    }
    assert exempt == CSRF_EXEMPT


def test_the_api_takes_no_session_cookie_so_csrf_cannot_reach_it(member):
    """django-ninja's views are CSRF-exempt (it checks CSRF itself for cookie authentication,
    which we don't use): every operation wants its bearer key, which a forged cross-site
    request cannot carry, and a signed-in browser session counts for nothing."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)
    response = browser.post(
        f"/{API}sessions",
        data={"reference": "user-1", "return_url": "https://platform.example/"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def forms(user, staff) -> list[tuple[Any, str, dict]]:
    verification = FailedPersonalFactory.create(user=user)
    enterprise = PendingEnterpriseFactory.create()
    return [
        (None, "/accounts/signup/", {"phone": "13800138000"}),
        (None, "/accounts/login/", {"login": "13800138000"}),
        (None, "/i18n/setlang/", {"language": "en"}),
        (user, "/accounts/logout/", {}),
        (user, "/accounts/consent/", {"consent_realname-service": "on"}),
        (user, "/accounts/consent/face/", {"consent_face-rules": "on"}),
        (user, "/accounts/consent/face/withdraw/", {}),
        (user, "/verification/personal/", {"name": "张三"}),
        (user, f"/verification/personal/{verification.public_id}/face/", {}),
        (user, "/verification/enterprise/", {"company_name": "x"}),
        (
            staff,
            f"/admin/support/reviewqueue/enterprise/{enterprise.public_id}/",
            {"action": "approve"},
        ),
        (
            staff,
            "/admin/support/reviewqueue/",
            {"action": "approve_licences", "_selected_action": [str(enterprise.public_id)]},
        ),
    ]


def test_every_form_refuses_a_post_without_the_token(desk_client):

    user, staff = MemberFactory.create(face=True), StaffFactory.create()
    for who, url, data in forms(user, staff):
        if who is staff:
            client = desk_client(staff)
        else:
            client = Client()
            if who is not None:
                client.force_login(who)
        client.handler.enforce_csrf_checks = True
        assert client.post(url, data).status_code == 403, url


def test_pages_carry_the_security_headers(client):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "realname.settings.production",
    "SECRET_KEY": "x" * 60,
    "ALLOWED_HOSTS": "id.example.com",
    "DATABASE_URL": "postgres://u:p@127.0.0.1:5432/realname",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "FIELD_ENCRYPTION_KEYS": "k1:" + "A" * 43 + "=",
    "BLIND_INDEX_KEY": "y" * 50,
    "SMS_BACKEND": "accounts.sms.filebased.SmsBackend",
    "VERIFICATION_PROVIDERS": "sandbox",
    "VERIFICATION_ALLOW_SANDBOX": "true",
    "SANDBOX_PROVIDER_SECRET": "z" * 40,
    "PUBLIC_URL": "https://id.example.com",
    "TRUSTED_PROXY_COUNT": "1",
}


def test_production_cookies_and_transport_are_locked_down():
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ("
        "'SESSION_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'SESSION_COOKIE_SAMESITE', "
        "'CSRF_COOKIE_SECURE', 'CSRF_COOKIE_HTTPONLY', 'SECURE_SSL_REDIRECT', "
        "'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'DEBUG')}))"
    )
    env = {**os.environ, **PRODUCTION_ENV}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["SESSION_COOKIE_SECURE"] and values["SESSION_COOKIE_HTTPONLY"]
    assert values["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert values["CSRF_COOKIE_SECURE"]
    assert values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["DEBUG"] is False
