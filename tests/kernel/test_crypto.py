"""Encryption at rest: the crypto primitives, the encrypted model fields on a real table, key
rotation with ``reencrypt_personal_data``, and the key system checks."""

from __future__ import annotations

import base64
import datetime
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.core.checks import Tags, run_checks
from django.core.exceptions import FieldError
from django.core.management import CommandError, call_command
from django.db import connection, models
from django.test import override_settings
from django.test.utils import isolate_apps

from kernel import checks as key_checks
from kernel.crypto import (
    DecryptionError,
    KeyConfigurationError,
    blind_index,
    decrypt_bytes,
    decrypt_str,
    encrypt_bytes,
    encrypt_str,
    key_id_of,
    primary_key_id,
)
from kernel.fields import (
    EncryptedDateField,
    EncryptedJSONField,
    EncryptedTextField,
    encrypted_fields,
)
from kernel.management.commands.reencrypt_personal_data import Command as ReencryptCommand

PURPOSE = "verification.PersonalVerification.name"
NAME = "张三丰"
ID_NUMBER = "11010519491231002X"


def key_entry(key_id: str, material: bytes, *, urlsafe: bool = True) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.standard_b64encode
    return f"{key_id}:{encode(material).decode()}"


OLD_KEY = key_entry("old", bytes(range(32)))
NEW_KEY = key_entry("new", bytes(range(100, 132)))
GONE_KEY = key_entry("gone", bytes(range(200, 232)))


# --- crypto primitives -------------------------------------------------------------------------


def test_text_round_trip_under_the_primary_key():
    token = encrypt_str(NAME, purpose=PURPOSE)

    assert token.startswith("v1:test1:")
    assert NAME not in token
    assert decrypt_str(token, purpose=PURPOSE) == NAME
    assert decrypt_str(encrypt_str("", purpose=PURPOSE), purpose=PURPOSE) == ""


def test_equal_values_encrypt_to_different_tokens():
    assert encrypt_str(ID_NUMBER, purpose=PURPOSE) != encrypt_str(ID_NUMBER, purpose=PURPOSE)


def test_tampered_text_is_refused_without_revealing_the_value():
    token = encrypt_str(ID_NUMBER, purpose=PURPOSE)
    prefix, payload = token.rsplit(":", 1)
    flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]

    with pytest.raises(DecryptionError) as excinfo:
        decrypt_str(f"{prefix}:{flipped}", purpose=PURPOSE)

    assert ID_NUMBER not in str(excinfo.value)
    assert payload not in str(excinfo.value)


def test_a_value_encrypted_for_one_purpose_does_not_decrypt_for_another():
    token = encrypt_str(ID_NUMBER, purpose="verification.PersonalVerification.id_number")
    blob = encrypt_bytes(b"licence scan", purpose="enterprise.Licence.image")

    with pytest.raises(DecryptionError):
        decrypt_str(token, purpose=PURPOSE)
    with pytest.raises(DecryptionError):
        decrypt_bytes(blob, purpose="enterprise.Licence.other_image")


def test_bytes_round_trip_in_the_binary_format():
    blob = encrypt_bytes(b"\x89PNG licence image", purpose="enterprise.Licence.image")

    assert blob.startswith(b"RNE1" + bytes([len("test1")]) + b"test1")
    assert b"licence image" not in blob
    assert decrypt_bytes(blob, purpose="enterprise.Licence.image") == b"\x89PNG licence image"
    assert key_id_of(blob) == "test1"


def test_tampered_bytes_are_refused():
    blob = bytearray(encrypt_bytes(b"licence image", purpose="enterprise.Licence.image"))
    blob[-1] ^= 0x01

    with pytest.raises(DecryptionError):
        decrypt_bytes(bytes(blob), purpose="enterprise.Licence.image")


@pytest.mark.parametrize(
    "token",
    ["11010519491231002X", "v1:test1:", "v1:test1:!!not-base64!!", "v2:test1:AAAA", "v1::AAAA"],
)
def test_text_that_is_not_a_token_is_refused(token):
    with pytest.raises(DecryptionError):
        decrypt_str(token, purpose=PURPOSE)


@pytest.mark.parametrize("blob", [b"", b"RNE1", b"RNE1\x05tes", b"PNG\x00" + bytes(40)])
def test_bytes_that_are_not_encrypted_are_refused(blob):
    with pytest.raises(DecryptionError):
        decrypt_bytes(blob, purpose="enterprise.Licence.image")


def test_values_under_an_old_key_still_decrypt_after_rotation():
    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        token = encrypt_str(NAME, purpose=PURPOSE)
        blob = encrypt_bytes(b"scan", purpose="enterprise.Licence.image")

    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        assert primary_key_id() == "new"
        assert key_id_of(token) == "old"
        assert decrypt_str(token, purpose=PURPOSE) == NAME
        assert decrypt_bytes(blob, purpose="enterprise.Licence.image") == b"scan"
        assert key_id_of(encrypt_str(NAME, purpose=PURPOSE)) == "new"


def test_a_value_under_a_removed_key_is_refused():
    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        token = encrypt_str(NAME, purpose=PURPOSE)

    with (
        override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[NEW_KEY]),
        pytest.raises(DecryptionError) as exc,
    ):
        decrypt_str(token, purpose=PURPOSE)

    assert "'old'" in str(exc.value)


def test_relabelling_a_token_with_another_configured_key_id_is_refused():
    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        token = encrypt_str(NAME, purpose=PURPOSE)
        with pytest.raises(DecryptionError):
            decrypt_str(token.replace("v1:new:", "v1:old:"), purpose=PURPOSE)


def test_standard_and_urlsafe_base64_keys_are_the_same_key():
    material = bytes([0xFB, 0xFF, 0xBF] * 11)  # encodes to '+' and '/' in standard base64
    standard = key_entry("k1", material, urlsafe=False)
    urlsafe = key_entry("k1", material).rstrip("=")
    assert "+" in standard or "/" in standard

    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[standard]):
        token = encrypt_str(NAME, purpose=PURPOSE)
    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[urlsafe]):
        assert decrypt_str(token, purpose=PURPOSE) == NAME


def test_a_bad_key_configuration_stops_encryption_without_showing_the_key():
    short = key_entry("k1", b"sixteen-byte-key")

    with (
        override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[short]),
        pytest.raises(KeyConfigurationError) as exc,
    ):
        encrypt_str(NAME, purpose=PURPOSE)
    assert short.split(":")[1] not in str(exc.value)

    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[]), pytest.raises(KeyConfigurationError):
        encrypt_str(NAME, purpose=PURPOSE)


def test_blind_index_is_stable_keyed_and_separated_by_purpose():
    index = blind_index(ID_NUMBER, purpose="id_number")

    assert index == blind_index(ID_NUMBER, purpose="id_number")
    assert len(index) == 64 and int(index, 16) >= 0
    assert ID_NUMBER not in index
    assert blind_index("11010519491231003X", purpose="id_number") != index
    assert blind_index(ID_NUMBER, purpose="phone") != index
    with override_settings(REALNAME_BLIND_INDEX_KEY="another-blind-index-key-of-decent-length"):
        assert blind_index(ID_NUMBER, purpose="id_number") != index


def test_blind_index_refuses_an_empty_key():
    with override_settings(REALNAME_BLIND_INDEX_KEY=""), pytest.raises(KeyConfigurationError):
        blind_index(ID_NUMBER, purpose="id_number")


# --- the model fields on a real table ---------------------------------------------------------


@pytest.fixture
def record_model(db) -> Iterator[Any]:
    """A model with every encrypted field, registered in the app registry (so the command finds
    it) and given a table for this test only; both are gone afterwards."""

    class CryptoTestRecord(models.Model):  # noqa: DJ008 - never displayed
        name = EncryptedTextField(null=True)
        former_name = EncryptedTextField(null=True)
        birth_date = EncryptedDateField(null=True)
        payload = EncryptedJSONField(null=True)

        class Meta:
            app_label = "verification"

    with connection.schema_editor() as editor:
        editor.create_model(CryptoTestRecord)
    try:
        yield CryptoTestRecord
    finally:
        # The table goes with the test's transaction; the registry entry must go by hand.
        del apps.all_models["verification"]["cryptotestrecord"]
        apps.clear_cache()


def raw_row(model: Any, pk: int) -> dict[str, Any]:
    """The columns as stored, without the fields' decryption."""
    columns = ["name", "former_name", "birth_date", "payload"]
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM {table} WHERE id = %s",  # noqa: S608 - fixed names
            [pk],
        )
        return dict(zip(columns, cursor.fetchone(), strict=True))


def test_fields_round_trip_and_store_no_plaintext(record_model):
    record = record_model.objects.create(
        name=NAME,
        birth_date=datetime.date(1949, 12, 31),
        payload={"reason_code": "passed", "provider_ref": "sandbox-1"},
    )
    record.refresh_from_db()

    assert record.name == NAME
    assert record.birth_date == datetime.date(1949, 12, 31)
    assert record.payload == {"reason_code": "passed", "provider_ref": "sandbox-1"}
    stored = raw_row(record_model, record.pk)
    for column in ("name", "birth_date", "payload"):
        assert stored[column].startswith("v1:test1:")
    assert NAME not in stored["name"]
    assert "1949" not in stored["birth_date"]
    assert "passed" not in stored["payload"]
    assert stored["former_name"] is None


def test_none_stays_null_and_isnull_is_the_only_filter(record_model):
    empty = record_model.objects.create()
    filled = record_model.objects.create(name=NAME)

    assert raw_row(record_model, empty.pk)["name"] is None
    assert list(record_model.objects.filter(name__isnull=True)) == [empty]
    assert list(record_model.objects.filter(name=None)) == [empty]
    assert list(record_model.objects.exclude(name=None)) == [filled]
    with pytest.raises(FieldError, match="blind index"):
        record_model.objects.filter(name=NAME).count()
    with pytest.raises(FieldError):
        record_model.objects.filter(name__icontains="张").count()
    with pytest.raises(FieldError):
        record_model.objects.filter(birth_date__year=1949).count()


def test_queryset_update_and_bulk_create_encrypt(record_model):
    record_model.objects.bulk_create([record_model(name="王五"), record_model(name="赵六")])
    record = record_model.objects.create(name=NAME)

    record_model.objects.filter(pk=record.pk).update(
        name="李四", birth_date=datetime.date(2000, 2, 29), payload=["a", 1]
    )

    stored = raw_row(record_model, record.pk)
    assert stored["name"].startswith("v1:test1:") and "李四" not in stored["name"]
    assert record_model.objects.values_list("name", "birth_date", "payload").get(pk=record.pk) == (
        "李四",
        datetime.date(2000, 2, 29),
        ["a", 1],
    )
    assert sorted(record_model.objects.exclude(pk=record.pk).values_list("name", flat=True)) == [
        "王五",
        "赵六",
    ]


def test_a_ciphertext_copied_into_another_column_does_not_decrypt(record_model):
    record = record_model.objects.create(name=NAME)
    table = connection.ops.quote_name(record_model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET former_name = name WHERE id = %s", [record.pk])  # noqa: S608

    with pytest.raises(DecryptionError):
        record_model.objects.get(pk=record.pk)
    assert record_model.objects.values_list("name", flat=True).get(pk=record.pk) == NAME


def test_fields_deconstruct_for_migrations(record_model):
    field = record_model._meta.get_field("name")
    name, path, args, kwargs = field.deconstruct()

    assert field.purpose == "verification.CryptoTestRecord.name"
    assert (name, path, args, kwargs) == (
        "name",
        "kernel.fields.EncryptedTextField",
        [],
        {"null": True},
    )
    pinned = EncryptedDateField(purpose="verification.Old.birth_date", null=True)
    _, path, _, kwargs = pinned.deconstruct()
    assert path == "kernel.fields.EncryptedDateField"
    assert (
        EncryptedDateField(**kwargs).deconstruct()[3]
        == kwargs
        == {
            "null": True,
            "purpose": "verification.Old.birth_date",
        }
    )


@isolate_apps("verification")
def test_unique_or_indexed_encrypted_fields_are_reported():
    class IndexedRecord(models.Model):  # noqa: DJ008 - never displayed
        id_number = EncryptedTextField(unique=True)
        name = EncryptedTextField(db_index=True)
        note = EncryptedTextField()

        class Meta:
            app_label = "verification"

    errors = [error for error in IndexedRecord.check() if error.id == "realname.E017"]

    assert [error.obj.name for error in errors] == ["id_number", "name"]


# --- reencrypt_personal_data ------------------------------------------------------------------


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("reencrypt_personal_data", *args, stdout=out)
    return out.getvalue()


def test_command_reencrypts_values_written_under_an_old_key(record_model):
    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        first = record_model.objects.create(name=NAME, birth_date=datetime.date(1990, 1, 2))
        second = record_model.objects.create(name="李四", payload={"a": 1})
        untouched = record_model.objects.create()

    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        current = record_model.objects.create(name="王五")
        dry_run = run_command("--model", "verification.CryptoTestRecord", "--dry-run")
        assert raw_row(record_model, first.pk)["name"].startswith("v1:old:")
        output = run_command("--model", "verification.CryptoTestRecord", "--batch-size", "1")
        again = run_command("--model", "verification.CryptoTestRecord")

    assert "verification.CryptoTestRecord.name: 2 to re-encrypt" in dry_run
    assert "verification.CryptoTestRecord.birth_date: 1 to re-encrypt" in dry_run
    assert "verification.CryptoTestRecord.name: 2 re-encrypted" in output
    assert "verification.CryptoTestRecord.payload: 1 re-encrypted" in output
    assert "verification.CryptoTestRecord.former_name: 0 re-encrypted" in output
    assert "verification.CryptoTestRecord.name: 0 re-encrypted" in again
    assert NAME not in dry_run + output + again
    assert raw_row(record_model, untouched.pk)["name"] is None
    for row in (first, second, current):
        stored = raw_row(record_model, row.pk)
        assert all(value is None or value.startswith("v1:new:") for value in stored.values())
    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        assert record_model.objects.values_list("name", "birth_date", "payload").get(
            pk=first.pk
        ) == (NAME, datetime.date(1990, 1, 2), None)
        assert record_model.objects.get(pk=second.pk).payload == {"a": 1}


def test_command_finds_models_with_encrypted_fields_by_itself(record_model):
    """Without --model it covers every installed model with an encrypted column, including ones
    added after it was written (here: one created by this test)."""
    selected = ReencryptCommand().selected_models(None)

    assert record_model in selected
    assert all(encrypted_fields(model) for model in selected)
    assert {field.name for field in encrypted_fields(record_model)} == {
        "name",
        "former_name",
        "birth_date",
        "payload",
    }


def test_command_leaves_unreadable_values_and_fails(record_model):
    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[GONE_KEY]):
        lost = record_model.objects.create(name=NAME)
    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        readable = record_model.objects.create(name="李四")
    lost_token = raw_row(record_model, lost.pk)["name"]

    out = StringIO()
    with (
        override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]),
        pytest.raises(CommandError, match="1 values could not be decrypted"),
    ):
        call_command(
            "reencrypt_personal_data", "--model", "verification.CryptoTestRecord", stdout=out
        )

    assert f"name: 1 re-encrypted, 1 unreadable (pk {lost.pk})" in out.getvalue()
    assert raw_row(record_model, lost.pk)["name"] == lost_token
    assert raw_row(record_model, readable.pk)["name"].startswith("v1:new:")


def test_command_refuses_an_unknown_model(db):
    with pytest.raises(CommandError, match="no such model"):
        run_command("--model", "verification.NoSuchModel")


# --- system checks ----------------------------------------------------------------------------


def test_dev_and_test_keys_pass_the_checks(settings):
    assert key_checks.check_field_encryption_keys(None) == []
    assert key_checks.check_blind_index_key(None) == []

    settings.REALNAME_FIELD_ENCRYPTION_KEYS = [
        "dev1:ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZHVjdGlvbiE="
    ]
    settings.REALNAME_BLIND_INDEX_KEY = "development-blind-index-key"
    assert key_checks.check_field_encryption_keys(None) == []
    assert key_checks.check_blind_index_key(None) == []


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ([], ["realname.E010"]),
        (["   "], ["realname.E010"]),
        (["no-separator"], ["realname.E011"]),
        (["bad id!:" + OLD_KEY.split(":")[1]], ["realname.E011"]),
        (["k1:not*base64"], ["realname.E011"]),
        ([key_entry("k1", bytes(16))], ["realname.E012"]),
        ([OLD_KEY, OLD_KEY.replace("old:", "new:"), OLD_KEY], ["realname.E013"]),
        ([key_entry("k1", bytes(31)), "k2"], ["realname.E012", "realname.E011"]),
    ],
)
def test_malformed_encryption_keys_are_errors_with_a_hint(settings, keys, expected):
    settings.REALNAME_FIELD_ENCRYPTION_KEYS = keys

    errors = key_checks.check_field_encryption_keys(None)

    assert [error.id for error in errors] == expected
    assert all("os.urandom(32)" in (error.hint or "") for error in errors)
    assert all(OLD_KEY.split(":")[1] not in error.msg for error in errors)


@pytest.mark.parametrize(
    ("key", "errors", "deploy_warnings"),
    [
        ("", ["realname.E014"], []),
        ("too-short", ["realname.E015"], []),
        ("test-blind-index-key", [], ["realname.W016"]),
        ("a-long-random-blind-index-key-for-the-check", [], []),
    ],
)
def test_blind_index_key_length(settings, key, errors, deploy_warnings):
    settings.REALNAME_BLIND_INDEX_KEY = key

    assert [e.id for e in key_checks.check_blind_index_key(None)] == errors
    assert [w.id for w in key_checks.check_blind_index_key_deploy(None)] == deploy_warnings


def test_key_checks_are_registered_with_the_security_tag(settings):
    settings.REALNAME_FIELD_ENCRYPTION_KEYS = []
    settings.REALNAME_BLIND_INDEX_KEY = ""

    found = {message.id for message in run_checks(tags=[Tags.security])}

    assert {"realname.E010", "realname.E014"} <= found
