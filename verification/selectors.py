"""Reads about verification that more than one caller needs."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User

from .models import AttemptReset, PersonalVerification

Status = PersonalVerification.Status
ATTEMPT_WINDOW = timedelta(hours=24)


def identity_verified(*, user: User) -> bool:
    """Whether ``user`` has completed real-name authentication, as a person or an enterprise."""
    return identity_kind(user=user) is not None


def identity_kind(*, user: User) -> str | None:
    """ "personal" (Real-Name Authentication Completed), "enterprise" (Identity Verified) or
    None when the account is not verified."""
    from enterprise.selectors import enterprise_verified  # enterprise builds on this app

    if PersonalVerification.objects.filter(user=user, status=Status.PASSED).exists():
        return "personal"
    if enterprise_verified(user=user):
        return "enterprise"
    return None


def verification_current(*, user: User) -> PersonalVerification | None:
    """The user's open or passed verification, else the newest one."""
    verifications = PersonalVerification.objects.filter(user=user)
    active = verifications.filter(status__in=PersonalVerification.ACTIVE_STATUSES).first()
    return active or verifications.first()


def attempts_counted_since(*, user: User, now: datetime | None = None) -> datetime:
    """The start of the window of attempts that count against the daily limit: 24 hours ago,
    or support staff's latest reset of the user's counter if that is later."""
    now = now or timezone.now()
    since = now - ATTEMPT_WINDOW
    reset = AttemptReset.objects.filter(user=user).order_by("-at").values_list("at", flat=True)
    latest = reset.first()
    return max(since, latest) if latest else since


def _attempts_in_window(
    *, user: User, now: datetime | None = None
) -> QuerySet[PersonalVerification]:
    """Attempts that count against the daily limit: everything started in the last 24 hours
    except those stopped by our provider's trouble (status ``error``), which are not the
    person's fault."""
    return PersonalVerification.objects.filter(
        user=user, created_at__gt=attempts_counted_since(user=user, now=now)
    ).exclude(status=Status.ERROR)


def verification_attempts_today(*, user: User, now: datetime | None = None) -> int:
    return _attempts_in_window(user=user, now=now).count()


def verification_lockout_lifts_at(*, user: User, now: datetime | None = None) -> datetime | None:
    """When the oldest attempt in the window leaves it, freeing one attempt."""
    oldest = _attempts_in_window(user=user, now=now).order_by("created_at").first()
    return oldest.created_at + ATTEMPT_WINDOW if oldest else None
