"""The audit log (and staff notes) are append-only, refused by Postgres itself: through the ORM,
through raw SQL, and for a role that is not the tables' owner, which can neither disable the
trigger nor TRUNCATE (the deployment the README describes)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from enterprise.models import LicenceAccess
from support import services
from support.models import AuditEntry, StaffNote
from tests.factories import FailedPersonalFactory, PendingEnterpriseFactory, StaffFactory
from tests.helpers import AUDIT, QUEUE, detail_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(lead) -> AuditEntry:
    verification = FailedPersonalFactory.create()
    services.personal_data_reveal(
        actor=lead, verification=verification, reason="Ticket 1: name check", ip_address=None
    )
    services.staff_note_add(actor=lead, verification=verification, text="note", ip_address=None)
    return AuditEntry.objects.filter(action=AuditEntry.Action.REVEAL).get()


def refused(run) -> str:
    with pytest.raises(DatabaseError) as raised, transaction.atomic():
        run()
    return str(raised.value)


def test_the_orm_cannot_change_or_delete_an_entry(entry):
    entry.reason = "nothing to see"
    assert "append-only" in refused(entry.save)
    assert "append-only" in refused(AuditEntry.objects.filter(pk=entry.pk).delete)
    assert "append-only" in refused(lambda: AuditEntry.objects.update(reason=""))
    assert "append-only" in refused(StaffNote.objects.all().delete)
    entry.refresh_from_db()
    assert entry.reason == "Ticket 1: name check"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE support_auditentry SET reason = ''",
        "DELETE FROM support_auditentry",
        "UPDATE support_staffnote SET author_id = author_id",
        "DELETE FROM support_staffnote",
    ],
)
def test_raw_sql_cannot_change_or_delete_entries(entry, sql):
    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)

    assert "append-only" in refused(run)
    assert AuditEntry.objects.filter(pk=entry.pk, reason="Ticket 1: name check").exists()


def test_an_app_role_that_does_not_own_the_table_cannot_switch_the_trigger_off(entry):
    """How to deploy (README): the web and worker processes connect as a role that may insert
    and read but does not own the tables, so it can neither edit rows nor drop the guard."""
    with connection.cursor() as cursor:
        # Rolled back with the test's transaction, like the grants of the shipped command
        # (manage.py grant_app_role; tests/security/test_database_roles.py logs in as it).
        cursor.execute("CREATE ROLE realname_test_app NOLOGIN NOSUPERUSER")
        call_command("grant_app_role", "realname_test_app", stdout=io.StringIO())
        cursor.execute("SET ROLE realname_test_app")
        try:
            for sql in (
                "UPDATE support_auditentry SET reason = ''",
                "DELETE FROM support_auditentry",
                "TRUNCATE support_auditentry",
                "ALTER TABLE support_auditentry DISABLE TRIGGER support_auditentry_append_only",
                "DROP TRIGGER support_auditentry_append_only ON support_auditentry",
            ):
                with pytest.raises(DatabaseError), transaction.atomic():
                    cursor.execute(sql)
        finally:
            cursor.execute("RESET ROLE")
    assert AuditEntry.objects.filter(pk=entry.pk, reason="Ticket 1: name check").exists()


def test_support_lead_reads_the_log_and_nobody_edits_it_there(entry, lead, desk_client):
    client = desk_client(lead)

    page = client.get(AUDIT)
    assert page.status_code == 200
    assert "Ticket 1: name check" in page.content.decode()
    assert client.get(f"{AUDIT}{entry.pk}/delete/").status_code == 403
    assert client.post(f"{AUDIT}{entry.pk}/change/", {"reason": "x"}).status_code == 403
    assert 'name="action"' not in page.content.decode()  # no bulk delete


def test_the_logs_and_the_queue_cannot_be_edited_in_the_admin_even_by_a_superuser(
    entry, desk_client
):
    """Permissions aside (a superuser has them all), these admins only ever show records."""
    superuser = StaffFactory.create(groups=[])
    superuser.is_superuser = True
    superuser.save()
    client = desk_client(superuser)
    client.get(f"{detail_url(PendingEnterpriseFactory.create())}licence/")
    access = LicenceAccess.objects.get()

    for changelist, pk in (
        ("/admin/enterprise/licenceaccess/", access.pk),
        (AUDIT, entry.pk),
    ):
        page = client.get(changelist)
        assert page.status_code == 200
        assert 'name="action"' not in page.content.decode()  # no bulk delete
        assert client.get(f"{changelist}add/").status_code == 403
        assert client.post(f"{changelist}{pk}/change/", {"reason": "x"}).status_code == 403
        assert client.post(f"{changelist}{pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"{QUEUE}add/").status_code == 403
    assert LicenceAccess.objects.filter(pk=access.pk, as_staff=True).exists()
