"""The signed-in account as its session names it, for the endpoints polled every few seconds
(a verification's status): they read the one row they need joined to its owner and check the
session against that owner, one query where ``request.user`` and then the row would be two.

The checks are Django's own (``django.contrib.auth.get_user``): a configured backend, an active
account, and the session's hash of the password (under the secret key or a fallback), so a
password change or a closed account ends these sessions exactly as it ends the others."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from .models import User


def session_user_id(request: HttpRequest) -> int | None:
    """The id of the account the session says is signed in, not yet checked against the
    account (``session_matches``); None without one."""
    try:
        raw = request.session[SESSION_KEY]
        backend = request.session[BACKEND_SESSION_KEY]
    except KeyError:
        return None
    if backend not in settings.AUTHENTICATION_BACKENDS:
        return None
    try:
        return int(User._meta.pk.to_python(raw))  # type: ignore[union-attr]
    except (TypeError, ValueError, ValidationError):
        return None


@dataclass(frozen=True, slots=True)
class SessionOwner:
    """The two columns of an account the session check reads, for the polled endpoints that
    select them with their row: building a ``User`` model for them cost more than the check.
    The hashes are ``AbstractBaseUser``'s own functions, applied to these columns (a test
    holds them equal to a ``User``'s)."""

    password: str
    is_active: bool

    def get_session_auth_hash(self) -> str:
        return AbstractBaseUser._get_session_auth_hash(self)  # type: ignore[attr-defined]

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for fallback in settings.SECRET_KEY_FALLBACKS:
            yield AbstractBaseUser._get_session_auth_hash(self, secret=fallback)  # type: ignore[attr-defined]


def session_matches(request: HttpRequest, user: User | SessionOwner) -> bool:
    """The session still belongs to ``user``: the account is active and the session's hash is
    the one of its current password (under the secret key or one of its fallbacks)."""
    if not user.is_active:
        return False
    session_hash = request.session.get(HASH_SESSION_KEY)
    if not session_hash:
        return False
    return constant_time_compare(session_hash, user.get_session_auth_hash()) or any(
        constant_time_compare(session_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    )
