"""Reads about personal verification that more than one caller needs."""

from __future__ import annotations

from datetime import datetime

from accounts.models import User

from .lifecycle import attempts_today, current_of, lockout_lifts_at
from .models import PersonalVerification

Status = PersonalVerification.Status


def personal_verified(*, user: User) -> bool:
    """Real-Name Authentication Completed."""
    return PersonalVerification.objects.filter(user=user, status=Status.PASSED).exists()


def personal_active(*, user: User) -> bool:
    """Submitted, under way or passed: the account is (being) verified as a person."""
    return PersonalVerification.objects.filter(
        user=user, status__in=PersonalVerification.ACTIVE_STATUSES
    ).exists()


def verification_current(*, user: User) -> PersonalVerification | None:
    """The user's open or passed verification, else the newest one."""
    return current_of(PersonalVerification, user=user)


def verification_attempts_today(*, user: User, now: datetime | None = None) -> int:
    return attempts_today(PersonalVerification, user=user, now=now)


def verification_lockout_lifts_at(*, user: User, now: datetime | None = None) -> datetime | None:
    return lockout_lifts_at(PersonalVerification, user=user, now=now)
