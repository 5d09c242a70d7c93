"""Retention of open accounts' webhook events (``webhooks.events``): an event, its deliveries
and their attempt logs go ``WEBHOOKS_RETENTION_DAYS`` after its last attempt once none of its
deliveries is pending; a pending one is kept however old; closed accounts' events wait for the
account's own period (``accounts.erased``); the account's sequence counter stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from accounts.models import User
from hostapi.models import Scope
from hostapi.services import api_client_create
from kernel.models import RetentionRun
from kernel.retention import jobs, run_job
from tests.factories import MemberFactory
from webhooks import services, tasks
from webhooks.models import AccountSequence, Delivery, DeliveryAttempt, Event, WebhookEndpoint

pytestmark = pytest.mark.django_db
Status = Delivery.Status
NOW = timezone.now()


@pytest.fixture
def endpoints() -> list[WebhookEndpoint]:
    client, _ = api_client_create(name="platform", scopes=[Scope.MANAGE_WEBHOOKS])
    return [
        services.endpoint_create(client=client, url=f"https://platform.example/{n}").endpoint
        for n in (1, 2)
    ]


def event(user: User, endpoints: list[WebhookEndpoint], *outcomes: tuple[str, int | None]) -> Event:
    """An event made long ago, with one delivery per ``(status, days since its last attempt)``
    (``None``: never attempted)."""
    sequence = AccountSequence.objects.filter(user=user).values_list("last", flat=True).first()
    sequence = (sequence or 0) + 1
    AccountSequence.objects.update_or_create(user=user, defaults={"last": sequence})
    made = Event.objects.create(type="submitted", user=user, sequence=sequence)
    Event.objects.filter(pk=made.pk).update(created_at=NOW - timedelta(days=1000))
    for endpoint, (status, days) in zip(endpoints, outcomes, strict=False):
        at = NOW - timedelta(days=days) if days is not None else NOW
        delivery = Delivery.objects.create(
            event=made,
            endpoint=endpoint,
            body="{}",
            status=status,
            next_attempt_at=at,
            window_started_at=at,
            delivered_at=at if status == Status.DELIVERED else None,
        )
        if days is not None:
            DeliveryAttempt.objects.create(delivery=delivery, at=at, status_code=200, duration_ms=3)
            DeliveryAttempt.objects.create(
                delivery=delivery, at=at - timedelta(days=2), status_code=503, duration_ms=3
            )
    return made


def test_events_go_after_their_period_pending_ones_stay(settings, endpoints):
    settings.WEBHOOKS_RETENTION_DAYS = 90
    member = MemberFactory.create()
    delivered_old = event(member, endpoints, (Status.DELIVERED, 91))
    failed_old = event(member, endpoints, (Status.FAILED, 95), (Status.DELIVERED, 120))
    delivered_recent = event(member, endpoints, (Status.DELIVERED, 89))
    # The last attempt counts: one delivery finished long ago, the other recently.
    mixed = event(member, endpoints, (Status.DELIVERED, 300), (Status.FAILED, 10))
    pending_old = event(member, endpoints, (Status.DELIVERED, 400), (Status.PENDING, 400))
    pending_never_tried = event(member, endpoints, (Status.PENDING, None))
    orphan = event(member, endpoints)  # its endpoint was deleted: counts from its creation

    expected = {"events": 3, "deliveries": 3, "attempts": 6}
    assert run_job("webhooks.events", now=NOW, dry_run=True) == expected
    assert Event.objects.count() == 7
    assert not RetentionRun.objects.exists()  # a dry run changes nothing, not even the record

    assert run_job("webhooks.events", now=NOW, batch_size=2) == expected

    kept = set(Event.objects.values_list("pk", flat=True))
    assert kept == {delivered_recent.pk, mixed.pk, pending_old.pk, pending_never_tried.pk}
    assert not Delivery.objects.filter(event_id__in=[delivered_old.pk, failed_old.pk]).exists()
    assert not DeliveryAttempt.objects.filter(delivery__event_id=delivered_old.pk).exists()
    assert orphan.pk not in kept
    # The sequence goes on from where it was: receivers ignore numbers they have passed.
    assert AccountSequence.objects.get(user=member).last == 7
    run = RetentionRun.objects.get()
    assert (run.job, run.counts) == ("webhooks.events", expected)

    # Idempotent; later, the recent one's period is over too; the pending ones never go.
    assert run_job("webhooks.events", now=NOW) == {"events": 0, "deliveries": 0, "attempts": 0}
    later = run_job("webhooks.events", now=NOW + timedelta(days=1000))
    assert later["events"] == 2
    assert set(Event.objects.values_list("pk", flat=True)) == {
        pending_old.pk,
        pending_never_tried.pk,
    }


def test_the_period_is_the_setting(settings, endpoints):
    member = MemberFactory.create()
    event(member, endpoints, (Status.DELIVERED, 40))

    settings.WEBHOOKS_RETENTION_DAYS = 45
    assert run_job("webhooks.events", now=NOW, dry_run=True)["events"] == 0
    settings.WEBHOOKS_RETENTION_DAYS = 30
    assert run_job("webhooks.events", now=NOW)["events"] == 1
    assert not Event.objects.exists()


def test_a_redelivered_event_is_kept(settings, endpoints):
    member = MemberFactory.create()
    old = event(member, endpoints, (Status.FAILED, 200))
    services.delivery_redeliver(delivery=old.deliveries.get())

    assert run_job("webhooks.events", now=NOW)["events"] == 0
    assert Event.objects.filter(pk=old.pk).exists()


def test_closed_accounts_events_wait_for_the_accounts_own_period(settings, endpoints):
    closed = MemberFactory.create()
    User.objects.filter(pk=closed.pk).update(erased_at=NOW - timedelta(days=10))
    event(closed, endpoints, (Status.DELIVERED, 365))

    assert run_job("webhooks.events", now=NOW)["events"] == 0
    assert Event.objects.filter(user=closed).count() == 1


def test_the_job_is_registered_and_run_daily(settings, endpoints):
    member = MemberFactory.create()
    event(member, endpoints, (Status.DELIVERED, 365))

    assert "webhooks.events" in jobs()
    scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert "webhooks.retention" in scheduled
    assert tasks.retention() == {"events": 1, "deliveries": 1, "attempts": 2}
    assert not Event.objects.exists()
