"""Retention of licence files, with the clock passed in (``now=``): ENTERPRISE_LICENCE_RETENTION_
DAYS after the decision, the file and its preview leave private storage and the decision record
stays; a second run and a dry run change nothing."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.http import Http404
from django.utils import timezone

from enterprise import services, tasks
from enterprise.licence.response import licence_response
from enterprise.models import EnterpriseVerification
from enterprise.storage import private_storage
from kernel.models import RetentionRun
from kernel.retention import run_job
from tests.factories import PendingEnterpriseFactory, StaffFactory

pytestmark = pytest.mark.django_db
Status = EnterpriseVerification.Status


def approved() -> EnterpriseVerification:
    verification = PendingEnterpriseFactory.create()
    return services.licence_review_approve(
        verification=verification, reviewer=StaffFactory.create()
    )


def files_of(verification: EnterpriseVerification) -> list[Path]:
    names = [verification.licence_name, verification.licence_preview_name]
    return [Path(private_storage().path(name)) for name in names if name]


def test_the_licence_file_goes_after_the_period_and_the_decision_stays():
    verification = approved()
    files = files_of(verification)
    assert files and all(path.exists() for path in files)
    decided = verification.completed_at
    assert decided is not None

    assert run_job("enterprise.licences", now=decided + timedelta(days=179)) == {
        "licences_deleted": 0
    }
    assert all(path.exists() for path in files)

    now = decided + timedelta(days=181)
    assert run_job("enterprise.licences", now=now) == {"licences_deleted": 1}
    assert not any(path.exists() for path in files)
    kept = EnterpriseVerification.objects.get(pk=verification.pk)
    assert (kept.licence_name, kept.licence_preview_name) == ("", "")
    assert kept.status == Status.APPROVED
    assert kept.reviewed_by_id == verification.reviewed_by_id
    assert kept.licence_sha256 == verification.licence_sha256
    assert (kept.credit_code, kept.company_name) == (
        verification.credit_code,
        verification.company_name,
    )
    # Asking for the file now is a 404, not an error page.
    with pytest.raises(Http404):
        licence_response(kept, for_staff=True)

    assert run_job("enterprise.licences", now=now + timedelta(days=1)) == {"licences_deleted": 0}
    assert EnterpriseVerification.objects.get(pk=verification.pk).updated_at == kept.updated_at


def test_a_licence_waiting_for_review_is_kept_however_old():
    verification = PendingEnterpriseFactory.create()
    later = timezone.now() + timedelta(days=1000)
    assert run_job("enterprise.licences", now=later) == {"licences_deleted": 0}
    assert all(path.exists() for path in files_of(verification))


def test_the_dry_run_counts_and_deletes_nothing():
    verification = approved()
    assert verification.completed_at is not None
    later = (verification.completed_at + timedelta(days=181)).isoformat()
    out = StringIO()
    call_command(
        "retention", "--job", "enterprise.licences", "--dry-run", "--now", later, stdout=out
    )
    assert "enterprise.licences: would change licences_deleted=1" in out.getvalue()
    assert all(path.exists() for path in files_of(verification))
    assert not RetentionRun.objects.exists()


def test_a_file_already_gone_does_not_stop_the_purge(settings):
    """A run stopped between deleting the file and saving the row: the next one finishes."""
    verification = approved()
    for path in files_of(verification):
        path.unlink()
    settings.ENTERPRISE_LICENCE_RETENTION_DAYS = 0
    assert tasks.retention() == {"licences_deleted": 1}
    assert tasks.retention() == {"licences_deleted": 0}
    assert list(RetentionRun.objects.values_list("counts", flat=True)) == [
        {"licences_deleted": 0},
        {"licences_deleted": 1},
    ]
