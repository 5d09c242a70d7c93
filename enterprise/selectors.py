"""Reads about enterprise verification that more than one caller needs."""

from __future__ import annotations

from django.db.models import QuerySet

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


def licences_pending_review() -> QuerySet[EnterpriseVerification]:
    """Support staff's review queue, oldest first."""
    return EnterpriseVerification.objects.filter(status=Status.PENDING_REVIEW).order_by(
        "checked_at"
    )
