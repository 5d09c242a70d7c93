"""Reads about personal verification that more than one caller needs."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db import connection

from accounts.models import User
from accounts.sessions import SessionOwner

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


POLL_FIELDS = ("status", "provider_failures", "face_requested_at", "liveness_url")


@functools.cache
def _poll_sql() -> str:
    verification, user = PersonalVerification._meta, User._meta
    quote = connection.ops.quote_name

    def column(meta, name: str) -> str:
        return f"{quote(meta.db_table)}.{quote(meta.get_field(name).column)}"

    fields = ", ".join(
        [
            *(column(verification, name) for name in POLL_FIELDS),
            column(user, "password"),
            column(user, "is_active"),
        ]
    )
    joined = (
        f"{quote(verification.db_table)} INNER JOIN {quote(user.db_table)} "
        f"ON {column(verification, 'user')} = {column(user, 'id')}"
    )
    where = f"{column(verification, 'public_id')} = %s AND {column(verification, 'user')} = %s"
    # Names from the models' metadata, quoted; the values travel as parameters.
    return f"SELECT {fields} FROM {joined} WHERE {where}"  # noqa: S608


@dataclass(frozen=True)
class PollState:
    """Where a verification stands, as its status page's polled answer says it (nothing
    personal), with its owner to check the session against."""

    status: str
    step: str
    provider_failures: int
    face_url: str
    owner: SessionOwner


def verification_poll_state(*, public_id: UUID | str, user_id: int) -> PollState | None:
    """The state of ``user_id``'s verification ``public_id``, or None if it is not theirs: one
    indexed query, written out because the ORM spends longer building it (and the model
    instance) than PostgreSQL does answering it, and this is the most requested URL
    (bench/results.md)."""
    with connection.cursor() as cursor:
        cursor.execute(_poll_sql(), [str(public_id), user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    status, failures, face_requested_at, face_url, password, is_active = row
    return PollState(
        status=status,
        step=PersonalVerification.step_of(
            status, face_requested=face_requested_at is not None, face_url=face_url
        ),
        provider_failures=failures,
        face_url=face_url,
        owner=SessionOwner(password=password, is_active=is_active),
    )
