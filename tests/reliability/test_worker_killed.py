"""A worker process is killed (SIGKILL) in the middle of a provider call: the message was not
acknowledged, so it is delivered again, and the verification ends with exactly one result."""

from __future__ import annotations

import os
import signal
import time

import pytest

from realname.celery import app
from tests.factories import MemberFactory
from tests.helpers import submit_demo, wait_for, wait_until_the_worker_is_idle
from verification.models import PersonalVerification, VerificationEvent

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def pid_running(task_name: str, node: str, timeout: float = 20) -> int:
    """The pool process executing ``task_name`` now, as the worker itself reports it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        active = app.control.inspect([node], timeout=1).active() or {}
        for task in active.get(node, []):
            if task["name"] == task_name:
                return int(task["worker_pid"])
        time.sleep(0.1)
    raise AssertionError(f"{task_name} never started on {node}")


def test_a_task_killed_mid_call_is_redelivered_and_recorded_once(worker, celery_worker_process):
    worker.set_faults(latency_ms=2500)  # each provider call takes 2.5 s: time to kill it
    verification = submit_demo(MemberFactory.create())

    os.kill(pid_running("verification.check_identity", celery_worker_process), signal.SIGKILL)
    worker.clear_faults()

    verification = wait_for(
        verification, lambda v: v.status == PersonalVerification.Status.IN_PROGRESS, timeout=60
    )
    wait_until_the_worker_is_idle(celery_worker_process, timeout=60)  # no delivery left
    assert (
        VerificationEvent.objects.filter(
            kind="personal",
            verification_id=verification.pk,
            event=VerificationEvent.Event.IDENTITY_RESULT,
        ).count()
        == 1
    )
