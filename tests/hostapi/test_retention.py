"""Retention of the call log and of sessions (kernel.retention runs the jobs)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hostapi import tasks
from hostapi.models import AccountLink, ApiCall, VerificationSession
from kernel.retention import run_job
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_the_call_log_is_kept_for_its_period(platform, settings):
    settings.HOSTAPI_CALL_LOG_RETENTION_DAYS = 30
    now = timezone.now()
    for days in (31, 40, 29, 0):
        ApiCall.objects.create(
            client=platform.client,
            operation="session_read",
            method="GET",
            status_code=200,
            at=now - timedelta(days=days),
        )
    assert run_job("hostapi.calls", dry_run=True) == {"deleted": 2}
    assert ApiCall.objects.count() == 4
    assert run_job("hostapi.calls", batch_size=1) == {"deleted": 2}
    assert sorted((now - at).days for at in ApiCall.objects.values_list("at", flat=True)) == [0, 29]
    assert run_job("hostapi.calls") == {"deleted": 0}


def test_sessions_are_deleted_after_their_period_links_stay(platform, settings):
    settings.HOSTAPI_SESSION_RETENTION_DAYS = 30
    member = MemberFactory.create()
    now = timezone.now()
    for days, reference in ((31, "old"), (1, "recent")):
        VerificationSession.objects.create(
            client=platform.client,
            reference=reference,
            return_url="https://platform.example/realname/",
            expires_at=now - timedelta(days=days),
        )
    AccountLink.objects.create(client=platform.client, reference="old", user=member)
    assert run_job("hostapi.sessions") == {"deleted": 1}
    assert list(VerificationSession.objects.values_list("reference", flat=True)) == ["recent"]
    assert AccountLink.objects.filter(reference="old").exists()


def test_the_daily_task_runs_both_jobs(platform):
    ApiCall.objects.create(
        client=platform.client,
        operation="session_read",
        method="GET",
        status_code=200,
        at=timezone.now() - timedelta(days=400),
    )
    assert tasks.retention() == {
        "hostapi.calls": {"deleted": 1},
        "hostapi.sessions": {"deleted": 0},
    }
    assert tasks.retention() == {
        "hostapi.calls": {"deleted": 0},
        "hostapi.sessions": {"deleted": 0},
    }
