"""Reads of the host platform API: what a platform may learn about a linked account (never a
name, number, birth date, phone or licence), and the sessions and links a client owns."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from accounts.models import User
from enterprise.selectors import enterprise_verification_current
from verification.selectors import verification_current

from .models import AccountLink, ApiClient, VerificationSession

#: The document type an enterprise verification checks.
ENTERPRISE_DOCUMENT = "business_licence"
#: States beyond the verification's own statuses.
STATE_NONE = "none"  # the account has not started a verification
STATE_ERASED = "erased"  # the person closed the account


@dataclass(frozen=True)
class AccountStatus:
    """Where an account's verification stands, as a platform sees it."""

    verified: bool
    kind: str | None
    document_type: str | None
    provider: str | None
    verified_at: datetime | None
    state: str
    reason_code: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def account_status(*, user: User) -> AccountStatus:
    """The account's verification of the kind it is verified as, else its active one, else
    its newest one; ``state`` is that verification's status (``none`` without any, ``erased``
    once the account is closed)."""
    if user.erased_at is not None:
        return AccountStatus(False, None, None, None, None, STATE_ERASED, None)
    candidates: list[Any] = [
        current
        for current in (verification_current(user=user), enterprise_verification_current(user=user))
        if current is not None
    ]
    if not candidates:
        return AccountStatus(False, None, None, None, None, STATE_NONE, None)
    chosen = next(
        (c for c in candidates if c.status == c.VERIFIED),
        next(
            (c for c in candidates if c.status in c.ACTIVE_STATUSES),
            max(candidates, key=lambda c: c.created_at),
        ),
    )
    verified = chosen.status == chosen.VERIFIED
    return AccountStatus(
        verified=verified,
        kind=str(chosen.kind),
        document_type=str(getattr(chosen, "document_type", "") or ENTERPRISE_DOCUMENT),
        provider=chosen.provider or None,
        verified_at=chosen.completed_at if verified else None,
        state=str(chosen.status),
        reason_code=chosen.reason_code or None,
    )


def account_link(
    *, client: ApiClient, reference: str | None = None, public_id: uuid.UUID | None = None
) -> AccountLink | None:
    """The client's link to an account, by the platform's ``reference`` or by the account's
    ``public_id`` (with the account); None for an account the client has no link to."""
    links = AccountLink.objects.filter(client=client).select_related("user")
    if reference is not None:
        links = links.filter(reference=reference)
    if public_id is not None:
        links = links.filter(user__public_id=public_id)
    return links.first()


def session_of(*, client: ApiClient, public_id: uuid.UUID) -> VerificationSession | None:
    """The client's own session; None for another client's (it must not learn it exists)."""
    return (
        VerificationSession.objects.filter(client=client, public_id=public_id)
        .select_related("user")
        .first()
    )


def session_for_person(*, public_id: uuid.UUID) -> VerificationSession | None:
    return VerificationSession.objects.filter(public_id=public_id).select_related("client").first()


def platform_links_of(*, user: User) -> list[AccountLink]:
    """The host platforms ``user``'s status is shared with, oldest link first, with their
    client (Your data, the export)."""
    return list(
        AccountLink.objects.filter(user=user).select_related("client").order_by("created_at", "pk")
    )
