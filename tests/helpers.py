"""Plain helpers that tests in several packages share: waiting for the real worker, reading
texted codes and authenticator codes, the support desk's addresses. (Fixtures are in the
conftest.py files; made-up data and records in factories.py.)"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import redis
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings

from accounts.models import ConsentRecord, LegalDocument, User
from accounts.selectors import legal_document_current
from enterprise.models import EnterpriseVerification
from tests.factories import DEMO, TOTP_SECRET, MemberFactory
from verification import services
from verification.models import PersonalVerification

Status = PersonalVerification.Status
TOTP_PERIOD = 30  # seconds, as allauth and authenticator apps count them


# --- other processes -------------------------------------------------------------------------


def database_url(db: dict) -> str:
    """DATABASE_URL for another process, pointing at the database this test run uses."""
    host = db.get("HOST") or ""
    host = quote(host, safe="") if host.startswith("/") else host
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


# --- the real worker ---------------------------------------------------------------------------


def wait_for(
    verification: PersonalVerification,
    predicate: Callable[[PersonalVerification], bool],
    timeout: float = 30,
) -> PersonalVerification:
    """Re-read ``verification`` until ``predicate`` holds; fails with where it got stuck."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        verification.refresh_from_db()
        if predicate(verification):
            return verification
        time.sleep(0.1)
    raise AssertionError(
        f"verification stuck in {verification.status}/{verification.step} "
        f"({verification.reason_code or 'no reason'})"
    )


def _queued_messages() -> int:
    """Messages waiting in this test run's queue at the broker (kombu's Redis transport keeps
    one list per queue, and one more per priority step)."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    keys = [queue, *(f"{queue}\x06\x16{priority}" for priority in (3, 6, 9))]
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        return sum(int(broker.llen(key)) for key in keys)  # type: ignore[arg-type]
    finally:
        broker.close()


def wait_until_the_worker_is_idle(node: str, timeout: float = 30) -> None:
    """Wait until nothing is left for the worker ``node``: no message waiting at the broker and
    none running, prefetched or held for a retry, as the worker itself reports (twice in a row,
    so a message being handed over is not missed)."""
    from realname.celery import app

    deadline = time.monotonic() + timeout
    idle_in_a_row = 0
    while time.monotonic() < deadline:
        waiting = _queued_messages()
        inspect = app.control.inspect([node], timeout=1)
        replies = [inspect.active(), inspect.reserved(), inspect.scheduled()]
        # A worker that did not answer (None) is not known to be idle.
        if waiting == 0 and all(reply is not None and reply.get(node) == [] for reply in replies):
            idle_in_a_row += 1
            if idle_in_a_row == 2:
                return
        else:
            idle_in_a_row = 0
        time.sleep(0.1)
    raise AssertionError(f"the worker {node} still had work after {timeout} s")


def submit_demo(user: User, **overrides: Any) -> PersonalVerification:
    """The demo identity submitted by ``user``; the worker takes it from there."""
    return services.verification_submit(user=user, **{**DEMO, **overrides})


def at_the_face_page(live_server: Any) -> PersonalVerification:
    """A demo identity checked by the worker, face consent given, a face session opened."""
    verification = submit_demo(MemberFactory.create(face=True))
    verification = wait_for(verification, lambda v: v.status == Status.IN_PROGRESS)
    services.verification_request_face(
        verification=verification,
        return_url=f"{live_server.url}/verification/personal/{verification.public_id}/return/",
        notify_url=f"{live_server.url}/verification/provider/notify/",
    )
    return wait_for(verification, lambda v: bool(v.liveness_url))


def finish_face_check(verification: PersonalVerification, outcome: str) -> None:
    """What the person does on the provider's hosted page."""
    response = httpx.post(verification.liveness_url, data={"outcome": outcome}, timeout=10)
    assert response.status_code == 303
    assert response.headers["location"] == verification.return_url


# --- accounts ----------------------------------------------------------------------------------


def last_code(outbox: list[Any], phone: str) -> str:
    """The code most recently texted to ``phone`` (the locmem SMS backend's outbox)."""
    for message in reversed(outbox):
        if message.to == phone and message.code:
            assert message.code in message.body
            return message.code
    raise AssertionError(f"no code was texted to {phone}")


def current(slug: str) -> LegalDocument:
    """The version of ``slug`` in force now; every shipped document is published in tests."""
    document = legal_document_current(slug)
    assert document is not None, f"{slug} is not published"
    return document


def first_record(user: User) -> ConsentRecord:
    record = ConsentRecord.objects.filter(user=user).first()
    assert record is not None
    return record


def totp_code(secret: str = TOTP_SECRET, *, valid_for: float = 5) -> str:
    """What the authenticator app shows. With less than ``valid_for`` seconds of its period
    left, it waits for the next code, as a person would: allauth accepts only the current
    period's code, and it must still be current when the server checks it."""
    left = TOTP_PERIOD - time.time() % TOTP_PERIOD
    if left < valid_for:
        time.sleep(left + 0.05)
    return format_hotp_value(hotp_value(secret, int(time.time()) // TOTP_PERIOD))


def in_a_fresh_window(period: float, *, needed: float = 5) -> None:
    """The kernel's rate limits count in fixed windows that start over at every multiple of
    ``period`` seconds. With less than ``needed`` seconds of the current one left, wait for the
    next, so that all of a test's requests are counted in one window."""
    left = period - time.time() % period
    if left < needed:
        time.sleep(left + 0.05)


# --- the support desk --------------------------------------------------------------------------

QUEUE = "/admin/support/reviewqueue/"
AUDIT = "/admin/support/auditentry/"


def detail_url(verification: PersonalVerification | EnterpriseVerification) -> str:
    return f"{QUEUE}{verification.kind}/{verification.public_id}/"
