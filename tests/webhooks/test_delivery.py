"""Delivering one event, attempt by attempt, in this process with the clock moved by the test:
the signature as the docs' receiver checks it, retries after 5xx and time-outs, no retry after
other 4xx, one send per delivery whatever runs it twice, disabling after persistent failure,
secret rotation, redelivery by staff and the sweeper."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from celery import current_app
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.factories import MemberFactory, StaffFactory
from tests.helpers import submit_demo
from webhooks import services
from webhooks.app_settings import app_settings
from webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint

from .conftest import VerifiedEvent

pytestmark = pytest.mark.django_db
Status = Delivery.Status


def attempt(delivery: Delivery, *, at=None) -> Delivery:
    """One attempt at the delivery's due time (or ``at``), as the task makes it."""
    delivery.refresh_from_db()
    services.delivery_attempt(delivery_id=delivery.pk, now=at or delivery.next_attempt_at)
    delivery.refresh_from_db()
    return delivery


def test_the_receiver_verifies_the_signature_with_the_documented_code(
    delivery, platform, verified_event: VerifiedEvent
):
    attempt(delivery)

    received = platform.receiver.received[0]
    assert received.outcome == "handled"
    assert received.headers["realname-event-id"] == received.event["id"]
    assert received.headers["content-type"] == "application/json"
    assert platform.receiver.handled == [received.event]
    assert delivery.status == Status.DELIVERED
    # Any change of the body, or another secret, is refused.
    signature = received.headers["realname-signature"]
    assert (
        verified_event(platform.secret, received.body.replace(b"submitted", b"passed"), signature)
        is None
    )
    assert verified_event("whsec_other", received.body, signature) is None


def test_a_replayed_event_is_handled_once_and_a_stale_signature_is_refused(
    delivery, platform, verified_event: VerifiedEvent
):
    attempt(delivery)
    first = platform.receiver.received[0]

    # Someone sends the same request again (or realname retries an answered delivery).
    replay = httpx.post(platform.receiver.url, content=first.body, headers=first.headers)
    assert replay.status_code == 200
    assert platform.receiver.received[-1].outcome == "duplicate"
    assert len(platform.receiver.handled) == 1

    # The same request more than 300 s later: stale, refused.
    stamp = int(first.headers["realname-signature"].split(",")[0].removeprefix("t="))
    signature = first.headers["realname-signature"]
    assert verified_event(platform.secret, first.body, signature, now=stamp + 301) is None
    assert verified_event(platform.secret, first.body, signature, now=stamp - 301) is None
    assert verified_event(platform.secret, first.body, signature, now=stamp + 299) is not None


def test_5xx_and_time_outs_are_retried_with_backoff_then_delivered(delivery, platform):
    platform.receiver.script = [503, "hang", 500]

    statuses = [attempt(delivery).status for _ in range(4)]

    assert statuses == [Status.PENDING, Status.PENDING, Status.PENDING, Status.DELIVERED]
    log = list(delivery.log.order_by("at"))
    assert [(entry.status_code, entry.error, entry.will_retry) for entry in log] == [
        (503, "http_503", True),
        (None, "ReadTimeout", True),
        (500, "http_500", True),
        (200, "", False),
    ]
    assert [r.outcome for r in platform.receiver.received][-1] == "handled"
    assert delivery.attempts == 4
    # Exponential backoff: the n-th wait is between 2**(n-2) and 2**(n-1) times the base.
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(log)]
    assert 0 < gaps[0] <= gaps[1] <= gaps[2]


@pytest.mark.parametrize(
    ("status", "retried"), [(400, False), (401, False), (410, False), (408, True), (429, True)]
)
def test_4xx_fails_at_once_except_408_and_429(delivery, platform, status, retried):
    platform.receiver.script = [status]

    delivery = attempt(delivery)

    assert delivery.status == (Status.PENDING if retried else Status.FAILED)
    assert delivery.log.get().will_retry is retried


def test_a_delivered_webhook_is_never_sent_again_by_a_duplicate_task(delivery, platform):
    attempt(delivery)
    later = timezone.now() + timedelta(hours=1)

    for _ in range(3):
        assert services.delivery_attempt(delivery_id=delivery.pk, now=later) is None

    assert len(platform.receiver.received) == 1
    assert DeliveryAttempt.objects.count() == 1


def test_an_attempt_in_flight_keeps_its_delivery_to_itself(delivery, platform):
    """While an attempt waits for the receiver, its delivery is claimed: a duplicate task
    started then finds it not due and sends nothing."""
    due = delivery.next_attempt_at
    claimed = services._claim(delivery.pk, now=due)
    assert claimed is not None

    assert (
        services.delivery_attempt(delivery_id=delivery.pk, now=due + timedelta(seconds=1)) is None
    )
    assert platform.receiver.received == []


def test_retries_stop_after_the_window_and_the_delivery_fails(delivery, platform, settings):
    settings.WEBHOOKS_DISABLE_AFTER_FAILURES = 1000
    platform.receiver.script = [503] * 100
    started = delivery.next_attempt_at
    window_ends = started + timedelta(seconds=app_settings.RETRY_WINDOW)

    attempt(delivery)
    delivery = attempt(delivery, at=window_ends - timedelta(seconds=1))
    assert delivery.status == Status.PENDING
    assert delivery.next_attempt_at <= window_ends  # the last try is due by the window's end
    delivery = attempt(delivery, at=window_ends)

    assert delivery.status == Status.FAILED
    assert not delivery.log.latest("at").will_retry


@pytest.fixture
def eager_alerts(settings) -> Iterator[None]:
    """The alert's sending task runs here, where Django's locmem outbox collects the mail."""
    settings.REALNAME_ALERT_EMAILS = ["support@realname.test"]
    settings.REALNAME_ALERT_WEBHOOK_URL = ""
    before = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        yield
    finally:
        current_app.conf.task_always_eager = before


def test_an_endpoint_failing_for_three_days_is_disabled_with_an_alert_then_enabled_again(
    delivery, platform, settings, eager_alerts, desk_client, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_DISABLE_AFTER_FAILURES = 3
    platform.receiver.script = [500, 500, 500]
    started = delivery.next_attempt_at
    attempt(delivery)
    attempt(delivery, at=started + timedelta(days=1))
    endpoint = WebhookEndpoint.objects.get(pk=platform.endpoint.pk)
    assert endpoint.enabled and endpoint.consecutive_failures == 2

    with django_capture_on_commit_callbacks(execute=True):
        attempt(delivery, at=started + timedelta(days=3, seconds=1))

    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "failing")
    assert delivery.status == Status.FAILED
    [alert] = mail.outbox
    assert alert.subject.endswith("A webhook endpoint was disabled after persistent failure")
    assert f"endpoint_id: {endpoint.pk}" in alert.body
    assert "failures_in_a_row: 3" in alert.body

    # New events are kept for it, not sent; the sweeper leaves them.
    member = MemberFactory.create()
    platform.link(member)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        submit_demo(member)
    held = Delivery.objects.get(endpoint=endpoint, status=Status.PENDING)
    assert len(queued) == 1  # the identity check's task; no delivery
    assert services.delivery_sweep(now=timezone.now() + timedelta(days=1)) == 0

    # Support staff enable it again once the platform fixed its receiver: the held one goes.
    staff = StaffFactory.create(groups=[])
    staff.user_permissions.add(Permission.objects.get(codename="change_webhookendpoint"))
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = desk_client(staff).post(
            reverse("admin:webhooks_webhookendpoint_changelist"),
            {"action": "enable", "_selected_action": [endpoint.pk]},
        )
    assert response.status_code == 302
    assert len(queued) == 1
    assert attempt(held).status == Status.DELIVERED
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.consecutive_failures == 0


def test_during_a_rotation_both_secrets_sign_and_after_it_only_the_new_one(
    delivery, platform, verified_event: VerifiedEvent
):
    old = platform.secret
    rotated = services.endpoint_rotate_secret(
        endpoint=platform.endpoint, overlap=timedelta(hours=1)
    )
    platform.receiver.secret = rotated.secret
    due = delivery.next_attempt_at

    attempt(delivery, at=due)
    during = platform.receiver.received[-1]
    signature = during.headers["realname-signature"]
    assert signature.count("v1=") == 2
    assert verified_event(old, during.body, signature) is not None
    assert during.outcome == "handled"  # checked with the new secret

    # The hour passes (the receiver checks times against the real clock, so the overlap's end
    # moves back rather than the clock forward).
    WebhookEndpoint.objects.filter(pk=platform.endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    services.delivery_redeliver(delivery=delivery)
    after = attempt(delivery)
    assert after.status == Status.DELIVERED
    late = platform.receiver.received[-1]
    signature = late.headers["realname-signature"]
    assert signature.count("v1=") == 1
    stamp = int(signature.split(",")[0].removeprefix("t="))
    assert verified_event(old, late.body, signature, now=stamp) is None
    assert verified_event(rotated.secret, late.body, signature, now=stamp) is not None


def test_staff_redeliver_from_the_admin(
    delivery, platform, desk_client, django_capture_on_commit_callbacks
):
    attempt(delivery)
    staff = StaffFactory.create(groups=[])
    staff.user_permissions.add(Permission.objects.get(codename="change_delivery"))
    desk = desk_client(staff)

    log = desk.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))
    assert log.status_code == 200
    assert b"http_" not in log.content and b"200" in log.content
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = desk.post(
            reverse("admin:webhooks_delivery_changelist"),
            {"action": "redeliver", "_selected_action": [delivery.pk]},
        )
    assert response.status_code == 302
    assert len(queued) == 1
    assert attempt(delivery).status == Status.DELIVERED
    first, second = platform.receiver.received
    assert first.event["id"] == second.event["id"]
    assert second.outcome == "duplicate"  # the platform handles it once
    assert delivery.log.count() == 2


def test_staff_without_the_permission_cannot_redeliver(delivery, desk_client):
    staff = StaffFactory.create(groups=[])
    staff.user_permissions.add(Permission.objects.get(codename="view_delivery"))

    response = desk_client(staff).post(
        reverse("admin:webhooks_delivery_changelist"),
        {"action": "redeliver", "_selected_action": [delivery.pk]},
    )

    assert response.status_code == 200  # the action is not offered: "no action selected"
    delivery.refresh_from_db()
    assert delivery.attempts == 0 and delivery.log.count() == 0


def test_the_sweeper_resends_only_overdue_pending_deliveries(delivery, platform, settings):
    overdue = delivery.next_attempt_at + timedelta(seconds=app_settings.STUCK_AFTER + 1)
    assert services.delivery_sweep(now=delivery.next_attempt_at) == 0
    assert services.delivery_sweep(now=overdue) == 1

    attempt(delivery)

    assert services.delivery_sweep(now=overdue + timedelta(days=1)) == 0
