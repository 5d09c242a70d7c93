"""Person keys (crypto-shredding): each person's values sealed under a key of their own, wrapped
by the master keys; shredding the key erases every copy; master-key rotation rewraps the keys;
the migration from master-key values runs batched and resumably on a populated database."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, models
from django.test import override_settings

from accounts.models import PersonKey
from accounts.personkeys import shred_person
from enterprise.models import EnterpriseVerification
from enterprise.storage import licence_is_person_sealed, licence_read
from kernel.crypto import (
    DecryptionError,
    PersonErased,
    decrypt_str,
    encrypt_str,
    forget_person_key,
    owner_of,
)
from kernel.fields import ERASED, Erased, ErasedJSON, encrypted_fields, is_erased
from support.models import StaffNote
from tests.factories import (
    FailedPersonalFactory,
    MemberFactory,
    PendingEnterpriseFactory,
    StaffFactory,
)
from verification.models import PersonalVerification

pytestmark = pytest.mark.django_db

OLD_KEY = "old:b2xkLWtleS0zMi1ieXRlcy1sb25nLWZvci10ZXN0cyEh"
NEW_KEY = "new:bmV3LWtleS0zMi1ieXRlcy1sb25nLWZvci10ZXN0cyEh"
NAMES = ["赵一", "钱二", "孙三", "李四", "周五"]
PERSONAL = ("name", "document_number", "birth_date", "result")


@pytest.fixture(autouse=True)
def _private_storage(settings: Any, tmp_path: Any) -> None:
    settings.REALNAME_ENTERPRISE_PRIVATE_STORAGE_ROOT = str(tmp_path / "private")
    forget_person_key()


def raw(model: type[models.Model], pk: Any, column: str) -> str:
    with connection.cursor() as cursor:
        table = model._meta.db_table
        cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE id = %s', [pk])  # noqa: S608
        return cursor.fetchone()[0]


def note_for(verification: PersonalVerification, text: str) -> StaffNote:
    return StaffNote.objects.create(
        kind=verification.kind,
        verification_id=verification.pk,
        author=StaffFactory.create(),
        text=text,
    )


def test_values_are_sealed_under_the_persons_own_key() -> None:
    verification = FailedPersonalFactory.create(name="张三")
    user_id = verification.user_id
    for column in ("name", "document_number", "birth_date", "result"):
        assert raw(PersonalVerification, verification.pk, column).startswith(f"p1:{user_id}:")
    key = PersonKey.objects.get(user_id=user_id)
    assert key.wrapped_key.startswith("v1:test1:") and key.master_key_id == "test1"
    forget_person_key()
    again = PersonalVerification.objects.get(pk=verification.pk)
    assert again.name == "张三"
    assert again.birth_date is not None and again.birth_date.year == 1990
    # Another person's key does not open it: the owner is authenticated with the value.
    other = MemberFactory.create()
    token = raw(PersonalVerification, verification.pk, "name")
    forged = token.replace(f"p1:{user_id}:", f"p1:{other.pk}:", 1)
    encrypt_str("x", purpose="warm", owner=other.pk)
    with pytest.raises(DecryptionError):
        decrypt_str(forged, purpose="verification.PersonalVerification.name")


def test_shredding_erases_every_copy_and_pages_show_erased() -> None:
    verification = FailedPersonalFactory.create(name="李四")
    enterprise = PendingEnterpriseFactory.create(user=verification.user)
    note = note_for(verification, "Called, name spelled 李四")
    kept = MemberFactory.create()
    kept_verification = FailedPersonalFactory.create(user=kept, name="王五")
    user_id = verification.user_id
    assert raw(StaffNote, note.pk, "text").startswith(f"p1:{user_id}:")
    assert licence_is_person_sealed(enterprise.licence_name)
    token = raw(PersonalVerification, verification.pk, "name")  # a "backup" of the value
    licence_name = enterprise.licence_name

    assert shred_person(user_id) is True
    assert shred_person(user_id) is False  # idempotent

    with pytest.raises(PersonErased):
        decrypt_str(token, purpose="verification.PersonalVerification.name")
    with pytest.raises(PersonErased):
        licence_read(licence_name)
    erased = PersonalVerification.objects.get(pk=verification.pk)
    assert erased.name == ERASED and isinstance(erased.name, Erased)
    assert is_erased(erased.document_number) and is_erased(erased.birth_date)
    assert isinstance(erased.result, ErasedJSON) and erased.result == {}
    assert str(erased)  # the admin's and desk's label of the record does not crash
    assert EnterpriseVerification.objects.get(pk=enterprise.pk).legal_representative == ERASED
    assert StaffNote.objects.get(pk=note.pk).text == ERASED
    # Saving the record (a status change, a retention job) keeps the unreadable ciphertext.
    erased.save()
    assert raw(PersonalVerification, verification.pk, "name") == token
    # Nothing new can be sealed for an erased person.
    with pytest.raises(PersonErased):
        encrypt_str("new", purpose="anything", owner=user_id)
    # The record of the shredding holds no key.
    record = PersonKey.objects.get(user_id=user_id)
    assert record.wrapped_key == "" and record.shredded_at is not None
    # Someone else is untouched.
    assert PersonalVerification.objects.get(pk=kept_verification.pk).name == "王五"


def test_master_key_rotation_rewraps_person_keys() -> None:
    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        verifications = [FailedPersonalFactory.create(name=NAMES[n]) for n in range(3)]
        enterprise = PendingEnterpriseFactory.create()
        tokens = {v.pk: raw(PersonalVerification, v.pk, "name") for v in verifications}
    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("rewrap_person_keys", batch_size=2)
        assert set(PersonKey.objects.values_list("master_key_id", flat=True)) == {"new"}
        # The values themselves were not rewritten.
        assert {v.pk: raw(PersonalVerification, v.pk, "name") for v in verifications} == tokens
        call_command("rewrap_person_keys")  # nothing left: a second run changes nothing
    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[NEW_KEY]):  # the old key is gone
        for n, verification in enumerate(verifications):
            again = PersonalVerification.objects.get(pk=verification.pk)
            assert again.name == NAMES[n]
            assert again.document_number and again.birth_date and again.result
        assert licence_read(enterprise.licence_name).startswith(b"\x89PNG")
        assert EnterpriseVerification.objects.get(pk=enterprise.pk).legal_representative


def to_master_keys(instance: models.Model) -> None:
    """Rewrite a row the way it was stored before person keys (v1 under the master key)."""
    changes = {}
    for field in encrypted_fields(type(instance)):
        value = getattr(instance, field.attname)
        plaintext = field.plaintext_from_value(value)
        changes[field.attname] = models.Value(
            encrypt_str(plaintext, purpose=field.purpose), models.TextField()
        )
    type(instance)._base_manager.filter(pk=instance.pk).update(**changes)


def test_migration_to_person_keys_on_a_populated_database() -> None:
    verifications = [FailedPersonalFactory.create(name=NAMES[n]) for n in range(5)]
    enterprise = PendingEnterpriseFactory.create()
    expected = {v.pk: (v.name, v.document_number, v.birth_date, v.result) for v in verifications}
    for verification in verifications:
        to_master_keys(verification)
    to_master_keys(enterprise)
    # An old note: no subject, under the master key (bulk_create skips save()).
    (old_note,) = StaffNote.objects.bulk_create(
        [
            StaffNote(
                kind=verifications[0].kind,
                verification_id=verifications[0].pk,
                author=StaffFactory.create(),
                text="旧的笔记",
            )
        ]
    )
    assert raw(StaffNote, old_note.pk, "text").startswith("v1:")
    # Old licence files, under the master key.
    from enterprise.storage import _purpose, _write_atomically, encrypt_bytes

    for name in (enterprise.licence_name, enterprise.licence_preview_name):
        if name:
            content = licence_read(name)
            _write_atomically(name, encrypt_bytes(content, purpose=_purpose(name)), replace=True)
    assert not licence_is_person_sealed(enterprise.licence_name)
    PersonKey.objects.all().delete()
    forget_person_key()
    for verification in verifications:
        assert raw(PersonalVerification, verification.pk, "name").startswith("v1:test1:")

    # First run, interrupted: one batch of two rows per column.
    call_command("migrate_to_person_keys", batch_size=2, max_batches=1)
    names = [raw(PersonalVerification, v.pk, "name") for v in verifications]
    assert sum(name.startswith("p1:") for name in names) == 2
    assert sum(name.startswith("v1:") for name in names) == 3
    # Half-way, every value reads (the site keeps running).
    for verification in PersonalVerification.objects.filter(pk__in=expected):
        got = (verification.name, verification.document_number, verification.birth_date)
        assert got == expected[verification.pk][:3]

    # Resumed to the end; a third run finds nothing to do.
    call_command("migrate_to_person_keys", batch_size=2)
    moved = [raw(PersonalVerification, v.pk, c) for v in verifications for c in PERSONAL]
    assert all(token.startswith("p1:") for token in moved)
    before = list(moved)
    call_command("migrate_to_person_keys", batch_size=2)
    assert [raw(PersonalVerification, v.pk, c) for v in verifications for c in PERSONAL] == before

    for verification in PersonalVerification.objects.filter(pk__in=expected):
        whole = (
            verification.name,
            verification.document_number,
            verification.birth_date,
            verification.result,
        )
        assert whole == expected[verification.pk]
        assert owner_of(raw(PersonalVerification, verification.pk, "name")) == verification.user_id
    note = StaffNote.objects.get(pk=old_note.pk)
    assert note.text == "旧的笔记" and note.subject_id == verifications[0].user_id
    assert raw(StaffNote, old_note.pk, "text").startswith(f"p1:{verifications[0].user_id}:")
    assert licence_is_person_sealed(enterprise.licence_name)
    assert licence_read(enterprise.licence_name).startswith(b"\x89PNG")
    assert EnterpriseVerification.objects.get(pk=enterprise.pk).legal_representative

    # After the migration, shredding reaches what was written before it.
    shred_person(verifications[0].user_id)
    assert StaffNote.objects.get(pk=old_note.pk).text == ERASED
    assert PersonalVerification.objects.get(pk=verifications[0].pk).name == ERASED


def test_notes_stay_append_only_after_the_migration() -> None:
    from django.db import DatabaseError, transaction

    verification = FailedPersonalFactory.create()
    note = note_for(verification, "first")
    with pytest.raises(DatabaseError), transaction.atomic():
        StaffNote.objects.filter(pk=note.pk).update(
            text=models.Value(
                encrypt_str(
                    "changed", purpose="support.StaffNote.text", owner=verification.user_id
                ),
                models.TextField(),
            )
        )
    with pytest.raises(DatabaseError), transaction.atomic():
        StaffNote.objects.filter(pk=note.pk).delete()


def test_check_reports_what_is_left_until_the_migration_has_finished() -> None:
    """``migrate_to_person_keys --check`` on a populated database: a count per table while
    values remain (and a non-zero exit), nothing changed; after the migration it passes. The
    blanks a closed account leaves under the master key are not work left."""
    from io import StringIO

    from django.core.management import CommandError

    from realname.privacy import person_erase

    verifications = [FailedPersonalFactory.create(name=NAMES[n]) for n in range(3)]
    enterprise = PendingEnterpriseFactory.create()
    for verification in verifications:
        to_master_keys(verification)
    to_master_keys(enterprise)
    from enterprise.storage import _purpose, _write_atomically, encrypt_bytes

    for name in (enterprise.licence_name, enterprise.licence_preview_name):
        if name:
            content = licence_read(name)
            _write_atomically(name, encrypt_bytes(content, purpose=_purpose(name)), replace=True)
    PersonKey.objects.all().delete()
    forget_person_key()
    # Someone closes their account after the migration was deployed, before it ran: their
    # values are blanked (under the master key) and their key shredded.
    closed = MemberFactory.create()
    FailedPersonalFactory.create(user=closed)
    person_erase(user=closed)
    before = [raw(PersonalVerification, v.pk, "name") for v in verifications]

    out = StringIO()
    with pytest.raises(CommandError, match="has not finished"):
        call_command("migrate_to_person_keys", check=True, stdout=out)
    report = out.getvalue()
    assert "verification.PersonalVerification.name: 3 to move" in report
    assert "verification.PersonalVerification.document_number: 3 to move" in report
    assert "enterprise.EnterpriseVerification.legal_representative: 1 to move" in report
    assert "blanks of erased people: nothing to move" in report
    assert "enterprise files: 2 to move" in report
    assert [raw(PersonalVerification, v.pk, "name") for v in verifications] == before

    call_command("migrate_to_person_keys", batch_size=2, stdout=StringIO())
    out = StringIO()
    call_command("migrate_to_person_keys", check=True, stdout=out)
    assert "verification.PersonalVerification.name: 0 to move" in out.getvalue()
    assert "enterprise files: 0 to move" in out.getvalue()
    assert "Finished" in out.getvalue()
