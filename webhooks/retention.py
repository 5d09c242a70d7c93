"""Retention of webhooks (run by ``kernel.retention``): a closed account's events (with their
deliveries and attempt logs) and its sequence counter go with the account's other records
once its legal period is over (``accounts.erased``)."""

from __future__ import annotations

from accounts.retention import erased_records_purger

from .models import AccountSequence, Event


@erased_records_purger("webhooks")
def erased_webhook_records(user_ids: list[int], dry_run: bool) -> dict[str, int]:
    events = Event.objects.filter(user_id__in=user_ids)
    sequences = AccountSequence.objects.filter(user_id__in=user_ids)
    if dry_run:
        return {"webhook_events": events.count()}
    sequences.delete()
    return {"webhook_events": events.delete()[1].get("webhooks.Event", 0)}
