"""Retention of personal verifications, with the clock passed in (``now=``): failed ones lose
their personal values after VERIFICATION_RETENTION_FAILED_DAYS, those left in progress are ended
as abandoned and purged; a second run and a dry run change nothing; runs are recorded with
counts only."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import ProgrammingError
from django.test import override_settings
from django.utils import timezone

from kernel.models import RetentionRun
from kernel.retention import run_job
from tests.factories import FailedPersonalFactory, MemberFactory, PersonalVerificationFactory
from verification import tasks
from verification.models import PersonalVerification, VerificationEvent
from verification.providers.base import ReasonCode

pytestmark = pytest.mark.django_db
Status = PersonalVerification.Status


def raw_columns(pk: int) -> tuple[str | None, ...]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, document_number, document_number_hash, birth_date, result "
            "FROM verification_personalverification WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()


def snapshot() -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, status, reason_code, name, document_number, birth_date, result, "
            "updated_at FROM verification_personalverification ORDER BY id"
        )
        return cursor.fetchall()


def in_progress() -> PersonalVerification:
    verification = PersonalVerificationFactory.create()
    PersonalVerification.objects.filter(pk=verification.pk).update(
        status=Status.IN_PROGRESS, identity_checked_at=timezone.now()
    )
    return PersonalVerification.objects.get(pk=verification.pk)


def test_a_failed_verification_loses_its_personal_values_after_the_period():
    failed = FailedPersonalFactory.create()
    before = raw_columns(failed.pk)
    assert failed.completed_at is not None
    day_29 = failed.completed_at + timedelta(days=29)
    day_31 = failed.completed_at + timedelta(days=31)

    assert run_job("verification.failed", now=day_29) == {"purged": 0}
    assert raw_columns(failed.pk) == before

    assert run_job("verification.failed", now=day_31) == {"purged": 1}
    purged = PersonalVerification.objects.get(pk=failed.pk)
    assert (purged.name, purged.document_number, purged.birth_date, purged.result) == (
        "",
        "",
        None,
        {},
    )
    assert purged.document_number_hash == ""
    assert purged.personal_data_purged_at == day_31
    # What the rules and the desk need stays.
    assert purged.status == Status.FAILED
    assert purged.reason_code == ReasonCode.NAME_NUMBER_MISMATCH
    assert (purged.document_type, purged.provider) == (failed.document_type, failed.provider)
    assert purged.completed_at == failed.completed_at
    # The old ciphertexts are gone from the row, not just unreadable.
    assert not set(raw_columns(failed.pk)) & {before[0], before[1], before[3], before[4]}
    assert VerificationEvent.objects.filter(
        verification_id=failed.pk, event=VerificationEvent.Event.PURGED
    ).exists()

    # A second run changes nothing, and says so.
    rows = snapshot()
    assert run_job("verification.failed", now=day_31 + timedelta(days=1)) == {"purged": 0}
    assert snapshot() == rows


def test_passed_waiting_and_errored_verifications_are_kept():
    member = MemberFactory.create()
    waiting = PersonalVerificationFactory.create(user=member)
    PersonalVerification.objects.filter(pk=waiting.pk).update(
        status=Status.ERROR, reason_code=ReasonCode.VENDOR_ERROR
    )
    rows = snapshot()
    later = timezone.now() + timedelta(days=400)
    assert run_job("verification.failed", now=later) == {"purged": 0}
    assert snapshot() == rows


def test_the_dry_run_counts_and_changes_nothing():
    failed = [FailedPersonalFactory.create() for _ in range(3)]
    later = timezone.now() + timedelta(days=31)
    rows = snapshot()
    out = StringIO()
    call_command(
        "retention",
        "--job",
        "verification.failed",
        "--dry-run",
        "--now",
        later.isoformat(),
        stdout=out,
    )
    assert "verification.failed: would change purged=3" in out.getvalue()
    assert snapshot() == rows
    assert not RetentionRun.objects.exists()

    out = StringIO()
    call_command(
        "retention",
        "--job",
        "verification.failed",
        "--now",
        later.isoformat(),
        "--batch-size",
        "2",
        stdout=out,
    )
    assert "verification.failed: changed purged=3" in out.getvalue()
    assert (
        PersonalVerification.objects.filter(
            pk__in=[f.pk for f in failed], personal_data_purged_at__isnull=False
        ).count()
        == 3
    )


def test_a_run_is_recorded_with_counts_only_and_the_record_is_append_only():
    FailedPersonalFactory.create()
    later = timezone.now() + timedelta(days=31)
    run_job("verification.failed", now=later)
    run = RetentionRun.objects.get()
    assert (run.job, run.counts, run.cutoff_now) == ("verification.failed", {"purged": 1}, later)
    assert run.started_at <= run.finished_at
    with pytest.raises(ProgrammingError, match="append-only"), transaction.atomic():
        RetentionRun.objects.filter(pk=run.pk).update(counts={})
    with pytest.raises(ProgrammingError, match="append-only"), transaction.atomic():
        RetentionRun.objects.filter(pk=run.pk).delete()


def test_an_abandoned_verification_is_ended_and_purged_and_frees_the_account():
    verification = in_progress()
    touched = verification.updated_at
    assert run_job("verification.abandoned", now=touched + timedelta(days=29)) == {"abandoned": 0}
    assert PersonalVerification.objects.get(pk=verification.pk).status == Status.IN_PROGRESS

    now = touched + timedelta(days=31)
    assert run_job("verification.abandoned", now=now) == {"abandoned": 1}
    ended = PersonalVerification.objects.get(pk=verification.pk)
    assert (ended.status, ended.reason_code, ended.completed_at) == (
        Status.FAILED,
        ReasonCode.LIVENESS_EXPIRED,
        now,
    )
    assert (ended.name, ended.document_number, ended.birth_date) == ("", "", None)
    assert ended.personal_data_purged_at == now
    events = VerificationEvent.objects.filter(verification_id=verification.pk)
    assert {"abandoned", "purged"} <= set(events.values_list("event", flat=True))
    # The account's one active verification is free: the person can start again.
    PersonalVerificationFactory.create(user=verification.user)

    rows = snapshot()
    assert run_job("verification.abandoned", now=now + timedelta(days=1)) == {"abandoned": 0}
    assert run_job("verification.failed", now=now + timedelta(days=60)) == {"purged": 0}
    assert snapshot() == rows


@override_settings(VERIFICATION_RETENTION_FAILED_DAYS=7, VERIFICATION_RETENTION_BATCH_SIZE=1)
def test_the_period_is_the_setting_and_the_task_runs_both_jobs_in_batches():
    failed = [FailedPersonalFactory.create() for _ in range(2)]
    PersonalVerification.objects.filter(pk__in=[f.pk for f in failed]).update(
        completed_at=timezone.now() - timedelta(days=8)
    )
    abandoned = in_progress()
    PersonalVerification.objects.filter(pk=abandoned.pk).update(
        updated_at=timezone.now() - timedelta(days=31)
    )
    assert tasks.retention() == {
        "verification.abandoned": {"abandoned": 1},
        "verification.failed": {"purged": 2},
    }
    assert tasks.retention() == {
        "verification.abandoned": {"abandoned": 0},
        "verification.failed": {"purged": 0},
    }
    assert RetentionRun.objects.count() == 4


def test_the_abandoned_dry_run_counts_and_changes_nothing():
    verification = in_progress()
    later = verification.updated_at + timedelta(days=31)
    rows = snapshot()
    assert run_job("verification.abandoned", now=later, dry_run=True) == {"abandoned": 1}
    assert snapshot() == rows
    assert not RetentionRun.objects.filter(job="verification.abandoned").exists()
