"""Reads every kind shares: the daily attempt window and the current verification."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User

from ..models import AttemptReset, VerificationBase

ATTEMPT_WINDOW = timedelta(hours=24)


def attempts_counted_since(*, user: User, now: datetime | None = None) -> datetime:
    """The start of the window of attempts that count against the daily limit: 24 hours ago,
    or support staff's latest reset of the user's counter if that is later."""
    now = now or timezone.now()
    since = now - ATTEMPT_WINDOW
    reset = AttemptReset.objects.filter(user=user).order_by("-at").values_list("at", flat=True)
    latest = reset.first()
    return max(since, latest) if latest else since


def attempts_in_window[V: VerificationBase](
    model: type[V], *, user: User, now: datetime | None = None
) -> QuerySet[V]:
    """Attempts that count against the daily limit, oldest first: everything started in the
    window except those stopped by our provider's trouble (status ``error``), which are not the
    person's fault."""
    return (
        model._default_manager.filter(
            user=user, created_at__gt=attempts_counted_since(user=user, now=now)
        )
        .exclude(status=model.ERROR)
        .order_by("created_at")
    )


def attempts_today(
    model: type[VerificationBase], *, user: User, now: datetime | None = None
) -> int:
    return attempts_in_window(model, user=user, now=now).count()


def lockout_lifts_at(
    model: type[VerificationBase], *, user: User, now: datetime | None = None
) -> datetime | None:
    """When the oldest attempt in the window leaves it, freeing one attempt."""
    oldest = attempts_in_window(model, user=user, now=now).first()
    return oldest.created_at + ATTEMPT_WINDOW if oldest else None


def current_of[V: VerificationBase](model: type[V], *, user: User) -> V | None:
    """The account's active verification of this kind, else its newest one."""
    verifications = model._default_manager.filter(user=user).order_by("-created_at")
    active = verifications.filter(status__in=model.ACTIVE_STATUSES).first()
    return active or verifications.first()
