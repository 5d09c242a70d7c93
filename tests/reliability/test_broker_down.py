"""The broker is down when a person submits: the submission is stored and shown as pending, the
page answers at once, and the sweeper sends the work when the broker is back."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from realname.celery import app
from tests.factories import DEMO, MemberFactory
from tests.helpers import wait_for
from verification import services
from verification.models import PersonalVerification

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = PersonalVerification.Status
DEAD_BROKER = "redis://127.0.0.1:9/0"  # the discard port: nothing listens, connections refused


def _reset_connections() -> None:
    """Forget the app's pools, so the next publish connects to the broker URL now set (kombu
    keeps one pool per URL: the working one is still there when switched back)."""
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_down() -> Iterator[Callable[[], None]]:
    """Point this process's Celery app (the web side) at a broker that refuses connections;
    the worker process keeps its own, working broker. Yields the function that brings it back."""
    original = app.conf.broker_url

    def back() -> None:
        app.conf.broker_url = original
        _reset_connections()

    app.conf.broker_url = DEAD_BROKER
    _reset_connections()
    try:
        yield back
    finally:
        back()


def test_a_submission_during_a_broker_outage_is_kept_and_sent_later(
    worker, broker_down, client, caplog
):
    user = MemberFactory.create()
    client.force_login(user)

    with caplog.at_level(logging.WARNING, logger="kernel.queueing"):
        response = client.post(
            "/verification/personal/",
            {k: DEMO[k] for k in ("name", "document_type", "document_number")},
        )

    verification = PersonalVerification.objects.get(user=user)
    assert response.status_code == 302
    assert response["Location"] == f"/verification/personal/{verification.public_id}/"
    page = client.get(response["Location"], headers={"accept-language": "en"})
    assert 'data-verification-status="submitted"' in page.content.decode()
    assert "waits for the sweeper" in caplog.text
    assert DEMO["document_number"] not in caplog.text and DEMO["name"] not in caplog.text

    # The broker is back; the sweeper (every minute in production) finds the waiting record.
    broker_down()
    counts = services.verification_sweep(now=timezone.now() + timedelta(minutes=5))

    assert counts["check_identity"] >= 1
    wait_for(verification, lambda v: v.status == Status.IN_PROGRESS)
