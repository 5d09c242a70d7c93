"""The platform's side of webhooks, as a real HTTP server in a thread of the test process: it
checks each request with the receiver code of docs/webhooks.md (run from the document itself,
so the documentation cannot drift from what works), handles each event id once, and can be told
to answer 5xx, 4xx or not at all for a while."""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from accounts.models import User
from hostapi.models import AccountLink, ApiClient, Scope
from hostapi.services import api_client_create
from tests.factories import MemberFactory
from tests.helpers import submit_demo
from webhooks import services
from webhooks.models import Delivery, WebhookEndpoint

from .receiver import DOCS, README, receiver_snippet  # noqa: F401 - DOCS for the tests

VerifiedEvent = Callable[..., "dict[str, Any] | None"]


@pytest.fixture(scope="session")
def verified_event() -> VerifiedEvent:
    """``verified_event(secret, body, signature, now=None)`` exactly as the README has it."""
    namespace: dict[str, Any] = {}
    exec(compile(receiver_snippet(), str(README), "exec"), namespace)  # noqa: S102 - our own docs
    return namespace["verified_event"]


@dataclass
class Received:
    """One request as it arrived: the raw body, the headers, and what the receiver made of it."""

    body: bytes
    headers: dict[str, str]
    answered: int
    outcome: str  # "handled", "duplicate", "refused" (bad signature), "scripted" (told to fail)

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """The platform's endpoint. ``script`` holds answers for the next requests: a status code,
    or "hang" (no answer until the sender's time-out). After it, requests are verified with the
    docs' code against ``secret``: 400 when refused, 200 when handled or already seen."""

    verified_event: VerifiedEvent
    secret: str = ""
    script: list[int | str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    handled: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    # Events answered 503 while this says so (an event that must arrive late).
    hold: Callable[[dict[str, Any]], bool] | None = None
    changed: threading.Condition = field(default_factory=threading.Condition)
    release: threading.Event = field(default_factory=threading.Event)

    def answer(self, body: bytes, headers: dict[str, str]) -> int:
        with self.changed:
            scripted = self.script.pop(0) if self.script else None
        if scripted == "hang":
            # The outside world not answering: held until the sender gave up (or the test ends).
            self.release.wait(timeout=10)
            return self._note(body, headers, 503, "scripted")
        if isinstance(scripted, int):
            return self._note(body, headers, scripted, "scripted")
        if self.hold is not None and self.hold(json.loads(body)):
            return self._note(body, headers, 503, "scripted")
        event = self.verified_event(self.secret, body, headers.get("realname-signature", ""))
        if event is None:
            return self._note(body, headers, 400, "refused")
        with self.changed:
            seen = any(handled["id"] == event["id"] for handled in self.handled)
            if not seen:
                self.handled.append(event)
        return self._note(body, headers, 200, "duplicate" if seen else "handled")

    def _note(self, body: bytes, headers: dict[str, str], status: int, outcome: str) -> int:
        with self.changed:
            self.received.append(Received(body, headers, status, outcome))
            self.changed.notify_all()
        return status

    def wait_for(self, predicate: Callable[[Receiver], bool], timeout: float = 30) -> None:
        """Until ``predicate(self)`` holds; fails with what arrived."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"the receiver got {[(r.answered, r.outcome) for r in self.received]}"
                    )
                self.changed.wait(timeout=left)

    def types(self) -> list[str]:
        return [event["type"] for event in self.handled]


@contextlib.contextmanager
def serving(state: Receiver, tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """``state`` answering on 127.0.0.1 (over TLS with ``tls``) until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status = state.answer(body, headers)
            try:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender gave up waiting (a time-out): as a real receiver would see it

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a refused TLS handshake: the sender's side is what the tests look at

    server = Server(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    state.url = f"{scheme}://127.0.0.1:{server.server_address[1]}/realname/webhooks"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(verified_event: VerifiedEvent) -> Iterator[Receiver]:
    with serving(Receiver(verified_event=verified_event)) as state:
        yield state


@dataclass
class Platform:
    """An API client of the host platform with a webhook endpoint pointing at ``receiver``."""

    client: ApiClient
    key: str
    endpoint: WebhookEndpoint
    secret: str
    receiver: Receiver

    def link(self, user: User, reference: str = "") -> AccountLink:
        return AccountLink.objects.create(
            client=self.client, user=user, reference=reference or f"platform-user-{user.pk}"
        )


def make_platform(receiver: Receiver, name: str = "game server") -> Platform:
    client, issued = api_client_create(name=name, scopes=[Scope.MANAGE_WEBHOOKS])
    made = services.endpoint_create(client=client, url=receiver.url)
    receiver.secret = made.secret
    return Platform(client, issued.key, made.endpoint, made.secret, receiver)


@pytest.fixture
def platform(db: None, receiver: Receiver) -> Platform:
    return make_platform(receiver)


@pytest.fixture
def delivery(platform: Platform) -> Delivery:
    """The ``submitted`` event of a linked account, not yet sent."""
    member = MemberFactory.create()
    platform.link(member)
    submit_demo(member)
    return Delivery.objects.get(endpoint=platform.endpoint)
