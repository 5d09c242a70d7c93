"""Writes about webhooks: endpoints (create, delete, rotate the secret, enable), events (written
with the state change they announce) and deliveries (one attempt at a time, retried with
backoff, redelivered by staff, re-sent by the sweeper). Only these functions enqueue work:
after the commit, a delivery's primary key only, by the task's registered name."""

from __future__ import annotations

import json
import logging
import random
import secrets as token_source
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from celery import current_app
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from hostapi.models import AccountLink, ApiClient
from kernel import alerts
from kernel.db import release_connection

from . import signing, transport
from .addresses import BlockedAddress, UnresolvableHost, checked_addresses
from .app_settings import app_settings
from .models import AccountSequence, Delivery, DeliveryAttempt, Event, WebhookEndpoint

logger = logging.getLogger("webhooks")

DELIVER = "webhooks.deliver"
ERASED = "erased"
LOCALHOSTS = ("localhost", "127.0.0.1", "::1")
#: Seconds the registration waits for the URL's host to resolve (the check at each delivery
#: holds whatever happens here).
REGISTRATION_RESOLVE_TIMEOUT = 3.0
BLOCKED_ADDRESS = "blocked_address"
DEADLINE_EXCEEDED = "deadline_exceeded"
UNRESOLVABLE_HOST = "dns_error"
#: Seconds past the time-out that an attempt in flight keeps its delivery to itself.
LEASE_MARGIN = 60
SWEEP_BATCH = 500
#: Retries past this many double the wait no further (the cap applies long before).
_MAX_DOUBLINGS = 30
Status = Delivery.Status


# --- endpoints ---------------------------------------------------------------------------------


def endpoint_url_validate(url: str) -> str:
    """The URL as given, or a ValidationError for the ``url`` field: https only (http on
    localhost when ``WEBHOOKS_ALLOW_HTTP_LOCALHOST``), no credentials in it, and a host that
    is not (and does not now resolve to) a private, loopback, link-local or otherwise
    non-public address (``webhooks.addresses``). A name that does not resolve yet is accepted:
    each delivery checks again."""
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError(
            {"url": _("Enter a full URL, such as https://platform.example/webhooks/realname.")}
        ) from None
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ValidationError({"url": _("Leave user names and passwords out of the URL.")})
    local_http = (
        parts.scheme == "http"
        and app_settings.ALLOW_HTTP_LOCALHOST
        and (parts.hostname or "") in LOCALHOSTS
    )
    if parts.scheme != "https" and not local_http:
        raise ValidationError({"url": _("The endpoint must use https://.")})
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        checked_addresses(parts.hostname or "", port, timeout=REGISTRATION_RESOLVE_TIMEOUT)
    except BlockedAddress:
        raise ValidationError(
            {
                "url": _(
                    "This host is, or resolves to, a private, loopback, link-local or other "
                    "non-public address: webhooks go to public internet addresses only."
                )
            }
        ) from None
    except UnresolvableHost:
        pass
    return url


@dataclass(frozen=True)
class IssuedSecret:
    """An endpoint with its signing secret as issued: ``secret`` is shown once."""

    endpoint: WebhookEndpoint
    secret: str


class EndpointLimitReached(Exception):
    """The client has ``WEBHOOKS_MAX_ENDPOINTS_PER_CLIENT`` endpoints already."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"An API client may have {limit} webhook endpoints at most.")
        self.limit = limit


def endpoint_create(*, client: ApiClient, url: str) -> IssuedSecret:
    """A new endpoint with its secret; ``EndpointLimitReached`` when the client has its
    ``WEBHOOKS_MAX_ENDPOINTS_PER_CLIENT`` already. The client's row stays locked until the
    commit, so concurrent creations are counted one after the other. The URL's host is looked
    up before the transaction (a slow resolver must not hold it open), and not at all for a
    client already at its limit."""
    limit = app_settings.MAX_ENDPOINTS_PER_CLIENT
    if WebhookEndpoint.objects.filter(client=client).count() >= limit:
        raise EndpointLimitReached(limit)
    url = endpoint_url_validate(url)
    with transaction.atomic():
        ApiClient.objects.select_for_update().filter(pk=client.pk).values_list("pk").get()
        if WebhookEndpoint.objects.filter(client=client).count() >= limit:
            raise EndpointLimitReached(limit)
        secret = signing.new_secret()
        endpoint = WebhookEndpoint.objects.create(client=client, url=url, secret=secret)
    logger.info("webhook endpoint %s created for client %s", endpoint.pk, client.pk)
    return IssuedSecret(endpoint=endpoint, secret=secret)


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """The endpoint goes, with its deliveries and their log: nothing more is sent to it."""
    logger.info("webhook endpoint %s deleted", endpoint.pk)
    endpoint.delete()


@transaction.atomic
def endpoint_rotate_secret(
    *, endpoint: WebhookEndpoint, overlap: timedelta | None = None
) -> IssuedSecret:
    """A new signing secret; the current one goes on signing beside it for ``overlap``
    (``WEBHOOKS_SECRET_OVERLAP`` by default; zero ends it now), so receivers can switch."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if overlap is None:
        overlap = timedelta(seconds=app_settings.SECRET_OVERLAP)
    secret = signing.new_secret()
    endpoint.previous_secret = endpoint.secret if overlap > timedelta(0) else None
    endpoint.previous_secret_expires_at = timezone.now() + overlap if overlap else None
    endpoint.secret = secret
    endpoint.save()
    logger.info("webhook endpoint %s secret rotated", endpoint.pk)
    return IssuedSecret(endpoint=endpoint, secret=secret)


def signing_secrets(endpoint: WebhookEndpoint, *, now: datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one during its
    overlap."""
    found = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires and expires > now:
        found.append(endpoint.previous_secret)
    return found


@transaction.atomic
def endpoint_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Enable an endpoint again (its receiver was fixed): the deliveries held while it was
    disabled go now, with a fresh retry window."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.enabled = True
    endpoint.disabled_reason = ""
    endpoint.disabled_at = None
    endpoint.consecutive_failures = 0
    endpoint.failing_since = None
    endpoint.save()
    now = timezone.now()
    held = list(endpoint.deliveries.filter(status=Status.PENDING).values_list("pk", flat=True))
    Delivery.objects.filter(pk__in=held).update(next_attempt_at=now, window_started_at=now)
    for delivery_id in held:
        _enqueue(delivery_id)
    return endpoint


@transaction.atomic
def endpoint_disable(
    *, endpoint: WebhookEndpoint, reason: str = WebhookEndpoint.DisabledReason.STAFF
) -> WebhookEndpoint:
    """Stop sending to an endpoint; new events are still recorded for it (held as pending)."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_reason=reason, disabled_at=timezone.now()
    )
    endpoint.refresh_from_db()
    return endpoint


# --- events ------------------------------------------------------------------------------------


def _next_sequence(user_id: int) -> int:
    """The account's next sequence number. The counter row stays locked until the commit, so a
    concurrent change of the same account waits: numbers follow commit order."""
    table = AccountSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, last) VALUES (%s, 1) "  # noqa: S608 - our table
            f"ON CONFLICT (user_id) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [user_id],
        )
        return int(cursor.fetchone()[0])


def _recipients(user_id: int) -> list[tuple[WebhookEndpoint, str]]:
    """Every endpoint of every active client linked to the account, with the client's own
    reference for it. A client never hears of an account not linked to it."""
    # Written out: every state change of every account asks this, and for most accounts (no
    # platform linked) it is all the webhooks do; the ORM spent longer building the query
    # than PostgreSQL answering it (bench/results.md, worker CPU part by part).
    links, clients = AccountLink._meta.db_table, ApiClient._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT link.client_id, link.reference FROM {links} link "  # noqa: S608 - our tables
            f"JOIN {clients} client ON client.id = link.client_id "
            "WHERE link.user_id = %s AND client.revoked_at IS NULL",
            [user_id],
        )
        references = dict(cursor.fetchall())
    if not references:
        return []
    endpoints = WebhookEndpoint.objects.filter(client_id__in=references).order_by("pk")
    return [(endpoint, references[endpoint.client_id]) for endpoint in endpoints]


def payload_of(event: Event, *, account_id: uuid.UUID, reference: str) -> dict[str, Any]:
    """What the platform receives: ids, kinds, states, reason codes; never personal data."""
    return {
        "id": str(event.public_id),
        "type": event.type,
        "created": event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "sequence": event.sequence,
        "account": {"id": str(account_id), "reference": reference},
        "verification": str(event.verification_public_id) if event.verification_public_id else None,
        "kind": event.kind or None,
        "state": event.state or None,
        "reason_code": event.reason_code or None,
        "document_type": event.document_type or None,
        "provider": event.provider or None,
    }


@transaction.atomic(savepoint=False)  # inside the change's transaction: one fate, no savepoint
def event_record(
    *,
    user_id: int,
    event_type: str,
    kind: str = "",
    verification_public_id: uuid.UUID | None = None,
    state: str = "",
    reason_code: str = "",
    document_type: str = "",
    provider: str = "",
) -> Event | None:
    """Write the event of a state change, in the transaction making the change, with one
    delivery per endpoint of the clients linked to the account; the deliveries are queued once
    it commits. None when no client linked to the account has an endpoint."""
    recipients = _recipients(user_id)
    if not recipients:
        return None
    account_id = User.objects.filter(pk=user_id).values_list("public_id", flat=True).get()
    event = Event.objects.create(
        type=event_type,
        user_id=user_id,
        sequence=_next_sequence(user_id),
        kind=kind,
        verification_public_id=verification_public_id,
        state=state,
        reason_code=reason_code,
        document_type=document_type,
        provider=provider,
    )
    now = timezone.now()
    deliveries = Delivery.objects.bulk_create(
        Delivery(
            event=event,
            endpoint=endpoint,
            body=json.dumps(
                payload_of(event, account_id=account_id, reference=reference),
                separators=(",", ":"),
            ),
            next_attempt_at=now,
            window_started_at=now,
        )
        for endpoint, reference in recipients
    )
    for delivery in deliveries:
        if delivery.endpoint.enabled:
            _enqueue(delivery.pk)
    return event


def event_record_state_change(
    sender: Any,
    *,
    kind: str,
    verification_public_id: uuid.UUID,
    user_id: int,
    event_type: str,
    state: str,
    reason_code: str,
    document_type: str,
    provider: str,
    **kwargs: Any,
) -> None:
    """The receiver of ``verification.signals.state_changed``."""
    event_record(
        user_id=user_id,
        event_type=event_type,
        kind=kind,
        verification_public_id=verification_public_id,
        state=state,
        reason_code=reason_code,
        document_type=document_type,
        provider=provider,
    )


def event_record_account_erased(*, user: User) -> Event | None:
    """The account is being closed: its platforms hear ``erased`` (call it in the closing's
    transaction, before the account's links go)."""
    return event_record(user_id=user.pk, event_type=ERASED)


# --- deliveries --------------------------------------------------------------------------------


def _enqueue(delivery_id: int, countdown: float = 0) -> None:
    transaction.on_commit(lambda: _send_task(delivery_id, countdown))


def _send_task(delivery_id: int, countdown: float) -> None:
    """Publish; a broker that refuses leaves the delivery pending for the sweeper."""
    try:
        current_app.send_task(DELIVER, args=(delivery_id,), countdown=countdown or None)
    except Exception as exc:  # the delivery waits; the caller must not fail
        logger.warning(
            "broker unavailable (%s): delivery %s waits for the sweeper",
            type(exc).__name__,
            delivery_id,
        )


def backoff_seconds(retries: int) -> float:
    """Exponential with jitter, capped: about 1, 2, 4... times the base, never above the cap."""
    ceiling = min(
        app_settings.RETRY_BACKOFF_MAX,
        app_settings.RETRY_BACKOFF * (2 ** min(max(retries - 1, 0), _MAX_DOUBLINGS)),
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not security


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: a 2xx, or the status code or error class, and whether trying
    again may help (5xx, 408, 429, time-outs, connection errors)."""

    delivered: bool
    status_code: int | None
    error: str
    retryable: bool
    duration_ms: int


@dataclass(frozen=True)
class Claim:
    """A delivery taken for one attempt: the secrets that sign it, and the token that proves
    the attempt still holds it when its outcome is recorded."""

    delivery: Delivery
    secrets: list[str]
    token: str


def _claim(delivery_id: int, *, now: datetime) -> Claim | None:
    """Take a due delivery for one attempt: its due time moves past the attempt's time-out (the
    attempt ends by then: ``webhooks.transport``), so a duplicate task (or the sweeper) finds
    nothing to do while the attempt runs; a fresh claim token marks this attempt as the one
    whose outcome counts. None when it is not due, already delivered or failed, or its
    endpoint is disabled."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("endpoint", "event")
            .filter(pk=delivery_id)
            .first()
        )
        if (
            delivery is None
            or delivery.status != Status.PENDING
            or not delivery.endpoint.enabled
            or delivery.next_attempt_at > now
        ):
            return None
        delivery.next_attempt_at = now + timedelta(seconds=app_settings.TIMEOUT + LEASE_MARGIN)
        delivery.claim_token = token_source.token_hex(16)
        delivery.save(update_fields=["next_attempt_at", "claim_token"])
        return Claim(delivery, signing_secrets(delivery.endpoint, now=now), delivery.claim_token)


def _post(delivery: Delivery, secrets: list[str], *, now: datetime) -> Outcome:
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "realname-webhooks/1",
        signing.EVENT_ID_HEADER: str(delivery.event.public_id),
        signing.SIGNATURE_HEADER: signing.signature_header(secrets, body, int(now.timestamp())),
    }
    started = time.monotonic()
    status_code: int | None = None
    try:
        status_code = transport.post(
            delivery.endpoint.url, content=body, headers=headers, timeout=app_settings.TIMEOUT
        )
        delivered = 200 <= status_code < 300
        error = "" if delivered else f"http_{status_code}"
        retryable = status_code >= 500 or status_code in (408, 429)
    except BlockedAddress:  # sending again would be refused again: the URL must change
        delivered, error, retryable = False, BLOCKED_ADDRESS, False
        logger.warning(
            "webhook delivery %s refused: endpoint %s resolves to a refused address",
            delivery.pk,
            delivery.endpoint_id,
        )
    except UnresolvableHost:
        delivered, error, retryable = False, UNRESOLVABLE_HOST, True
    except transport.DeadlineExceeded:  # the receiver trickled its answer past the time-out
        delivered, error, retryable = False, DEADLINE_EXCEEDED, True
    except httpx.TransportError as exc:  # time-outs, refused and reset connections
        delivered, error, retryable = False, type(exc).__name__, True
    except httpx.HTTPError as exc:
        delivered, error, retryable = False, type(exc).__name__, False
    duration_ms = int((time.monotonic() - started) * 1000)
    return Outcome(delivered, status_code, error, retryable, duration_ms)


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> Delivery | None:
    """One attempt of a due delivery (what the ``webhooks.deliver`` task does). Running it
    twice, or while another attempt runs, sends nothing more: a delivered webhook is never sent
    again (unless staff redeliver it). ``now`` is for tests that move the clock."""
    claim = _claim(delivery_id, now=now or timezone.now())
    if claim is None:
        return None
    # The receiver may take the whole time-out: the pooled connection waits in the pool, not
    # in this thread (as verification tasks do around a vendor call; kernel.db).
    release_connection()
    outcome = _post(claim.delivery, claim.secrets, now=now or timezone.now())
    return _record(delivery_id, outcome, token=claim.token, now=now or timezone.now())


@transaction.atomic
def _record(delivery_id: int, outcome: Outcome, *, token: str, now: datetime) -> Delivery:
    """Log the attempt; if it still holds the delivery (its claim token is the delivery's),
    its outcome decides the status, the next attempt and the endpoint's failure count. A stale
    attempt (its claim outlived, a newer attempt or a redelivery took over) is logged only."""
    delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
    delivery.attempts += 1
    if not token or delivery.claim_token != token:
        logger.info("webhook delivery %s: a stale attempt ended (logged only)", delivery.pk)
        _log_attempt(delivery, outcome, now=now, will_retry=False)
        delivery.save(update_fields=["attempts"])
        return delivery
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    delivery.claim_token = ""
    will_retry = False
    if outcome.delivered:
        delivery.status = Status.DELIVERED
        delivery.delivered_at = now
        endpoint.consecutive_failures = 0
        endpoint.failing_since = None
    else:
        endpoint.consecutive_failures += 1
        endpoint.failing_since = endpoint.failing_since or now
        window_ends = delivery.window_started_at + timedelta(seconds=app_settings.RETRY_WINDOW)
        # Failures of this window that were retried (a stale attempt's row is not one of them).
        retries = (
            delivery.log.filter(at__gte=delivery.window_started_at, will_retry=True).count() + 1
        )
        if outcome.retryable and now < window_ends:
            due = min(now + timedelta(seconds=backoff_seconds(retries)), window_ends)
            delivery.next_attempt_at = due
            will_retry = True
            _enqueue(delivery.pk, countdown=max(0.0, (due - timezone.now()).total_seconds()))
        else:
            delivery.status = Status.FAILED
        logger.info(
            "webhook delivery %s to endpoint %s failed (%s)%s",
            delivery.pk,
            endpoint.pk,
            outcome.error,
            ", will retry" if will_retry else "",
        )
    _log_attempt(delivery, outcome, now=now, will_retry=will_retry)
    delivery.save()
    _disable_if_failing(endpoint, now=now)
    endpoint.save()
    return delivery


def _log_attempt(delivery: Delivery, outcome: Outcome, *, now: datetime, will_retry: bool) -> None:
    DeliveryAttempt.objects.create(
        delivery=delivery,
        at=now,
        status_code=outcome.status_code,
        duration_ms=outcome.duration_ms,
        error=outcome.error[:64],
        will_retry=will_retry,
    )


def _disable_if_failing(endpoint: WebhookEndpoint, *, now: datetime) -> None:
    """Every attempt failed for ``WEBHOOKS_DISABLE_AFTER``, ``WEBHOOKS_DISABLE_AFTER_FAILURES``
    times at least: stop sending (new events are held) and tell the support team."""
    since = endpoint.failing_since
    if (
        not endpoint.enabled
        or since is None
        or endpoint.consecutive_failures < app_settings.DISABLE_AFTER_FAILURES
        or (now - since).total_seconds() < app_settings.DISABLE_AFTER
    ):
        return
    endpoint.enabled = False
    endpoint.disabled_reason = WebhookEndpoint.DisabledReason.FAILING
    endpoint.disabled_at = now
    logger.warning("webhook endpoint %s disabled after persistent failure", endpoint.pk)
    alerts.alert(
        key=f"webhook_endpoint_disabled:{endpoint.pk}",
        subject="A webhook endpoint was disabled after persistent failure",
        facts={
            "endpoint_id": endpoint.pk,
            "client_id": endpoint.client_id,
            "failures_in_a_row": endpoint.consecutive_failures,
            "failing_since": since.isoformat(),
        },
    )


@transaction.atomic
def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Staff send a delivery again (delivered, failed or pending), same body, signed anew, with
    a fresh retry window. It waits if its endpoint is disabled."""
    delivery = Delivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    now = timezone.now()
    delivery.status = Status.PENDING
    delivery.delivered_at = None
    delivery.next_attempt_at = delivery.window_started_at = now
    delivery.claim_token = ""  # an attempt still in flight no longer counts: this one does
    delivery.save()
    if delivery.endpoint.enabled:
        _enqueue(delivery.pk)
    return delivery


def delivery_sweep(*, now: datetime | None = None) -> int:
    """Send again the pending deliveries of enabled endpoints overdue by more than
    ``WEBHOOKS_STUCK_AFTER`` (the broker or a killed worker lost their task). Safe any time:
    an attempt claims its delivery first. Returns how many were sent."""
    now = now or timezone.now()
    ids = list(
        Delivery.objects.filter(
            status=Status.PENDING,
            endpoint__enabled=True,
            next_attempt_at__lt=now - timedelta(seconds=app_settings.STUCK_AFTER),
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    with transaction.atomic():
        for delivery_id in ids:
            _enqueue(delivery_id)
    if ids:
        logger.info("webhooks sweeper re-enqueued %s deliveries", len(ids))
    return len(ids)
