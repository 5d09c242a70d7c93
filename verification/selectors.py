"""Reads about personal verification that more than one caller needs."""

from __future__ import annotations

from datetime import datetime

from accounts.models import User

from .lifecycle import attempts_today, current_of, lockout_lifts_at
from .models import PersonalVerification


def verification_current(*, user: User) -> PersonalVerification | None:
    """The user's open or passed verification, else the newest one."""
    return current_of(PersonalVerification, user=user)


def verification_attempts_today(*, user: User, now: datetime | None = None) -> int:
    return attempts_today(PersonalVerification, user=user, now=now)


def verification_lockout_lifts_at(*, user: User, now: datetime | None = None) -> datetime | None:
    return lockout_lifts_at(PersonalVerification, user=user, now=now)


def verifications_of(*, user: User) -> list[PersonalVerification]:
    """Every personal verification of ``user``, newest first (Your data, the export)."""
    return list(PersonalVerification.objects.filter(user=user).order_by("-created_at"))
