"""The URLs we give a vendor are ours: built from ``REALNAME_PUBLIC_URL``, never from the
request's Host header, which the person chooses (another port of an allowed host passes
``ALLOWED_HOSTS``). Production refuses to start without it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone

from kernel.public import public_url
from tests.factories import MemberFactory, PersonalVerificationFactory
from tests.realname.test_settings import manage, production_env
from verification.models import PersonalVerification

PUBLIC = "https://realname.example.com"


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["127.0.0.1:9999", "localhost:8443", "testserver"])
def test_the_face_step_gives_the_vendor_urls_on_the_public_address_whatever_the_host(
    client, settings, host
):
    settings.REALNAME_PUBLIC_URL = PUBLIC + "/"
    verification = PersonalVerificationFactory.create(
        user=MemberFactory.create(face=True),
        provider="sandbox",
        status=PersonalVerification.Status.IN_PROGRESS,
        identity_checked_at=timezone.now(),
    )
    client.force_login(verification.user)

    response = client.post(
        reverse("verification:personal_face", args=[verification.public_id]), headers={"host": host}
    )

    assert response.status_code == 302
    verification.refresh_from_db()
    assert verification.face_requested_at is not None
    assert verification.return_url == (
        f"{PUBLIC}/verification/personal/{verification.public_id}/return/"
    )
    assert verification.notify_url == f"{PUBLIC}/verification/provider/sandbox/notify/"


@pytest.mark.parametrize(
    "value",
    ["", "realname.example.com", "ftp://realname.example.com", f"{PUBLIC}/app", f"{PUBLIC}?a=1"],
)
def test_a_missing_or_malformed_public_url_is_refused(settings, value):
    settings.REALNAME_PUBLIC_URL = value

    with pytest.raises(ImproperlyConfigured, match="PUBLIC_URL"):
        public_url("/verification/provider/notify/")


def test_production_refuses_to_start_without_a_public_url():
    env = production_env()
    del env["PUBLIC_URL"]

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "Set the PUBLIC_URL environment variable" in result.stderr


def test_production_refuses_a_public_url_that_is_not_an_address():
    result = manage("check", env=production_env(PUBLIC_URL="realname.example.com"))

    assert result.returncode != 0
    assert "PUBLIC_URL must be an absolute http(s) URL" in result.stderr
