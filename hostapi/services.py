"""Writes of the host platform API: API clients (create, rotate, revoke, the authentication of
a presented key), verification sessions and the links they record, and the call log."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .app_settings import app_settings
from .models import AccountLink, ApiCall, ApiClient, ApiKey, Scope, VerificationSession

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}

KEY_PREFIX = "rn_"
LAST_USED_PRECISION = timedelta(minutes=1)


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


def _valid_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValidationError(
            _("Unknown scopes: %(scopes)s.") % {"scopes": ", ".join(unknown)}, code="scope"
        )
    return [scope for scope in Scope.values if scope in scopes]


@transaction.atomic
def api_client_create(
    *,
    name: str,
    scopes: list[str],
    created_by: User | None = None,
    return_urls: list[str] | None = None,
) -> tuple[ApiClient, IssuedKey]:
    client = ApiClient.objects.create(
        name=name,
        scopes=_valid_scopes(list(scopes)),
        return_urls=return_urls_clean(return_urls or []),
        created_by=created_by,
    )
    return client, _issue(client=client)


@transaction.atomic
def api_client_update(
    *, client: ApiClient, name: str, scopes: list[str], return_urls: list[str]
) -> ApiClient:
    """Change what a client may do; its keys stay as they are."""
    client.name = name
    client.scopes = _valid_scopes(list(scopes))
    client.return_urls = return_urls_clean(return_urls)
    client.save(update_fields=["name", "scopes", "return_urls"])
    return client


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
    # "rn_<8 hex>_<secret>": the secret is URL-safe base64, where "_" is a letter too.
    if not key.startswith(KEY_PREFIX):
        return None
    public, _, rest = key[len(KEY_PREFIX) :].partition("_")
    prefix = KEY_PREFIX + public
    if not public or not rest or len(prefix) > 16:
        return None
    api_key = ApiKey.objects.select_related("client").filter(prefix=prefix).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, _hash(key)):
        return None
    now = timezone.now()
    if not api_key.is_usable(now) or not api_key.client.is_active:
        return None
    if api_key.last_used_at is None or api_key.last_used_at < now - LAST_USED_PRECISION:
        # At most one write a minute per key: the call log has every call.
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key.client


# --- return URLs -------------------------------------------------------------------------------


def return_url_problem(url: str) -> str:
    """What is wrong with ``url`` as a place to send a person back to ('' when nothing is):
    absolute, https (http only to this machine, for development), no user name or password,
    no fragment, no dot segments."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return _("is not a valid URL")
    del port
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return _("must be an absolute http(s) URL")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        return _("must use https (http is allowed for localhost only)")
    if parts.username is not None or parts.password is not None:
        return _("must not contain a user name or password")
    if parts.fragment or "#" in url:
        return _("must not contain a fragment (#…)")
    # Browsers read %2e as "." in a path segment (WHATWG URL) and some servers %2f as "/".
    segments = [unquote(segment) for segment in parts.path.split("/")]
    encoded_separator = any(code in parts.path.lower() for code in ("%2f", "%5c"))
    if "." in segments or ".." in segments or "\\" in url or encoded_separator:
        return _("must not contain dot segments or backslashes")
    return ""


def return_urls_clean(urls: list[str]) -> list[str]:
    """The allow-list as stored: stripped, without duplicates; ValidationError naming the first
    entry that is not a valid return URL."""
    cleaned: list[str] = []
    for url in (url.strip() for url in urls):
        if not url:
            continue
        problem = return_url_problem(url)
        if problem:
            raise ValidationError(
                _("%(url)s %(problem)s.") % {"url": url, "problem": problem}, code="return_url"
            )
        if urlsplit(url).query:
            raise ValidationError(
                _("%(url)s: an allowed return URL is an origin and a path, without a query.")
                % {"url": url},
                code="return_url",
            )
        if url not in cleaned:
            cleaned.append(url)
    return cleaned


def _origin(parts: SplitResult) -> tuple[str, str, int]:
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


def return_url_allowed(*, client: ApiClient, url: str) -> bool:
    """Whether ``url`` is on the client's allow-list: the same origin (scheme, host, port) as
    an entry, and a path equal to the entry's or under it (``/realname/`` allows
    ``/realname/done`` but ``/realname`` does not allow ``/realnamex``)."""
    if return_url_problem(url):
        return False
    target = urlsplit(url)
    for entry in client.return_urls:
        allowed = urlsplit(entry)
        if _origin(allowed) != _origin(target):
            continue
        prefix = allowed.path or "/"
        if target.path == prefix or target.path.startswith(prefix.rstrip("/") + "/"):
            return True
    return False


def return_url_with_session(*, session: VerificationSession) -> str:
    """The return URL with ``session_id=<id>`` added to its query."""
    parts = urlsplit(session.return_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "session_id"]
    query.append(("session_id", str(session.public_id)))
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- verification sessions ---------------------------------------------------------------------


def session_create(
    *, client: ApiClient, reference: str, return_url: str, kind: str
) -> VerificationSession:
    """A new session for the platform's user ``reference``. ValidationError (code
    ``return_url_not_allowed``) when ``return_url`` is not on the client's allow-list."""
    if not return_url_allowed(client=client, url=return_url):
        raise ValidationError(
            _(
                "The return URL is not on this API client's allow-list (same origin and a path "
                "under an allowed one, https): ask the realname operator to add it."
            ),
            code="return_url_not_allowed",
        )
    if kind not in VerificationSession.Kind.values:
        raise ValidationError(_("Unknown kind of verification."), code="kind")
    return VerificationSession.objects.create(
        client=client,
        reference=reference,
        return_url=return_url,
        kind=kind,
        expires_at=timezone.now() + timedelta(seconds=app_settings.SESSION_LIFETIME),
    )


def session_open(*, session: VerificationSession) -> VerificationSession:
    """A signed-in person opened the session's page: ``created`` becomes ``opened`` (once)."""
    if session.status == VerificationSession.Status.CREATED and not session.is_expired:
        VerificationSession.objects.filter(
            pk=session.pk, status=VerificationSession.Status.CREATED
        ).update(status=VerificationSession.Status.OPENED, opened_at=timezone.now())
        session.refresh_from_db()
    return session


def session_refusal(*, session: VerificationSession, user: User) -> ValidationError | None:
    """Why ``user`` may not take ``session`` (None when they may): expired, taken by another
    account, the platform's reference linked to another account, or this account linked to
    another reference of the same platform."""
    if session.is_expired:
        return ValidationError(
            _("This verification link has expired. Go back to %(platform)s and start again.")
            % {"platform": session.client.name},
            code="expired",
        )
    if session.user_id is not None and session.user_id != user.pk:
        return ValidationError(
            _("This verification link was already used by another account."), code="taken"
        )
    links = list(
        AccountLink.objects.filter(client=session.client).filter(
            Q(reference=session.reference) | Q(user=user)
        )
    )
    for link in links:
        if link.reference == session.reference and link.user_id != user.pk:
            return ValidationError(
                _(
                    "%(platform)s's account is already linked to another realname account. "
                    "Sign in with that account, or contact %(platform)s."
                )
                % {"platform": session.client.name},
                code="reference_linked",
            )
        if link.user_id == user.pk and link.reference != session.reference:
            return ValidationError(
                _(
                    "Your realname account is already linked to another account at "
                    "%(platform)s. One realname account can be linked to one account there."
                )
                % {"platform": session.client.name},
                code="account_linked",
            )
    return None


def _take(session: VerificationSession, user: User) -> VerificationSession:
    """Lock the session, check the refusals again, link the account; inside a transaction."""
    session = (
        VerificationSession.objects.select_for_update().select_related("client").get(pk=session.pk)
    )
    refusal = session_refusal(session=session, user=user)
    if refusal is not None:
        raise refusal
    try:
        with transaction.atomic():
            AccountLink.objects.get_or_create(
                client=session.client, reference=session.reference, user=user
            )
    except IntegrityError:  # a concurrent session linked either side first
        raise ValidationError(
            _("This account or this platform reference was just linked elsewhere."),
            code="link_conflict",
        ) from None
    if session.user_id is None:
        session.user = user
        if session.status == VerificationSession.Status.CREATED:
            session.status = VerificationSession.Status.OPENED
            session.opened_at = timezone.now()
        session.save(update_fields=["user", "status", "opened_at"])
    return session


@transaction.atomic
def session_start(*, session: VerificationSession, user: User) -> VerificationSession:
    """The person goes on to verify from the session: the platform's reference is linked to the
    account now, so the platform can follow a verification that takes longer than the
    session (an enterprise review)."""
    return _take(session, user)


@transaction.atomic
def session_complete(*, session: VerificationSession, user: User) -> VerificationSession:
    """The person returns to the platform: the link is recorded and the session completed. A
    second completion by the same account changes nothing."""
    session = _take(session, user)
    if session.status != VerificationSession.Status.COMPLETED:
        session.status = VerificationSession.Status.COMPLETED
        session.completed_at = timezone.now()
        session.save(update_fields=["status", "completed_at"])
    return session


# --- the call log ------------------------------------------------------------------------------


def api_call_record(*, client: ApiClient, operation: str, method: str, status_code: int) -> None:
    """One row per call; what it was about (query values, bodies) is never recorded."""
    ApiCall.objects.create(
        client=client, operation=operation[:64], method=method[:8], status_code=status_code
    )
