"""Reads about enterprise verification that more than one caller needs."""

from __future__ import annotations

from datetime import datetime

from accounts.models import User
from verification.lifecycle import attempts_today, current_of, lockout_lifts_at

from .models import EnterpriseVerification

Status = EnterpriseVerification.Status


def enterprise_verified(*, user: User) -> bool:
    """Identity Verified: the licence was approved."""
    return EnterpriseVerification.objects.filter(user=user, status=Status.APPROVED).exists()


def enterprise_active(*, user: User) -> bool:
    """Submitted, pending review or approved: the account is (being) verified as a company."""
    return EnterpriseVerification.objects.filter(
        user=user, status__in=EnterpriseVerification.ACTIVE_STATUSES
    ).exists()


def enterprise_verification_current(*, user: User) -> EnterpriseVerification | None:
    """The account's active enterprise verification, else its newest one."""
    return current_of(EnterpriseVerification, user=user)


def enterprise_attempts_today(*, user: User, now: datetime | None = None) -> int:
    return attempts_today(EnterpriseVerification, user=user, now=now)


def enterprise_lockout_lifts_at(*, user: User, now: datetime | None = None) -> datetime | None:
    return lockout_lifts_at(EnterpriseVerification, user=user, now=now)
