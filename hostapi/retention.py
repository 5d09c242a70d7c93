"""Retention jobs of the host platform API (run by ``kernel.retention``):

- ``hostapi.calls``: the call log is kept ``HOSTAPI_CALL_LOG_RETENTION_DAYS``.
- ``hostapi.sessions``: a session is kept ``HOSTAPI_SESSION_RETENTION_DAYS`` after it expired
  (completed or not); the link it recorded between the platform's reference and the account
  stays while both exist."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db.models import Model, QuerySet

from accounts.retention import erased_records_purger
from kernel.retention import in_batches, register

from .app_settings import app_settings
from .models import AccountLink, ApiCall, VerificationSession


def calls_to_delete(now: datetime) -> QuerySet[ApiCall]:
    return ApiCall.objects.filter(at__lt=now - timedelta(days=app_settings.CALL_LOG_RETENTION_DAYS))


def sessions_to_delete(now: datetime) -> QuerySet[VerificationSession]:
    return VerificationSession.objects.filter(
        expires_at__lt=now - timedelta(days=app_settings.SESSION_RETENTION_DAYS)
    )


def _delete_in_batches[M: Model](rows: Callable[[], QuerySet[M]], batch_size: int) -> int:
    def select() -> list[int]:
        return list(rows().order_by("pk").values_list("pk", flat=True)[:batch_size])

    def apply(pks: list[int]) -> int:
        deleted, _ = rows().filter(pk__in=pks).delete()
        return deleted

    return in_batches(select, apply)


@register(
    "hostapi.calls",
    "Delete the API call log older than HOSTAPI_CALL_LOG_RETENTION_DAYS.",
)
def purge_calls(now: datetime, dry_run: bool, batch_size: int) -> dict[str, int]:
    if dry_run:
        return {"deleted": calls_to_delete(now).count()}
    return {"deleted": _delete_in_batches(lambda: calls_to_delete(now), batch_size)}


@register(
    "hostapi.sessions",
    "Delete verification sessions HOSTAPI_SESSION_RETENTION_DAYS after they expired.",
)
def purge_sessions(now: datetime, dry_run: bool, batch_size: int) -> dict[str, int]:
    if dry_run:
        return {"deleted": sessions_to_delete(now).count()}
    return {"deleted": _delete_in_batches(lambda: sessions_to_delete(now), batch_size)}


@erased_records_purger("hostapi")
def erased_platform_records(user_ids: list[int], dry_run: bool) -> dict[str, int]:
    """Closed accounts whose legal period is over (``accounts.erased``, in its transaction):
    the platforms' links to them and the sessions they completed go before the account."""
    links = AccountLink.objects.filter(user_id__in=user_ids)
    sessions = VerificationSession.objects.filter(user_id__in=user_ids)
    if dry_run:
        return {"platform_links": links.count(), "platform_sessions": sessions.count()}
    return {
        "platform_sessions": sessions.delete()[0],
        "platform_links": links.delete()[0],
    }
