"""An attempt holds its delivery for its time-out plus a margin, and ends by then: a receiver
trickling its answer is cut at ``WEBHOOKS_TIMEOUT`` in all (not per read). Should an attempt
still outlive its claim, its outcome is logged but moves neither the status nor the schedule:
only the attempt holding the current claim token decides."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from webhooks import services
from webhooks.app_settings import app_settings
from webhooks.models import Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db
Status = Delivery.Status


@dataclass
class Trickler:
    """A receiver that answers one byte at a time, each well within a read's time-out, for far
    longer than the whole attempt may take."""

    url: str = ""
    gone: threading.Event = field(default_factory=threading.Event)  # the sender hung up
    finished: threading.Event = field(default_factory=threading.Event)  # it sent everything
    stop: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    state = Trickler()
    listener = socket.create_server(("127.0.0.1", 0))
    state.url = f"http://127.0.0.1:{listener.getsockname()[1]}/realname/webhooks"

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)  # the request (small: headers and a short body)
            answer = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
            for byte in answer:
                if state.stop.wait(0.1):
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:  # the sender closed the connection
                    state.gone.set()
                    return
            state.finished.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        listener.close()


def test_a_trickling_receiver_is_cut_at_the_time_out_in_all(delivery, trickler, settings):
    settings.WEBHOOKS_TIMEOUT = 1.0  # each byte comes within 0.1 s; all of them take 20 s
    WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(url=trickler.url)

    services.delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)

    delivery.refresh_from_db()
    entry = delivery.log.get()
    # Cut at the deadline: normally while bytes still trickle in (deadline_exceeded); on a
    # machine too loaded to read one byte in time, by the read's own share of it.
    assert entry.status_code is None and entry.will_retry
    assert entry.error in ("deadline_exceeded", "ReadTimeout")
    assert delivery.status == Status.PENDING
    assert trickler.gone.wait(timeout=30)  # we hung up on it...
    assert not trickler.finished.is_set()  # ...before it had answered


def test_a_stale_attempt_is_logged_but_changes_neither_status_nor_schedule(delivery, platform):
    """The first attempt outlived its claim (a worker paused past the lease); a second attempt
    took the delivery. The first one's late success is logged, and that is all; the second
    one's outcome counts."""
    due = delivery.next_attempt_at
    first = services._claim(delivery.pk, now=due)
    lease_over = due + timedelta(seconds=app_settings.TIMEOUT + services.LEASE_MARGIN + 1)
    second = services._claim(delivery.pk, now=lease_over)
    assert first is not None and second is not None
    assert first.token != second.token
    claimed = Delivery.objects.get(pk=delivery.pk)

    stale = services.Outcome(
        delivered=True, status_code=200, error="", retryable=False, duration_ms=5
    )
    recorded = services._record(delivery.pk, stale, token=first.token, now=lease_over)

    assert recorded.status == Status.PENDING
    assert recorded.next_attempt_at == claimed.next_attempt_at  # the second attempt's lease
    assert recorded.delivered_at is None
    assert [(e.status_code, e.will_retry) for e in recorded.log.all()] == [(200, False)]
    assert Delivery.objects.get(pk=delivery.pk).claim_token == second.token

    # A stale failure does not count against the endpoint either.
    failure = services.Outcome(
        delivered=False, status_code=503, error="http_503", retryable=True, duration_ms=5
    )
    services._record(delivery.pk, failure, token=first.token, now=lease_over)
    endpoint = WebhookEndpoint.objects.get(pk=platform.endpoint.pk)
    assert endpoint.consecutive_failures == 0
    assert Delivery.objects.get(pk=delivery.pk).status == Status.PENDING

    # The attempt holding the claim decides.
    ended = lease_over + timedelta(seconds=1)
    current = services._record(delivery.pk, failure, token=second.token, now=ended)
    assert current.status == Status.PENDING
    assert current.next_attempt_at > ended  # its retry, with backoff
    assert current.log.latest("at").will_retry is True
    assert current.claim_token == ""
    assert current.attempts == 3
    assert WebhookEndpoint.objects.get(pk=platform.endpoint.pk).consecutive_failures == 1


def test_a_redelivery_by_staff_makes_the_attempt_in_flight_stale(delivery, platform):
    due = delivery.next_attempt_at
    in_flight = services._claim(delivery.pk, now=due)
    assert in_flight is not None

    services.delivery_redeliver(delivery=delivery)
    failure = services.Outcome(
        delivered=False, status_code=400, error="http_400", retryable=False, duration_ms=5
    )
    recorded = services._record(delivery.pk, failure, token=in_flight.token, now=due)

    assert recorded.status == Status.PENDING  # not failed: the redelivery goes on
    delivery.refresh_from_db()
    services.delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.status == Status.DELIVERED
    assert [r.outcome for r in platform.receiver.received] == ["handled"]
