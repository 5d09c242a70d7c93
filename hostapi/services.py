"""Writes on API clients: create, rotate, revoke, and the authentication of a presented key."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User

from .models import ApiClient, ApiKey

KEY_PREFIX = "rn_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    """A key as issued: ``key`` is shown once, then only its hash and prefix remain."""

    api_key: ApiKey
    key: str


def _issue(*, client: ApiClient) -> IssuedKey:
    prefix = KEY_PREFIX + secrets.token_hex(4)
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(client=client, prefix=prefix, key_hash=_hash(key))
    return IssuedKey(api_key=api_key, key=key)


@transaction.atomic
def api_client_create(
    *, name: str, scopes: list[str], created_by: User | None = None
) -> tuple[ApiClient, IssuedKey]:
    client = ApiClient.objects.create(name=name, scopes=list(scopes), created_by=created_by)
    return client, _issue(client=client)


@transaction.atomic
def api_client_rotate_key(*, client: ApiClient, overlap: timedelta) -> IssuedKey:
    """Issue a new key; the keys in use now keep working for ``overlap`` (zero ends them now)."""
    ApiClient.objects.select_for_update().get(pk=client.pk)
    until = timezone.now() + overlap
    client.keys.filter(expires_at__isnull=True).update(expires_at=until)
    client.keys.filter(expires_at__gt=until).update(expires_at=until)
    return _issue(client=client)


@transaction.atomic
def api_client_revoke(*, client: ApiClient) -> ApiClient:
    """Revoke the client: every key stops working at once."""
    now = timezone.now()
    ApiClient.objects.filter(pk=client.pk, revoked_at__isnull=True).update(revoked_at=now)
    client.keys.filter(expires_at__isnull=True).update(expires_at=now)
    client.keys.filter(expires_at__gt=now).update(expires_at=now)
    client.refresh_from_db()
    return client


def api_key_authenticate(key: str) -> ApiClient | None:
    """The active client a presented key belongs to, or None (unknown, expired, revoked). The
    comparison of hashes is constant-time."""
    prefix, _, rest = key.rpartition("_")
    if not prefix.startswith(KEY_PREFIX) or not rest or len(prefix) > 16:
        return None
    api_key = ApiKey.objects.select_related("client").filter(prefix=prefix).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, _hash(key)):
        return None
    if not api_key.is_usable() or not api_key.client.is_active:
        return None
    return api_key.client
