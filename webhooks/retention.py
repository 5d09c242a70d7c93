"""Retention of webhooks (run by ``kernel.retention``):

- ``webhooks.events``: an open account's event, with its deliveries and their attempt logs
  (ids, the platform's reference for the account), is kept ``WEBHOOKS_RETENTION_DAYS`` after
  its last attempt once none of its deliveries is pending (an event left with no delivery, its
  endpoint deleted, counts from its creation). A pending delivery is never deleted, however old:
  it is still to be sent (or held for a disabled endpoint). The account's sequence counter
  stays, so its numbers keep increasing.
- A closed account's events and its sequence counter go with the account's other records once
  its legal period is over (``accounts.erased``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.retention import erased_records_purger
from kernel.retention import in_batches, register

from .app_settings import app_settings
from .models import AccountSequence, Delivery, DeliveryAttempt, Event


def events_to_delete(now: datetime) -> QuerySet[Event]:
    """Events of open accounts with no pending delivery, last tried (or, with no attempt,
    made) more than ``WEBHOOKS_RETENTION_DAYS`` before ``now``."""
    cutoff = now - timedelta(days=app_settings.RETENTION_DAYS)
    pending = Delivery.objects.filter(event=OuterRef("pk"), status=Delivery.Status.PENDING)
    last_attempt = (
        DeliveryAttempt.objects.filter(delivery__event=OuterRef("pk"))
        .order_by("-at")
        .values("at")[:1]
    )
    return (
        Event.objects.filter(user__erased_at__isnull=True, created_at__lt=cutoff)
        .exclude(Exists(pending))
        .annotate(finished_at=Coalesce(Subquery(last_attempt), "created_at"))
        .filter(finished_at__lt=cutoff)
    )


def _delete(pks: list[int], now: datetime, counts: dict[str, int]) -> int:
    """Delete the events among ``pks`` still past their period. Their deliveries are locked
    first, so a redelivery by staff either comes first (and keeps the event) or waits."""
    with transaction.atomic():
        list(Delivery.objects.select_for_update().filter(event_id__in=pks).values_list("pk"))
        _total, by_model = events_to_delete(now).filter(pk__in=pks).delete()
    for key, model in (
        ("events", "webhooks.Event"),
        ("deliveries", "webhooks.Delivery"),
        ("attempts", "webhooks.DeliveryAttempt"),
    ):
        counts[key] += by_model.get(model, 0)
    return by_model.get("webhooks.Event", 0)


@register(
    "webhooks.events",
    "Delete open accounts' webhook events (deliveries, attempt logs) WEBHOOKS_RETENTION_DAYS "
    "after their last attempt; never one with a pending delivery.",
)
def purge_events(now: datetime, dry_run: bool, batch_size: int) -> dict[str, int]:
    if dry_run:
        events = events_to_delete(now)
        deliveries = Delivery.objects.filter(event__in=events.values("pk"))
        return {
            "events": events.count(),
            "deliveries": deliveries.count(),
            "attempts": DeliveryAttempt.objects.filter(
                delivery__in=deliveries.values("pk")
            ).count(),
        }
    counts = {"events": 0, "deliveries": 0, "attempts": 0}

    def select() -> list[int]:
        return list(events_to_delete(now).order_by("pk").values_list("pk", flat=True)[:batch_size])

    in_batches(select, lambda pks: _delete(pks, now, counts))
    return counts


@erased_records_purger("webhooks")
def erased_webhook_records(user_ids: list[int], dry_run: bool) -> dict[str, int]:
    events = Event.objects.filter(user_id__in=user_ids)
    sequences = AccountSequence.objects.filter(user_id__in=user_ids)
    if dry_run:
        return {"webhook_events": events.count()}
    sequences.delete()
    return {"webhook_events": events.delete()[1].get("webhooks.Event", 0)}
