"""The provider's callback (POST /verification/provider/notify/) is an open door on the
internet: only a correctly signed, fresh, first-time notification about a session we know gets
through. Every refusal is logged with its reason and without the body."""

from __future__ import annotations

import json
import logging
import time

import pytest

from sandbox import signing
from tests.factories import MemberFactory, details
from tests.helpers import in_a_fresh_window
from verification import services
from verification.models import PersonalVerification
from verification.providers import get_provider

pytestmark = pytest.mark.django_db
URL = "/verification/provider/notify/"
SECRET = "callback-test-secret-0123456789"
APP_ID = "realname-test"


@pytest.fixture(autouse=True)
def provider_credentials(settings):
    settings.VERIFICATION_PROVIDERS = ["sandbox"]
    settings.SANDBOX_PROVIDER_SECRET = SECRET
    settings.SANDBOX_PROVIDER_APP_ID = APP_ID


@pytest.fixture
def waiting() -> PersonalVerification:
    """A verification whose face session ``sess-1`` is open at the provider."""
    verification = services.verification_submit(user=MemberFactory.create(), **details())
    PersonalVerification.objects.filter(pk=verification.pk).update(
        status=PersonalVerification.Status.IN_PROGRESS,
        identity_checked_at=verification.created_at,
        liveness_ref="sess-1",
        liveness_url="https://provider.example/face/sess-1",
    )
    verification.refresh_from_db()
    return verification


def notify(
    client,
    ref: str = "sess-1",
    *,
    secret: str = SECRET,
    now: float | None = None,
    nonce: str | None = None,
    body: bytes | None = None,
):
    body = body if body is not None else json.dumps({"ref": ref, "name": "张三"}).encode()
    headers = signing.signed_headers(
        secret=secret,
        app_id=APP_ID,
        method="POST",
        path=signing.NOTIFY_PATH,
        body=body,
        now=now,
        nonce=nonce,
    )
    return client.post(
        URL, body, content_type="application/json", headers={k: v for k, v in headers.items()}
    )


def test_a_genuine_notification_asks_a_worker_for_the_result(
    client, waiting, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        response = notify(client)

    assert response.status_code == 200
    assert len(queued) == 1


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda client: notify(client, secret="not-the-secret"), "bad_signature"),
        (lambda client: notify(client, now=time.time() - 3600), "stale_timestamp"),
        (
            lambda client: client.post(URL, b'{"ref": "sess-1"}', content_type="application/json"),
            "unknown_app",
        ),
    ],
    ids=["wrong-secret", "stale", "unsigned"],
)
def test_forged_or_stale_notifications_are_refused_and_logged(
    client, waiting, caplog, django_capture_on_commit_callbacks, make, reason
):
    with (
        caplog.at_level(logging.WARNING, logger="verification.views"),
        django_capture_on_commit_callbacks() as queued,
    ):
        response = make(client)

    assert response.status_code == 400
    assert queued == []
    assert reason in caplog.text
    assert "张三" not in caplog.text and "sess-1" not in caplog.text


def test_a_replayed_notification_is_refused_by_every_process(client, waiting, caplog):
    nonce = signing.new_nonce()
    assert notify(client, nonce=nonce).status_code == 200
    get_provider.cache_clear()  # as if the replay reached another web process

    with caplog.at_level(logging.WARNING, logger="verification.views"):
        replay = notify(client, nonce=nonce)

    assert replay.status_code == 400
    assert "replayed_nonce" in caplog.text


def test_a_notification_about_an_unknown_session_is_refused_and_logged(client, waiting, caplog):
    with caplog.at_level(logging.WARNING, logger="verification.views"):
        response = notify(client, ref="sess-unknown")

    assert response.status_code == 404
    assert "unknown session" in caplog.text and "sess-unknown" not in caplog.text


def test_a_flood_of_callbacks_is_rate_limited(client, waiting, settings):
    settings.REALNAME_RATE_LIMITS = {"provider_notify": "3/m/ip"}
    in_a_fresh_window(60)

    statuses = [notify(client).status_code for _ in range(5)]

    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]


def test_get_callbacks_count_against_the_same_limit(client, settings):
    """Aliyun's callback is a GET: a flood of them is limited like POSTs, before any provider
    or database work."""
    settings.REALNAME_RATE_LIMITS = {"provider_notify": "3/m/ip"}
    in_a_fresh_window(60)

    statuses = [
        client.get("/verification/provider/sandbox/notify/", {"certifyId": "x"}).status_code
        for _ in range(5)
    ]

    assert statuses[:3] == [400, 400, 400]  # the sandbox sends no GET: refused, but counted
    assert statuses[3:] == [429, 429]
