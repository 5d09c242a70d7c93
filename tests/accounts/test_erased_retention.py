"""Retention of closed accounts (``accounts.erased``), with the clock passed in (``now=``):
ACCOUNTS_RETENTION_ERASED_DAYS after closing, what the law kept of an account goes (its
verification records, consent records, privacy events, the account row); before, nothing; a
second run and a dry run change nothing; open accounts are never touched. The append-only guard
stays: deleting a consent record directly is refused, even with the purge's flag set.

The database holds a floor the job cannot pass (``accounts_retention_floor``, 3 years by the
database's clock, migration 0007): a clock passed in cannot run ahead of it, so the closings
here are moved into the past (``closed_days_ago``) rather than the clock into the future."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from accounts import legal, tasks
from accounts.models import ConsentRecord, PersonKey, PrivacyEvent, User
from enterprise.models import EnterpriseVerification, LicenceAccess
from kernel.models import RetentionRun
from kernel.retention import run_job
from realname.privacy import person_erase
from support import services as support_services
from support.models import AuditEntry
from tests.factories import (
    FailedPersonalFactory,
    MemberFactory,
    PendingEnterpriseFactory,
    StaffFactory,
    passed_personal,
)
from tests.helpers import AUDIT
from verification.models import AttemptReset, PersonalVerification, VerificationEvent

pytestmark = pytest.mark.django_db
JOB = "accounts.erased"
DAYS = 3 * 365


def closed_days_ago(user: User, days: float) -> User:
    """Move ``user``'s closing ``days`` into the past (the floor counts by the database's clock,
    which a test cannot move)."""
    User.objects.filter(pk=user.pk).update(erased_at=timezone.now() - timedelta(days=days))
    user.refresh_from_db()
    assert user.erased_at is not None
    return user


def closed(days_ago: float = DAYS + 2) -> User:
    """A person with a passed and a failed verification and an attempt reset, who closed the
    account ``days_ago`` days ago (by default, just past the legal period)."""
    person = MemberFactory.create(face=True)
    FailedPersonalFactory.create(user=person)
    passed_personal(person)
    AttemptReset.objects.create(user=person, reset_by=StaffFactory.create())
    person_erase(user=person)
    return closed_days_ago(person, days_ago)


def footprint(user_id: int) -> dict[str, int]:
    verifications = PersonalVerification.objects.filter(user_id=user_id)
    return {
        "user": User.objects.filter(pk=user_id).count(),
        "consents": ConsentRecord.objects.filter(user_id=user_id).count(),
        "privacy_events": PrivacyEvent.objects.filter(user_id=user_id).count(),
        "verifications": verifications.count(),
        "events": VerificationEvent.objects.filter(
            kind="personal", verification_id__in=verifications.values("pk")
        ).count(),
        "resets": AttemptReset.objects.filter(user_id=user_id).count(),
    }


def snapshot() -> list[tuple[Any, ...]]:
    rows = []
    with connection.cursor() as cursor:
        for table in (
            "accounts_user",
            "accounts_consentrecord",
            "accounts_privacyevent",
            "verification_personalverification",
            "verification_verificationevent",
            "enterprise_enterpriseverification",
        ):
            cursor.execute(f"SELECT count(*), max(id) FROM {table}")  # noqa: S608
            rows.append((table, *cursor.fetchone()))
    return rows


def test_a_closed_accounts_record_goes_after_its_legal_period_and_not_before():
    person = closed()
    neighbour = MemberFactory.create(face=True)
    passed_personal(neighbour)
    kept = footprint(person.pk)
    assert kept["user"] == 1 and kept["consents"] > 0 and kept["verifications"] == 2
    assert kept["events"] > 0 and kept["resets"] == 1
    neighbour_before = footprint(neighbour.pk)
    erased_at = person.erased_at
    assert erased_at is not None

    rows = snapshot()
    day_before = erased_at + timedelta(days=DAYS - 1)
    assert run_job(JOB, now=day_before) == {
        "accounts": 0,
        "consent_records": 0,
        "privacy_events": 0,
        "accounts_kept": 0,
    }
    assert footprint(person.pk) == kept
    assert snapshot() == rows

    day_after = erased_at + timedelta(days=DAYS + 1)
    counts = run_job(JOB, now=day_after)
    assert counts == {
        "accounts": 1,
        "consent_records": kept["consents"],
        "privacy_events": kept["privacy_events"],
        "personal_verifications": 2,
        "enterprise_verifications": 0,
        "platform_links": 0,
        "platform_sessions": 0,
        "webhook_events": 0,
        "accounts_kept": 0,
    }
    assert footprint(person.pk) == dict.fromkeys(kept, 0)
    # The shredding log (an id and a date, no key) stays for restores from backup.
    assert PersonKey.objects.filter(user_id=person.pk, shredded_at__isnull=False).exists()
    # Nobody else was touched.
    assert footprint(neighbour.pk) == neighbour_before
    run = RetentionRun.objects.get(job=JOB, cutoff_now=day_after)
    assert run.counts == counts

    rows = snapshot()
    assert run_job(JOB, now=day_after + timedelta(days=1))["accounts"] == 0
    assert snapshot() == rows


def test_enterprise_records_go_with_the_account():
    company = PendingEnterpriseFactory.create()
    person = company.user
    staff = StaffFactory.create()
    LicenceAccess.objects.create(verification=company, user=staff, as_staff=True)
    EnterpriseVerification.objects.filter(pk=company.pk).update(
        status="rejected", reason_code="licence_mismatch", completed_at=timezone.now()
    )
    person_erase(user=person)
    closed_days_ago(person, DAYS + 2)
    assert person.erased_at is not None
    counts = run_job(JOB, now=person.erased_at + timedelta(days=DAYS + 1))
    assert counts["accounts"] == 1 and counts["enterprise_verifications"] == 1
    assert not EnterpriseVerification.objects.filter(pk=company.pk).exists()
    assert not LicenceAccess.objects.filter(verification_id=company.pk).exists()
    assert User.objects.filter(pk=staff.pk).exists()


def test_an_open_account_and_a_recent_closing_are_kept():
    open_account = MemberFactory.create(face=True)
    passed_personal(open_account)
    recent = closed(days_ago=DAYS - 1)
    person = closed()
    before = footprint(open_account.pk), footprint(recent.pk)
    assert run_job(JOB, now=timezone.now())["accounts"] == 1
    assert (footprint(open_account.pk), footprint(recent.pk)) == before
    assert footprint(person.pk)["user"] == 0


def test_the_legal_floor_holds_back_a_lower_setting_and_a_clock_ahead():
    """A compromised or mistaken caller cannot purge early: neither a setting below the floor,
    nor a clock passed in that runs ahead, nor a cutoff handed to the function directly."""
    person = closed(days_ago=11)
    before = footprint(person.pk)
    with override_settings(ACCOUNTS_RETENTION_ERASED_DAYS=10):
        assert run_job(JOB, now=timezone.now())["accounts"] == 0
        assert run_job(JOB, now=timezone.now(), dry_run=True)["accounts"] == 0
    assert run_job(JOB, now=timezone.now() + timedelta(days=DAYS + 1))["accounts"] == 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT accounts FROM accounts_purge_erased_accounts(%s::bigint[], %s)",
            [[person.pk], timezone.now() + timedelta(days=100 * 365)],
        )
        assert cursor.fetchone() == (0,)
    # Not even the higher apps' records went ahead of the account.
    assert footprint(person.pk) == before

    closed_days_ago(person, DAYS + 1)
    with override_settings(ACCOUNTS_RETENTION_ERASED_DAYS=10):
        assert run_job(JOB, now=timezone.now())["accounts"] == 1
    assert footprint(person.pk) == dict.fromkeys(before, 0)


def test_the_floor_is_the_period_the_privacy_policy_states_and_one_row():
    with connection.cursor() as cursor:
        cursor.execute("SELECT min_erased_days FROM accounts_retention_floor")
        assert cursor.fetchall() == [
            (legal.stated_periods("privacy-policy", 2)["ACCOUNTS_RETENTION_ERASED_DAYS"],)
        ]
        for statement in (
            "INSERT INTO accounts_retention_floor (min_erased_days) VALUES (10)",
            "INSERT INTO accounts_retention_floor (one_row, min_erased_days) VALUES (false, 10)",
            "UPDATE accounts_retention_floor SET min_erased_days = -1",
        ):
            with pytest.raises(IntegrityError), transaction.atomic():
                cursor.execute(statement)
        cursor.execute("SELECT min_erased_days FROM accounts_retention_floor")
        assert cursor.fetchall() == [(DAYS,)]


def test_a_closed_staff_account_named_in_the_audit_log_keeps_its_stub():
    staff = StaffFactory.create(groups=["Support lead"])
    verification = FailedPersonalFactory.create()
    support_services.personal_data_reveal(
        actor=staff, verification=verification, reason="Ticket 3: check", ip_address=None
    )
    person_erase(user=staff)
    closed_days_ago(staff, DAYS + 2)
    assert staff.erased_at is not None
    later = staff.erased_at + timedelta(days=DAYS + 1)
    counts = run_job(JOB, now=later)
    assert (counts["accounts"], counts["accounts_kept"]) == (0, 1)
    # Kept whole: the stub and its consent records, and the audit entry naming it.
    assert User.objects.filter(pk=staff.pk).exists()
    assert ConsentRecord.objects.filter(user=staff).exists()
    assert AuditEntry.objects.filter(actor=staff).count() == 1
    rows = snapshot()
    assert run_job(JOB, now=later)["accounts"] == 0
    assert snapshot() == rows


def test_the_dry_run_counts_and_changes_nothing_and_batches_finish_the_work():
    people = [closed() for _ in range(3)]
    later = max(p.erased_at for p in people if p.erased_at) + timedelta(days=DAYS + 1)
    rows = snapshot()
    out = StringIO()
    call_command("retention", "--job", JOB, "--dry-run", "--now", later.isoformat(), stdout=out)
    assert f"{JOB}: would change accounts=3," in out.getvalue()
    assert "personal_verifications=6" in out.getvalue()
    assert snapshot() == rows
    assert not RetentionRun.objects.filter(job=JOB).exists()

    out = StringIO()
    call_command(
        "retention", "--job", JOB, "--now", later.isoformat(), "--batch-size", "2", stdout=out
    )
    assert f"{JOB}: changed accounts=3," in out.getvalue()
    assert not User.objects.filter(pk__in=[p.pk for p in people]).exists()


def test_deleting_a_consent_record_directly_stays_refused():
    person = closed()
    open_account = MemberFactory.create()
    for user in (person, open_account):
        record = ConsentRecord.objects.filter(user=user).first()
        assert record is not None
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            record.delete()
    # The purge's flag opens nothing for an open account, even for the owner.
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT set_config('accounts.purge_erased', 'on', true)")
        cursor.execute("DELETE FROM accounts_consentrecord WHERE user_id = %s", [open_account.pk])
    assert ConsentRecord.objects.filter(user=open_account).exists()


def test_the_beat_task_runs_the_job():
    person = closed()
    assert tasks.retention()["accounts"] == 1
    assert not User.objects.filter(pk=person.pk).exists()


def test_the_audit_log_still_shows_a_purged_person_as_erased(desk_client):
    person = MemberFactory.create(face=True)
    verification = FailedPersonalFactory.create(user=person)
    lead = StaffFactory.create(groups=["Support lead"])
    support_services.personal_data_reveal(
        actor=lead, verification=verification, reason="Ticket 4: check", ip_address=None
    )
    person_erase(user=person)
    closed_days_ago(person, DAYS + 2)
    assert person.erased_at is not None
    assert run_job(JOB, now=person.erased_at + timedelta(days=DAYS + 1))["accounts"] == 1
    assert AuditEntry.objects.filter(verification_id=verification.pk).count() == 1
    page = desk_client(lead).get(AUDIT).content.decode()
    assert page.count("(erased)") == 1


def test_a_closed_account_linked_to_a_platform_goes_with_its_links_and_webhook_events():
    """The platform's link, its session and the webhook events of the account (the ``erased``
    one included) hold foreign keys to the account: they go first, so the account goes too."""
    from hostapi.models import AccountLink, VerificationSession
    from hostapi.services import api_client_create, session_create
    from webhooks.models import AccountSequence, Delivery, Event
    from webhooks.services import endpoint_create

    client, _key = api_client_create(
        name="Game server",
        scopes=["sessions:write", "webhooks:manage"],
        return_urls=["https://platform.example/back/"],
    )
    endpoint_create(client=client, url="https://platform.example/hooks")
    person = MemberFactory.create(face=True)
    AccountLink.objects.create(client=client, reference="player-1", user=person)
    session = session_create(
        client=client,
        reference="player-1",
        return_url="https://platform.example/back/done",
        kind="personal",
    )
    VerificationSession.objects.filter(pk=session.pk).update(user=person)
    passed_personal(person)
    person_erase(user=person)
    assert Event.objects.filter(user=person, type="erased").exists()
    closed_days_ago(person, DAYS + 1)
    later = timezone.now()

    counts = run_job(JOB, now=later)

    assert not User.objects.filter(pk=person.pk).exists()
    assert counts["accounts"] == 1 and counts.get("accounts_kept", 0) == 0
    assert counts["platform_links"] == 1 and counts["webhook_events"] >= 1
    assert not AccountLink.objects.filter(user_id=person.pk).exists()
    assert not Event.objects.filter(user_id=person.pk).exists()
    assert not Delivery.objects.exists()
    assert not AccountSequence.objects.filter(user_id=person.pk).exists()
    assert run_job(JOB, now=later)["accounts"] == 0
