"""Reads about verification that other apps need."""

from __future__ import annotations

from accounts.models import User


def identity_verified(*, user: User) -> bool:
    """Whether ``user`` has completed real-name authentication, as a person or an enterprise.

    No verification records exist yet: personal and enterprise verification arrive with their own
    issues (#5, #6) and will answer here. Until then nobody is verified, so guarded pages send
    everyone to the verification page."""
    return False
