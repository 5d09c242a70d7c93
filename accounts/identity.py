"""The ways an account proves who is behind it, as a registry the verification apps fill.

accounts sits below the apps that verify (personal, enterprise) and must not import them; yet
the real-name gate, the profile page and the rule "an account verifies either as a person or as
an enterprise" need every kind. Each kind registers itself here from its ``AppConfig.ready()``
(as models register with the admin site), and callers ask the registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from .models import User

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class IdentityKind:
    """One kind of verification, as the rest of the site needs to know it."""

    name: str  # "personal", "enterprise": the Kind value
    # Whether the account has completed this kind of verification.
    verified: Callable[[User], bool]
    # Whether the account has one submitted, under way or completed: it blocks other kinds.
    active: Callable[[User], bool]
    # The account's current verification of this kind (active, else newest), or None.
    current: Callable[[User], Any]
    # What an account with an active verification of this kind is told when it starts
    # another kind, and the error code that goes with it.
    refusal_code: str
    refusal: StrOrPromise
    # How the verification pages show this kind: the status shown once it is completed, and
    # the kind's card on the overview page (its own app's template, given ``verification``,
    # the account's current one, and ``can_start``).
    verified_label: StrOrPromise
    card_template: str
    # Ends the account's completed verification of this kind when the person withdraws consent
    # to the real-name service; returns how many ended (``consent_withdraw`` calls it).
    end: Callable[[User], int] = lambda user: 0


_registry: dict[str, IdentityKind] = {}


def identity_kind_register(kind: IdentityKind) -> None:
    """Called from each verification app's ``ready()``; registering a name again replaces it."""
    _registry[kind.name] = kind


def identity_kind(*, user: User) -> str | None:
    """The name of the kind the account has completed ("personal": Real-Name Authentication
    Completed; "enterprise": Identity Verified), or None when it is not verified."""
    for kind in _registry.values():
        if kind.verified(user):
            return kind.name
    return None


def identity_verified(*, user: User) -> bool:
    """Whether ``user`` has completed real-name authentication of any kind."""
    return identity_kind(user=user) is not None


def identity_current(*, user: User | None) -> list[tuple[IdentityKind, Any]]:
    """Each kind with the account's current verification of it (None where there is none, or
    for a visitor who is not signed in)."""
    return [(kind, kind.current(user) if user else None) for kind in _registry.values()]


def identity_end_all(*, user: User) -> dict[str, int]:
    """End every completed verification of ``user``, of every kind (consent to the real-name
    service withdrawn): the gate closes and a new verification starts from the beginning.
    Returns how many ended, by kind."""
    return {kind.name: kind.end(user) for kind in _registry.values()}


def identity_refuse_other_kinds(*, user: User, kind: str) -> None:
    """Raise ValidationError when the account has an active verification of another kind."""
    for other in _registry.values():
        if other.name != kind and other.active(user):
            raise ValidationError(other.refusal, code=other.refusal_code)
