"""The provider calls as they really run: committed rows, a real Celery worker process, the
sandbox provider service over HTTP, with injected faults."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import DEMO, MemberFactory, PersonalVerificationFactory
from tests.helpers import (
    at_the_face_page,
    finish_face_check,
    submit_demo,
    wait_for,
    wait_until_the_worker_is_idle,
)
from verification import services
from verification.app_settings import app_settings as verification_settings
from verification.models import PersonalVerification, VerificationEvent
from verification.providers.base import ReasonCode
from verification.services import CHECK_IDENTITY

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = PersonalVerification.Status

# Magic numbers of image and video formats, raw and as they start in base64.
MEDIA_SIGNATURES = [b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"ftyp", b"\x1aE\xdf\xa3", b"RIFF"]
MEDIA_BASE64_PREFIXES = ["/9j/", "iVBORw0KGgo", "R0lGOD", "data:image", "data:video"]


def test_a_full_verification_passes_and_leaves_no_face_data(worker, live_server):
    verification = at_the_face_page(live_server)
    finish_face_check(verification, "pass")

    # No return visit: the provider's signed notification alone brings the result in.
    verification = wait_for(verification, lambda v: v.status == Status.PASSED)
    assert verification.reason_code == ReasonCode.OK
    assert verification.completed_at is not None
    assert verification.result["liveness"]["at"].startswith(str(timezone.now().year))
    assert_no_face_data_anywhere([worker.log_path, worker.worker_log])


def assert_no_face_data_anywhere(logs: list[Path]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN ('bytea', 'text', 'character varying', 'jsonb')"
        )
        columns = cursor.fetchall()
        for table, column, data_type in columns:
            if data_type == "bytea":
                cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')  # noqa: S608
                for (value,) in cursor.fetchall():
                    assert not any(bytes(value).startswith(sig) for sig in MEDIA_SIGNATURES)
            else:
                cursor.execute(
                    f'SELECT "{column}"::text FROM "{table}" WHERE "{column}" IS NOT NULL'  # noqa: S608
                )
                for (value,) in cursor.fetchall():
                    assert not any(prefix in value for prefix in MEDIA_BASE64_PREFIXES), (
                        table,
                        column,
                    )
    media_root = Path(settings.MEDIA_ROOT)
    assert not media_root.exists() or not any(p.is_file() for p in media_root.rglob("*"))
    for log in logs:
        text = log.read_text(errors="replace")
        assert DEMO["document_number"] not in text
        assert DEMO["name"] not in text
        assert not any(prefix in text for prefix in MEDIA_BASE64_PREFIXES)


def test_a_failed_face_check_fails_with_its_reason(worker, live_server):
    verification = at_the_face_page(live_server)

    finish_face_check(verification, "fail")

    verification = wait_for(verification, lambda v: v.status == Status.FAILED)
    assert verification.reason_code == ReasonCode.LIVENESS_FAILED


def test_a_name_that_does_not_match_fails_the_identity_check(worker):
    verification = submit_demo(MemberFactory.create(), name="测试乙")

    verification = wait_for(verification, lambda v: v.status == Status.FAILED)
    assert verification.reason_code == ReasonCode.NAME_NUMBER_MISMATCH


def test_transient_errors_are_retried_until_the_provider_answers(worker):
    worker.set_faults(fail_next=2)

    verification = wait_for(
        submit_demo(MemberFactory.create()), lambda v: v.status == Status.IN_PROGRESS
    )

    assert verification.identity_checked_at is not None
    assert verification.result["identity"]["passed"] is True


def test_an_outage_longer_than_the_window_ends_in_error_then_a_retry_passes(worker):
    """Retried for VERIFICATION_PROVIDER_RETRY_WINDOW seconds from the first failure, not for a
    count of retries: it stops only once the window is spent."""
    worker.set_faults(error_rate=1.0)

    verification = wait_for(submit_demo(MemberFactory.create()), lambda v: v.status == Status.ERROR)
    assert verification.reason_code == ReasonCode.VENDOR_ERROR
    assert verification.provider_failures >= 2
    events = VerificationEvent.objects.filter(kind="personal", verification_id=verification.pk)
    first_failure = events.filter(event="provider_failed").earliest("at").at
    stopped = events.get(event="error").at
    assert stopped - first_failure >= timedelta(seconds=settings.VERIFICATION_PROVIDER_RETRY_WINDOW)

    worker.clear_faults()
    services.verification_retry(verification=verification)
    verification = wait_for(verification, lambda v: v.status == Status.IN_PROGRESS)


def test_a_face_session_the_provider_lost_is_offered_again_to_the_person(
    worker, live_server, settings
):
    """The provider forgot the session (expired, or a restart on its side): fetching its
    result is refused. No staff needed: the face step starts over, the person's status page
    offers a new session, and it opens under a new idempotency key."""
    settings.REALNAME_PUBLIC_URL = live_server.url
    verification = at_the_face_page(live_server)
    PersonalVerification.objects.filter(pk=verification.pk).update(liveness_ref="lost-session")
    verification.refresh_from_db()
    services.verification_result_requested(verification=verification)
    verification = wait_for(verification, lambda v: v.liveness_restarts == 1)
    assert verification.status == Status.IN_PROGRESS
    assert verification.step == "face_consent"

    client = Client()
    client.force_login(verification.user)
    page = client.get(verification.get_absolute_url())
    assert 'id="face-session-lost"' in page.content.decode()
    assert (
        client.post(
            reverse("verification:personal_face", args=[verification.public_id])
        ).status_code
        == 302
    )
    verification = wait_for(verification, lambda v: bool(v.liveness_url))
    assert verification.liveness_ref not in ("", "lost-session")

    finish_face_check(verification, "pass")
    verification = wait_for(verification, lambda v: v.status == Status.PASSED)
    assert verification.reason_code == ReasonCode.OK


def test_a_face_session_lost_once_too_often_is_restarted_by_support(worker, live_server):
    """Past VERIFICATION_FACE_SESSION_RESTARTS the verification stops for support staff, whose
    retry opens a new session."""
    verification = at_the_face_page(live_server)
    PersonalVerification.objects.filter(pk=verification.pk).update(
        liveness_ref="lost-session", liveness_restarts=verification_settings.FACE_SESSION_RESTARTS
    )
    verification.refresh_from_db()
    services.verification_result_requested(verification=verification)
    verification = wait_for(verification, lambda v: v.status == Status.ERROR)
    assert verification.reason_code == ReasonCode.REJECTED_REQUEST

    services.verification_retry(verification=verification)
    verification = wait_for(verification, lambda v: bool(v.liveness_url))
    assert verification.liveness_ref not in ("", "lost-session")
    assert verification.liveness_restarts == verification_settings.FACE_SESSION_RESTARTS + 1

    finish_face_check(verification, "pass")
    verification = wait_for(verification, lambda v: v.status == Status.PASSED)


def test_a_provider_that_hangs_ends_in_a_timeout_error(worker):
    worker.set_faults(timeout_rate=1.0, hang_seconds=settings.SANDBOX_PROVIDER_TIMEOUT + 1)

    verification = wait_for(
        submit_demo(MemberFactory.create()), lambda v: v.status == Status.ERROR, timeout=60
    )

    assert verification.reason_code == ReasonCode.TIMEOUT


def test_the_sweeper_recovers_a_verification_the_broker_lost(worker, celery_worker_process):
    user = MemberFactory.create()
    # As if the broker had lost the message: the row is committed but nothing was enqueued.
    verification = PersonalVerificationFactory.create(user=user)
    PersonalVerification.objects.filter(pk=verification.pk).update(
        updated_at=timezone.now() - timedelta(minutes=10)
    )
    wait_until_the_worker_is_idle(celery_worker_process)
    verification.refresh_from_db()
    assert verification.status == Status.SUBMITTED  # nobody is working on it

    services.verification_sweep()

    wait_for(verification, lambda v: v.status == Status.IN_PROGRESS)


def test_task_arguments_carry_only_the_primary_key_and_leave_no_result_row(
    worker, celery_worker_process
):
    from celery.signals import before_task_publish
    from django_celery_results.models import TaskResult

    published: list[tuple[str, str, object]] = []

    def capture(sender=None, headers=None, body=None, **kwargs):
        published.append((sender, (headers or {}).get("argsrepr", ""), body))

    before_task_publish.connect(capture, weak=False)
    try:
        verification = wait_for(
            submit_demo(MemberFactory.create()), lambda v: v.status == Status.IN_PROGRESS
        )
    finally:
        before_task_publish.disconnect(capture)
    wait_until_the_worker_is_idle(celery_worker_process)

    sent = [(argsrepr, body) for name, argsrepr, body in published if name == CHECK_IDENTITY]
    assert sent
    for argsrepr, body in sent:
        assert re.fullmatch(r"\(\d+,\)", argsrepr), argsrepr
        assert list(body[0]) == [verification.pk]  # type: ignore[index]
    # Nobody reads a provider task's result: the worker stores none.
    assert not TaskResult.objects.filter(task_name=CHECK_IDENTITY).exists()
