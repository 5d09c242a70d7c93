"""The application's database role, as shipped (``manage.py grant_app_role``, which compose's
``migrate`` service and ``./dev.sh serve`` run): connected as that role, the site does its
work, and the append-only audit, staff notes and consent records cannot be emptied, edited,
deleted or unguarded: TRUNCATE, DISABLE TRIGGER, DROP TRIGGER, UPDATE and DELETE are refused by
the privileges themselves (the triggers stay as a second guard)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from accounts.models import ConsentRecord, PrivacyEvent, User
from accounts.services import privacy_event_record
from kernel.dbroles import append_only_tables, executable_functions
from kernel.models import RetentionRun
from support import services
from support.models import AuditEntry, StaffNote
from tests.factories import FailedPersonalFactory, StaffFactory
from tests.helpers import database_url
from verification.models import PersonalVerification

pytestmark = pytest.mark.django_db(transaction=True)

BASE_DIR = Path(__file__).resolve().parents[2]
APPEND_ONLY = [
    "accounts_consentrecord",
    "accounts_privacyevent",
    "kernel_retentionrun",
    "support_auditentry",
    "support_staffnote",
]


@pytest.fixture
def app_role() -> Iterator[str]:
    """A login role of this run's own (roles belong to the whole cluster), granted by the
    shipped command and dropped afterwards."""
    role = f"realname_app_{os.environ.get('REALNAME_TEST_RUN_ID', 'test')}_{uuid.uuid4().hex[:6]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')
    try:
        call_command("grant_app_role", role, stdout=open(os.devnull, "w"))  # noqa: SIM115
        yield role
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')


def connect_as(role: str) -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        dbname=db["NAME"],
        user=role,
        autocommit=True,
    )


@pytest.fixture
def records() -> None:
    lead = StaffFactory.create(groups=["Support lead"])  # accepted the documents: consent rows
    verification = FailedPersonalFactory.create()
    services.personal_data_reveal(
        actor=lead, verification=verification, reason="Ticket 1: name check", ip_address=None
    )
    services.staff_note_add(actor=lead, verification=verification, text="note", ip_address=None)
    privacy_event_record(user=lead, kind=PrivacyEvent.Kind.EXPORTED, format="json")
    now = timezone.now()
    RetentionRun.objects.create(
        job="verification.failed", started_at=now, finished_at=now, cutoff_now=now, counts={}
    )


def test_the_append_only_tables_are_found_by_their_triggers():
    assert append_only_tables() == APPEND_ONLY


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE {table}",
        "ALTER TABLE {table} DISABLE TRIGGER {table}_append_only",
        "ALTER TABLE {table} DISABLE TRIGGER ALL",
        "DROP TRIGGER {table}_append_only ON {table}",
        "UPDATE {table} SET id = id",
        "DELETE FROM {table}",
        "DROP TABLE {table}",
    ],
)
def test_the_app_role_cannot_empty_edit_or_unguard_an_append_only_table(
    app_role, records, table, statement
):
    before = connection.cursor()
    before.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our own table names
    (count,) = before.fetchone()
    assert count > 0

    with connect_as(app_role) as conn:
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (count,)  # noqa: S608
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
            conn.execute(statement.format(table=table))
    # The privilege refuses, before any trigger is reached ("permission denied", "must be owner").
    assert "append-only" not in str(refused.value)
    assert "permission denied" in str(refused.value) or "must be owner" in str(refused.value)

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
        assert cursor.fetchone() == (count,)
        cursor.execute(
            "SELECT tgenabled FROM pg_trigger WHERE tgname = %s", [f"{table}_append_only"]
        )
        assert cursor.fetchone() == ("O",)  # still there, still enabled


def test_the_app_role_is_no_superuser_and_owns_nothing(app_role):
    with connect_as(app_role) as conn:
        assert conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (False,)
        owned = conn.execute(
            "SELECT count(*) FROM pg_class WHERE relowner = "
            "(SELECT oid FROM pg_roles WHERE rolname = current_user)"
        ).fetchone()
        assert owned == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'y', now())"
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE intruder (id int)")


def test_the_site_does_its_work_as_the_app_role(app_role, records):
    """The services that write the audit, a note and a consent record, run in another process
    connected as the application role, succeed: the role has every privilege the app needs."""
    verification_pk = StaffNote.objects.get().verification_id
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "realname.settings.test",
        "DATABASE_URL": database_url({**connection.settings_dict, "USER": app_role}),
    }
    script = f"""
import django; django.setup()
from accounts.models import User
from accounts.selectors import legal_documents_current
from accounts.services import consent_accept
from support import services
from verification.models import PersonalVerification
lead = User.objects.filter(is_staff=True).get()
verification = PersonalVerification.objects.get(pk={verification_pk})
services.personal_data_reveal(actor=lead, verification=verification, reason="Ticket 2: name check", ip_address="203.0.113.9")
services.staff_note_add(actor=lead, verification=verification, text="second", ip_address=None)
consent_accept(user=lead, documents=legal_documents_current(("face-rules",)), ip_address=None, user_agent="")
User.objects.filter(pk=lead.pk).update(last_login=None)
print("done")
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert AuditEntry.objects.filter(
        reason="Ticket 2: name check", ip_address="203.0.113.9"
    ).exists()
    assert StaffNote.objects.count() == 2
    assert ConsentRecord.objects.filter(document__slug="face-rules").count() == 1


def test_the_command_refuses_a_superuser_and_a_missing_role():
    with pytest.raises(CommandError, match="superuser"):
        call_command("grant_app_role", connection.settings_dict["USER"])
    with pytest.raises(CommandError, match="no database role"):
        call_command("grant_app_role", "realname_no_such_role")


def run_as(role: str, *args: str, **environment: str) -> str:
    """``manage.py`` in another process connected as ``role``; its output."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "realname.settings.test",
        "DATABASE_URL": database_url({**connection.settings_dict, "USER": role}),
        **environment,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_app_role_purges_closed_accounts_only_through_the_owners_function(app_role):
    """The retention job of closed accounts runs as the application role: before the legal
    period it changes nothing, a dry run changes nothing, after the period the account's record
    goes (consent records and privacy events included), a second run changes nothing; deleting
    directly stays refused, with or without the purge's flag, and the function deletes nothing
    of an open account whatever cutoff it is given."""
    from realname.privacy import person_erase
    from tests.factories import MemberFactory

    person = MemberFactory.create(face=True)
    FailedPersonalFactory.create(user=person)
    open_account = MemberFactory.create()
    person_erase(user=person)
    days = 3 * 365
    # The floor counts by the database's clock: the closing moves into the past, not the clock.
    type(person).objects.filter(pk=person.pk).update(
        erased_at=timezone.now() - timedelta(days=days + 2)
    )
    person.refresh_from_db()
    erased_at = person.erased_at
    assert erased_at is not None

    def kept() -> tuple[int, int, int]:
        return (
            ConsentRecord.objects.filter(user_id=person.pk).count(),
            PrivacyEvent.objects.filter(user_id=person.pk).count(),
            type(person).objects.filter(pk=person.pk).count(),
        )

    before = kept()
    assert before[0] > 0 and before[1] == 1 and before[2] == 1
    job = ("retention", "--job", "accounts.erased", "--now")
    early = (erased_at + timedelta(days=days - 1)).isoformat()
    late = (erased_at + timedelta(days=days + 1)).isoformat()
    assert "changed accounts=0," in run_as(app_role, *job, early)
    assert "would change accounts=1," in run_as(app_role, *job, late, "--dry-run")
    assert kept() == before

    with connect_as(app_role) as conn:
        for table in ("accounts_consentrecord", "accounts_privacyevent"):
            with (
                pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"),
                conn.transaction(),
            ):
                conn.execute("SELECT set_config('accounts.purge_erased', 'on', true)")
                conn.execute(
                    f"DELETE FROM {table} WHERE user_id = %s",  # noqa: S608
                    [person.pk],
                )
        # Whatever it is asked, the function deletes only accounts closed before the cutoff.
        far = timezone.now() + timedelta(days=100 * 365)
        assert conn.execute(
            "SELECT accounts FROM accounts_purge_erased_accounts(%s::bigint[], %s)",
            [[open_account.pk], far],
        ).fetchone() == (0,)
    assert ConsentRecord.objects.filter(user_id=open_account.pk).exists()
    assert kept() == before

    assert "changed accounts=1," in run_as(app_role, *job, late)
    assert kept() == (0, 0, 0)
    assert "changed accounts=0," in run_as(app_role, *job, late)
    assert RetentionRun.objects.filter(job="accounts.erased").count() == 3


def closed_account(days_ago: int) -> User:
    from realname.privacy import person_erase
    from tests.factories import MemberFactory

    person = MemberFactory.create(face=True)
    FailedPersonalFactory.create(user=person)
    person_erase(user=person)
    type(person).objects.filter(pk=person.pk).update(
        erased_at=timezone.now() - timedelta(days=days_ago)
    )
    return person


def test_the_app_role_may_read_the_retention_floor_and_not_move_it_nor_purge_before_it(app_role):
    """The floor (``accounts_retention_floor``, 3 years) is the owner's: the application role
    reads it, cannot change it by any statement, and neither a cutoff it hands the function nor
    the job run with a lower setting and a clock far ahead purges an account closed since."""
    person = closed_account(days_ago=11)
    days = 3 * 365

    def kept() -> tuple[int, int, int]:
        return (
            ConsentRecord.objects.filter(user_id=person.pk).count(),
            PrivacyEvent.objects.filter(user_id=person.pk).count(),
            type(person).objects.filter(pk=person.pk).count(),
        )

    before = kept()
    assert before[0] > 0 and before[2] == 1
    with connect_as(app_role) as conn:
        floor = "SELECT min_erased_days FROM accounts_retention_floor"
        assert conn.execute(floor).fetchall() == [(days,)]
        for statement in (
            "UPDATE accounts_retention_floor SET min_erased_days = 0",
            "DELETE FROM accounts_retention_floor",
            "INSERT INTO accounts_retention_floor (one_row, min_erased_days) VALUES (false, 0)",
            "TRUNCATE accounts_retention_floor",
            "ALTER TABLE accounts_retention_floor DROP CONSTRAINT accounts_retention_floor_one_row",
            "DROP TABLE accounts_retention_floor",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        assert conn.execute(floor).fetchall() == [(days,)]
        far = timezone.now() + timedelta(days=100 * 365)
        assert conn.execute(
            "SELECT accounts, consent_records, privacy_events, kept "
            "FROM accounts_purge_erased_accounts(%s::bigint[], %s)",
            [[person.pk], far],
        ).fetchone() == (0, 0, 0, 0)
    assert kept() == before

    ahead = (timezone.now() + timedelta(days=days + 1)).isoformat()
    job = ("retention", "--job", "accounts.erased", "--now", ahead)
    assert "changed accounts=0," in run_as(app_role, *job, ACCOUNTS_RETENTION_ERASED_DAYS="10")
    assert kept() == before
    assert PersonalVerification.objects.filter(user_id=person.pk).count() == 1


EXTRA_DEFINER = "realname_test_extra_definer()"


@pytest.fixture
def extra_definer_function() -> Iterator[str]:
    """Another security-definer function of the owner, executable by PUBLIC (the default for a
    new function) and granted to the application role by hand."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE FUNCTION {EXTRA_DEFINER} RETURNS integer LANGUAGE sql SECURITY DEFINER "
            "AS 'SELECT 1'"
        )
    try:
        yield EXTRA_DEFINER
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP FUNCTION IF EXISTS {EXTRA_DEFINER}")


def test_the_app_role_executes_exactly_the_allowed_definer_functions(
    app_role, extra_definer_function
):
    with connection.cursor() as cursor:
        cursor.execute(f'GRANT EXECUTE ON FUNCTION {extra_definer_function} TO "{app_role}"')
    out = io.StringIO()
    call_command("grant_app_role", app_role, stdout=out)
    said = (
        "read only: accounts_retention_floor, django_migrations; "
        "may execute: accounts_purge_erased_accounts(bigint[], timestamptz)"
    )
    assert out.getvalue().strip().endswith(said)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(to_regprocedure(f)::text ORDER BY 1) FROM unnest(%s::text[]) f",
            [executable_functions()],
        )
        (allowed,) = cursor.fetchone()
    assert allowed == ["accounts_purge_erased_accounts(bigint[],timestamp with time zone)"]
    definers = """
        SELECT p.oid::regprocedure::text FROM pg_proc p
          JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE p.prosecdef AND n.nspname = current_schema()
           AND has_function_privilege({who}, p.oid, 'EXECUTE')
         ORDER BY 1
    """
    with connect_as(app_role) as conn:
        executable = [name for (name,) in conn.execute(definers.format(who="current_user"))]
        assert executable == allowed
        # Nobody else (PUBLIC) may execute any of the owner's security-definer functions.
        assert conn.execute(definers.format(who="'public'")).fetchall() == []
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            conn.execute(f"SELECT {extra_definer_function}")
        assert conn.execute(
            "SELECT accounts FROM accounts_purge_erased_accounts(%s::bigint[], now())", [[]]
        ).fetchone() == (0,)


def test_the_command_refuses_when_an_allowed_function_is_missing(app_role, monkeypatch):
    from kernel import dbroles

    monkeypatch.setattr(dbroles, "_EXECUTABLE", {"realname_no_such_function(integer)"})
    with pytest.raises(CommandError, match=r"realname_no_such_function\(integer\).*migrate"):
        call_command("grant_app_role", app_role)
