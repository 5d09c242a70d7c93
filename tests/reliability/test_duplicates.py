"""The same message twice, or late: one result, and a final status never goes back."""

from __future__ import annotations

import pytest

from tests.factories import MemberFactory, details
from tests.helpers import (
    at_the_face_page,
    finish_face_check,
    wait_for,
    wait_until_the_worker_is_idle,
)
from verification import services, tasks
from verification.models import PersonalVerification, VerificationEvent
from verification.providers.base import CheckResult, ReasonCode

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = PersonalVerification.Status
Event = VerificationEvent.Event


def events(verification: PersonalVerification, event: str) -> int:
    return VerificationEvent.objects.filter(
        kind="personal", verification_id=verification.pk, event=event
    ).count()


def test_a_result_fetched_again_and_again_is_recorded_once(
    worker, live_server, celery_worker_process
):
    verification = at_the_face_page(live_server)
    finish_face_check(verification, "pass")
    verification = wait_for(verification, lambda v: v.status == Status.PASSED)

    # The notification delivered again, the person reloading the return page, a sweeper run:
    for _ in range(3):
        tasks.fetch_liveness_result.delay(verification.pk)
    services.verification_result_requested(verification=verification)
    tasks.check_identity.delay(verification.pk)  # a very late duplicate of the first step
    tasks.fetch_liveness_result.apply(args=(verification.pk,))  # and one run right here
    wait_until_the_worker_is_idle(celery_worker_process)  # every duplicate has been handled

    verification.refresh_from_db()
    assert verification.status == Status.PASSED
    assert events(verification, Event.FACE_RESULT) == 1
    assert events(verification, Event.IDENTITY_RESULT) == 1


def test_a_late_answer_cannot_change_a_final_status(monkeypatch):
    """Out of order: a failing answer arriving after the pass (or a pass after a failure) is
    ignored; so is an identity answer for a verification already past that step."""
    from django.db import transaction

    monkeypatch.setattr(services.personal, "enqueue", lambda task_name, verification_id: None)
    with transaction.atomic():
        verification = services.verification_submit(
            user=MemberFactory.create(face=True), **details()
        )
    passed = CheckResult(passed=True, reason_code=ReasonCode.OK, provider_ref="r")
    failed = CheckResult(passed=False, reason_code=ReasonCode.LIVENESS_FAILED, provider_ref="r")
    services.verification_record_identity_result(verification_id=verification.pk, result=passed)
    PersonalVerification.objects.filter(pk=verification.pk).update(
        liveness_ref="s-1", liveness_started_at=verification.created_at
    )
    services.verification_record_liveness_result(verification_id=verification.pk, result=passed)

    services.verification_record_liveness_result(verification_id=verification.pk, result=failed)
    services.verification_record_identity_result(
        verification_id=verification.pk,
        result=CheckResult(
            passed=False, reason_code=ReasonCode.NAME_NUMBER_MISMATCH, provider_ref="r"
        ),
    )
    services.personal.mark_error(
        verification_id=verification.pk, reason_code=ReasonCode.VENDOR_ERROR
    )

    verification.refresh_from_db()
    assert (verification.status, verification.reason_code) == (Status.PASSED, ReasonCode.OK)
    assert events(verification, Event.FACE_RESULT) == 1
    assert events(verification, Event.ERROR) == 0
