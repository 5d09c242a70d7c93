"""Reads every kind shares: the daily attempt window and the current verification."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Case, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from accounts.models import User

from ..models import AttemptReset, VerificationBase

ATTEMPT_WINDOW = timedelta(hours=24)


def attempts_in_window[V: VerificationBase](
    model: type[V], *, user: User, now: datetime | None = None
) -> QuerySet[V]:
    """Attempts that count against the daily limit, oldest first: everything started in the
    window except those stopped by our provider's trouble (status ``error``), which are not the
    person's fault. The window starts 24 hours ago, or at support staff's latest reset of the
    user's counter if that is later (a subquery: one query)."""
    day_ago = Value((now or timezone.now()) - ATTEMPT_WINDOW)
    latest_reset = (
        AttemptReset.objects.filter(user=OuterRef("user_id")).order_by("-at").values("at")[:1]
    )
    return (
        model._default_manager.filter(user=user)
        .filter(created_at__gt=Greatest(day_ago, Coalesce(Subquery(latest_reset), day_ago)))
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
    """The account's active verification of this kind, else its newest one (one query)."""
    active_first = Case(
        When(status__in=model.ACTIVE_STATUSES, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return model._default_manager.filter(user=user).order_by(active_first, "-created_at").first()
