"""Webhooks as they really run: committed rows, the real Celery worker process sending to the
receiver over HTTP, the sandbox vendor deciding the verification."""

from __future__ import annotations

import time

import pytest
from celery import current_app

from tests.factories import MemberFactory
from tests.helpers import finish_face_check, submit_demo, wait_for, wait_until_the_worker_is_idle
from verification import services as personal_services
from verification.models import PersonalVerification
from webhooks import services
from webhooks.models import Delivery, DeliveryAttempt, Event

from .conftest import Platform

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = PersonalVerification.Status


def delivered(delivery: Delivery, timeout: float = 30) -> Delivery:
    """Re-read ``delivery`` until the worker recorded it delivered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery.refresh_from_db()
        if delivery.status == Delivery.Status.DELIVERED:
            return delivery
        time.sleep(0.1)
    raise AssertionError(f"delivery still {delivery.status} after {delivery.attempts} attempts")


def test_a_verification_passing_at_the_sandbox_vendor_reaches_the_platform_signed(
    worker, live_server, platform: Platform
):
    member = MemberFactory.create(face=True)
    platform.link(member, reference="player-1")
    verification = wait_for(submit_demo(member), lambda v: v.status == Status.IN_PROGRESS)
    personal_services.verification_request_face(
        verification=verification,
        return_url=f"{live_server.url}/verification/personal/{verification.public_id}/return/",
        notify_url=f"{live_server.url}/verification/provider/notify/",
    )
    verification = wait_for(verification, lambda v: bool(v.liveness_url))

    finish_face_check(verification, "pass")

    receiver = platform.receiver
    receiver.wait_for(lambda r: "passed" in r.types())
    # Each was verified with the docs' code, under the endpoint's secret, and handled once.
    assert all(r.outcome == "handled" for r in receiver.received)
    in_order = sorted(receiver.handled, key=lambda event: event["sequence"])
    assert [e["type"] for e in in_order] == ["submitted", "progressed", "passed"]
    assert {e["account"]["reference"] for e in in_order} == {"player-1"}
    assert in_order[-1]["verification"] == str(verification.public_id)


def test_5xx_and_time_outs_are_retried_by_the_worker_until_delivered(worker, platform):
    platform.receiver.script = [503, "hang", 500]
    member = MemberFactory.create()
    platform.link(member)

    submit_demo(member)  # submitted, then progressed once the sandbox checked the identity

    platform.receiver.wait_for(lambda r: len(r.handled) == 2)
    deliveries = [delivered(delivery) for delivery in Delivery.objects.all()]
    errors = DeliveryAttempt.objects.filter(delivery__in=deliveries).values_list("error", flat=True)
    assert sorted(errors) == ["", "", "ReadTimeout", "http_500", "http_503"]


def test_one_webhook_per_state_change_under_duplicate_task_delivery(
    worker, celery_worker_process, platform
):
    member = MemberFactory.create()
    platform.link(member)
    verification = wait_for(submit_demo(member), lambda v: v.status == Status.IN_PROGRESS)
    platform.receiver.wait_for(lambda r: len(r.handled) == 2)

    # The broker hands every delivery task over again, several times; the sweeper runs too.
    for delivery_id in Delivery.objects.values_list("pk", flat=True):
        for _ in range(3):
            current_app.send_task(services.DELIVER, args=(delivery_id,))
    services.delivery_sweep()
    # And the provider's answer is recorded twice (a duplicate provider task).
    personal_services.verification_record_identity_result(
        verification_id=verification.pk,
        result=personal_services.CheckResult(
            passed=True, reason_code=personal_services.ReasonCode.OK, provider_ref="again"
        ),
    )
    wait_until_the_worker_is_idle(celery_worker_process)

    assert Event.objects.count() == 2
    assert [r.outcome for r in platform.receiver.received] == ["handled", "handled"]
    assert sorted(platform.receiver.types()) == ["progressed", "submitted"]


def test_events_that_arrive_out_of_order_are_put_back_in_order_by_sequence(worker, platform):
    """The first event is refused until the second arrived: the sequence tells the platform
    which came first."""
    receiver = platform.receiver
    receiver.hold = lambda event: event["type"] == "submitted" and not receiver.handled
    member = MemberFactory.create()
    platform.link(member)

    wait_for(submit_demo(member), lambda v: v.status == Status.IN_PROGRESS)

    platform.receiver.wait_for(lambda r: len(r.handled) == 2)
    arrived = [event["type"] for event in platform.receiver.handled]
    by_sequence = sorted(platform.receiver.handled, key=lambda event: event["sequence"])
    assert [event["type"] for event in by_sequence] == ["submitted", "progressed"]
    assert [event["sequence"] for event in by_sequence] == [1, 2]
    assert arrived == ["progressed", "submitted"]
