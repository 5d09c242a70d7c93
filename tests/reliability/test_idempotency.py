"""A provider call that times out on our side may still have been done on the provider's: the
retry carries the same idempotency key, so the provider answers from what it already did and
charges once, and we record one result."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.factories import MemberFactory
from tests.helpers import submit_demo, wait_for, wait_until_the_worker_is_idle
from verification.models import PersonalVerification, VerificationEvent

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def calls(sandbox, request_id: str) -> int:
    stats = httpx.get(f"{sandbox.url}/_stats", timeout=10).json()["calls"]
    return int(stats.get(f"identity:{request_id}", 0))


def test_a_call_that_timed_out_here_but_succeeded_there_is_charged_once(
    worker, settings, celery_worker_process
):
    # The provider answers after our client has given up (latency above the client timeout).
    worker.set_faults(latency_ms=int(settings.SANDBOX_PROVIDER_TIMEOUT * 1000) + 500)
    verification = submit_demo(MemberFactory.create())
    request_id = f"{verification.public_id}:identity"
    deadline = time.monotonic() + 30
    while calls(worker, request_id) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    worker.clear_faults()

    verification = wait_for(
        verification, lambda v: v.status == PersonalVerification.Status.IN_PROGRESS
    )
    wait_until_the_worker_is_idle(celery_worker_process)  # no call still on its way

    assert verification.provider_failures == 0  # reset by the answer
    assert calls(worker, request_id) >= 2  # asked again after the time-out, with the same key
    assert VerificationEvent.objects.filter(
        verification_id=verification.pk, event=VerificationEvent.Event.PROVIDER_FAILED
    ).exists()
    assert (
        VerificationEvent.objects.filter(
            verification_id=verification.pk, event=VerificationEvent.Event.IDENTITY_RESULT
        ).count()
        == 1
    )
