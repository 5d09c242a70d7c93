"""Retention job of closed accounts (run by ``kernel.retention``).

``accounts.erased``: ``ACCOUNTS_RETENTION_ERASED_DAYS`` after an account was closed
(``User.erased_at``), what the law kept of it goes: the higher apps' minimal records of its
verifications (they register a purger here, :func:`erased_records_purger`, since accounts may
not import them), then its consent records, its privacy events and the account row itself.

Consent records and privacy events are append-only and the application role has no DELETE
privilege on them; they go through ``accounts_purge_erased_accounts`` (migration 0006), a
``SECURITY DEFINER`` function of the owner that deletes nothing but the rows of accounts closed
before the cutoff, and never one closed after ``now() - floor``: the legal minimum kept by the
owner in ``accounts_retention_floor`` (migration 0007), which the application role may only
read. A setting below the floor, or a clock passed in that runs ahead, purges no sooner; the job
selects with the same floor, so the higher apps' records never go without the account.
What stays, and why:

- an account still named by a record that must stay (a closed staff account in the audit log or
  as a licence's reviewer) keeps its stub and its consent records: counted as ``accounts_kept``;
- the audit log and staff notes (support): the staff's accountability; the notes were sealed
  under the person's key, destroyed at closing, so nothing in them is readable;
- the person key row without a key (``accounts.PersonKey``): the shredding log that a restore
  from backup replays (docs/privacy/person-keys.md); it holds an id and a date only."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import QuerySet

from kernel.retention import register

from .app_settings import app_settings
from .models import ConsentRecord, PrivacyEvent, User

logger = logging.getLogger(__name__)

#: The owner's door for the append-only rows (migration 0006, floored by 0007), and the one-row
#: table holding the legal minimum: the application role may execute the one, only read the other
#: (``kernel.dbroles``, registered by ``AccountsConfig.ready``).
PURGE_FUNCTION = "accounts_purge_erased_accounts(bigint[], timestamptz)"
FLOOR_TABLE = "accounts_retention_floor"

#: ``(user ids, dry_run) -> {"<what>": count}``: removes (or counts) a higher app's records of
#: these closed accounts. Runs inside the batch's transaction, before the accounts go.
type ErasedPurger = Callable[[list[int], bool], dict[str, int]]

_PURGERS: dict[str, ErasedPurger] = {}


def erased_records_purger(name: str) -> Callable[[ErasedPurger], ErasedPurger]:
    """Decorator for an app's ``retention.py``: remove that app's records of closed accounts
    whose legal period is over (they hold a foreign key to the account, so they go first)."""

    def decorate(function: ErasedPurger) -> ErasedPurger:
        _PURGERS[name] = function
        return function

    return decorate


def erased_floor() -> tuple[int, datetime]:
    """The legal minimum in days, as the owner set it, and the latest closing it lets go by the
    database's clock (what ``accounts_purge_erased_accounts`` clamps its cutoff to)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT min_erased_days, now() - make_interval(days => min_erased_days) "  # noqa: S608
            f"FROM {FLOOR_TABLE}"
        )
        row = cursor.fetchone()
    if row is None:
        raise RuntimeError(f"{FLOOR_TABLE} has no row: run `manage.py migrate`.")
    return row[0], row[1]


def erased_cutoff(now: datetime) -> datetime:
    """Accounts closed before this may go: ``ACCOUNTS_RETENTION_ERASED_DAYS`` before ``now``,
    but never later than the floor allows."""
    cutoff = now - timedelta(days=app_settings.RETENTION_ERASED_DAYS)
    floor_days, floor_cutoff = erased_floor()
    if floor_cutoff < cutoff:
        logger.warning(
            "accounts.erased: cutoff held back to the legal minimum of %d days "
            "(ACCOUNTS_RETENTION_ERASED_DAYS is %d)",
            floor_days,
            app_settings.RETENTION_ERASED_DAYS,
        )
        return floor_cutoff
    return cutoff


def erased_to_purge(cutoff: datetime) -> QuerySet[User]:
    return User.objects.filter(erased_at__isnull=False, erased_at__lt=cutoff)


def _purge_accounts(user_ids: list[int], cutoff: datetime) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT accounts, consent_records, privacy_events, kept "
            "FROM accounts_purge_erased_accounts(%s::bigint[], %s)",
            [user_ids, cutoff],
        )
        accounts, consents, events, kept = cursor.fetchone()
    return {
        "accounts": accounts,
        "consent_records": consents,
        "privacy_events": events,
        "accounts_kept": kept,
    }


def _add(total: dict[str, int], counts: dict[str, int]) -> None:
    for what, count in counts.items():
        total[what] = total.get(what, 0) + count


@register(
    "accounts.erased",
    "Delete what is kept of closed accounts (verification records, consent records, privacy "
    "events, the account row) ACCOUNTS_RETENTION_ERASED_DAYS after closing.",
)
def purge_erased(now: datetime, dry_run: bool, batch_size: int) -> dict[str, int]:
    cutoff = erased_cutoff(now)
    total: dict[str, int] = {"accounts": 0, "consent_records": 0, "privacy_events": 0}
    if dry_run:
        ids = list(erased_to_purge(cutoff).values_list("pk", flat=True))
        total["accounts"] = len(ids)
        total["consent_records"] = ConsentRecord.objects.filter(user_id__in=ids).count()
        total["privacy_events"] = PrivacyEvent.objects.filter(user_id__in=ids).count()
        for purger in _PURGERS.values():
            _add(total, purger(ids, True))
        return total
    total["accounts_kept"] = 0
    last = 0
    while True:
        with transaction.atomic():
            # Locked: a concurrent run skips these accounts instead of waiting or counting twice.
            ids = list(
                erased_to_purge(cutoff)
                .filter(pk__gt=last)
                .order_by("pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return total
            last = ids[-1]
            for purger in _PURGERS.values():
                _add(total, purger(ids, False))
            _add(total, _purge_accounts(ids, cutoff))
