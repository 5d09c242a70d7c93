"""Reads about enterprise verification that more than one caller needs."""

from __future__ import annotations

from datetime import datetime

from accounts.models import User
from verification.lifecycle import attempts_today, current_of

from .models import EnterpriseVerification


def enterprise_verification_current(*, user: User) -> EnterpriseVerification | None:
    """The account's active enterprise verification, else its newest one."""
    return current_of(EnterpriseVerification, user=user)


def enterprise_attempts_today(*, user: User, now: datetime | None = None) -> int:
    return attempts_today(EnterpriseVerification, user=user, now=now)


def enterprise_verifications_of(*, user: User) -> list[EnterpriseVerification]:
    """Every enterprise verification of ``user``, newest first (Your data, the export)."""
    return list(EnterpriseVerification.objects.filter(user=user).order_by("-created_at"))
