"""Reads about enterprise verification that more than one caller needs."""

from __future__ import annotations

from accounts.models import User

from .models import EnterpriseVerification

Status = EnterpriseVerification.Status


def enterprise_verified(*, user: User) -> bool:
    return EnterpriseVerification.objects.filter(user=user, status=Status.APPROVED).exists()


def enterprise_verification_current(*, user: User) -> EnterpriseVerification | None:
    """The account's active enterprise verification, else its newest one."""
    verifications = EnterpriseVerification.objects.filter(user=user)
    active = verifications.filter(status__in=EnterpriseVerification.ACTIVE_STATUSES).first()
    return active or verifications.first()
