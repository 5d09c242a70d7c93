"""Enterprise verification rules on the real Postgres: credit codes, the licence stored
encrypted in private storage, one active verification per number and per account (also under
a race), one licence for many accounts, review, and who may see a licence."""

from __future__ import annotations

import base64
import io
import threading
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from PIL import Image

from accounts.identity import identity_kind
from enterprise import services
from enterprise.app_settings import app_settings as enterprise_settings
from enterprise.models import EnterpriseVerification, LicenceAccess, ReviewReason
from enterprise.storage import licence_read, private_storage
from kernel.crypto import DecryptionError, key_id_of
from tests.factories import (
    DEMO_COMPANY,
    EnterpriseVerificationFactory,
    MemberFactory,
    details,
    licence_png,
    licence_upload,
)
from verification.providers.base import CheckResult, ReasonCode

pytestmark = pytest.mark.django_db
Status = EnterpriseVerification.Status
PASS = CheckResult(passed=True, reason_code=ReasonCode.OK, provider_ref="ent-1")


@pytest.fixture
def staff(django_user_model):
    return MemberFactory.create(is_staff=True, is_superuser=True)


def submit(user, **overrides) -> EnterpriseVerification:
    return services.enterprise_verification_submit(
        user=user, **{**DEMO_COMPANY, "licence": licence_upload(), **overrides}
    )


def approved(user, staff) -> EnterpriseVerification:
    verification = submit(user)
    services.enterprise_record_check_result(verification_id=verification.pk, result=PASS)
    return services.licence_review_approve(verification=verification, reviewer=staff)


def stored_files() -> list[Path]:
    root = Path(enterprise_settings.PRIVATE_STORAGE_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("91110108MA0000901H", "invalid_checksum"),
        ("91110108MA000090", "invalid_format"),
        ("91110108MA0000901I", "invalid_format"),
    ],
)
def test_credit_codes_are_checked_before_anything_is_stored(code, error):
    before = set(stored_files())

    with pytest.raises(ValidationError) as raised:
        submit(MemberFactory.create(), credit_code=code)

    assert raised.value.error_dict["credit_code"][0].code == error
    assert not EnterpriseVerification.objects.exists()
    assert set(stored_files()) == before


def test_credit_codes_are_normalised():
    assert services.validate_credit_code(" 91110108ma0000901g ") == "91110108MA0000901G"


def test_a_bad_licence_file_is_refused_and_nothing_is_stored():
    before = set(stored_files())

    with pytest.raises(ValidationError) as raised:
        submit(
            MemberFactory.create(),
            licence=licence_upload(b"<html><script>alert(1)</script></html>"),
        )

    assert "licence" in raised.value.error_dict
    assert not EnterpriseVerification.objects.exists()
    assert set(stored_files()) == before


def test_the_licence_is_stored_encrypted_outside_any_url():
    verification = submit(MemberFactory.create())

    path = Path(private_storage().path(verification.licence_name))
    stored = path.read_bytes()
    assert not stored.startswith(b"\x89PNG") and b"IHDR" not in stored
    assert licence_read(verification.licence_name).startswith(b"\x89PNG")
    assert not str(path).startswith(str(Path(settings.MEDIA_ROOT)))
    assert str(path).startswith(str(Path(enterprise_settings.PRIVATE_STORAGE_ROOT)))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT legal_representative FROM enterprise_enterpriseverification WHERE id = %s",
            [verification.pk],
        )
        assert DEMO_COMPANY["legal_representative"] not in cursor.fetchone()[0]


def test_one_licence_verifies_many_accounts(staff):
    first, second = MemberFactory.create(), MemberFactory.create()

    one, two = approved(first, staff), approved(second, staff)

    assert one.licence_sha256 == two.licence_sha256
    assert one.credit_code == two.credit_code
    assert identity_kind(user=first) == identity_kind(user=second) == "enterprise"


def test_one_open_enterprise_verification_per_account():
    user = MemberFactory.create()
    submit(user)

    with pytest.raises(ValidationError) as raised:
        submit(user)
    assert raised.value.code == "already_active"


def test_the_phone_rule_holds_at_the_database():
    first, second = MemberFactory.create(), MemberFactory.create()
    verification = submit(first)

    with (
        pytest.raises(IntegrityError, match="enterprise_one_active_per_phone"),
        transaction.atomic(),
    ):
        EnterpriseVerificationFactory.create(
            user=second,
            phone=str(first.phone),
            company_name="x",
            credit_code=verification.credit_code,
            legal_representative="y",
            licence_name="n",
            licence_content_type="image/png",
            licence_sha256="0" * 64,
        )


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE enterprise_enterpriseverification SET status = 'approved'",  # nobody reviewed
        "UPDATE enterprise_enterpriseverification SET status = 'pending_review'",  # not checked
        "UPDATE enterprise_enterpriseverification SET status = 'rejected', completed_at = now()",
        "UPDATE enterprise_enterpriseverification SET credit_code = 'not-a-code'",
    ],
)
def test_check_constraints_keep_status_and_outcome_consistent(sql):
    submit(MemberFactory.create())

    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_number_leave_exactly_one(monkeypatch):
    monkeypatch.setattr(services.enterprise, "enqueue", lambda task_name, verification_id: None)
    users = MemberFactory.create_batch(10)
    contested_phone = str(users[0].phone)
    for user in users[1:]:  # as if each had held the number in turn
        type(user).objects.filter(pk=user.pk).update(phone=None, phone_verified=False)
    barrier = threading.Barrier(len(users))
    outcomes: list[str] = []
    lock = threading.Lock()
    content = licence_png()
    before = set(stored_files())

    def claim(user) -> None:
        user.phone, user.phone_verified = contested_phone, True  # in memory only
        try:
            barrier.wait()
            submit(user, licence=licence_upload(content))
            outcome = "saved"
        except ValidationError as error:
            outcome = str(error.code)
        except Exception as error:  # reported below, not lost with the thread
            outcome = repr(error)
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=claim, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(outcomes) == ["phone_taken"] * 9 + ["saved"]
    assert EnterpriseVerification.objects.filter(phone=contested_phone).count() == 1
    # The losers' licence files were removed with their rows: only the winner's is new.
    names = {
        name
        for pair in EnterpriseVerification.objects.values_list(
            "licence_name", "licence_preview_name"
        )
        for name in pair
        if name
    }
    new_files = set(stored_files()) - before
    assert {p.name for p in new_files} == {Path(n).name for n in names}


def test_a_failed_registry_check_is_rejected_with_its_reason():
    verification = submit(MemberFactory.create())

    rejected = services.enterprise_record_check_result(
        verification_id=verification.pk,
        result=CheckResult(
            passed=False, reason_code=ReasonCode.LEGAL_REPRESENTATIVE_MISMATCH, provider_ref="r"
        ),
    )

    assert rejected.status == Status.REJECTED
    assert rejected.reason_code == ReasonCode.LEGAL_REPRESENTATIVE_MISMATCH


def test_review_approves_or_rejects_with_a_reason(staff):
    approved_one = approved(MemberFactory.create(), staff)
    other = submit(MemberFactory.create())
    services.enterprise_record_check_result(verification_id=other.pk, result=PASS)

    rejected = services.licence_review_reject(
        verification=other, reviewer=staff, reason=ReviewReason.LICENCE_UNREADABLE
    )

    assert approved_one.status == Status.APPROVED and approved_one.reviewed_by == staff
    assert rejected.status == Status.REJECTED
    assert rejected.reason_code == ReviewReason.LICENCE_UNREADABLE


def test_nobody_reviews_their_own_accounts_licence(staff):
    own = submit(staff)
    services.enterprise_record_check_result(verification_id=own.pk, result=PASS)

    for review in (
        lambda: services.licence_review_approve(verification=own, reviewer=staff),
        lambda: services.licence_review_reject(
            verification=own, reviewer=staff, reason=ReviewReason.LICENCE_UNREADABLE
        ),
    ):
        with pytest.raises(ValidationError) as raised:
            review()
        assert raised.value.code == "own"
    own.refresh_from_db()
    assert own.status == Status.PENDING_REVIEW and own.reviewed_by is None


def test_an_account_verifies_as_a_person_or_an_enterprise_not_both():
    from verification import services as personal

    user = MemberFactory.create()
    submit(user)

    with pytest.raises(ValidationError) as raised:
        personal.verification_submit(user=user, **details())
    assert raised.value.code == "verified_as_enterprise"


def test_a_pdf_licence_is_downloaded_not_shown_in_the_browser(client):
    """A PDF is not opened by the browser's PDF viewer under our sandbox policy (it would show
    nothing): the owner gets it as a download; images stay inline."""
    image = Image.new("RGB", (900, 640), "white")
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=150.0)
    owner = MemberFactory.create()
    verification = submit(
        owner,
        licence=SimpleUploadedFile("licence.pdf", buffer.getvalue(), "application/pdf"),
    )
    client.force_login(owner)

    response = client.get(f"/verification/enterprise/{verification.public_id}/licence/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="licence.pdf"'
    assert response.content == buffer.getvalue()


@pytest.mark.django_db(transaction=True)
def test_person_and_enterprise_submitted_at_once_leave_one(monkeypatch):
    """A personal submission still open in one request; the enterprise submission of the same
    account in another waits for it and is refused, instead of both being saved."""
    from verification import services as personal

    monkeypatch.setattr(services.enterprise, "enqueue", lambda task_name, verification_id: None)
    monkeypatch.setattr(personal.personal, "enqueue", lambda task_name, verification_id: None)
    user = MemberFactory.create()
    personal_saved, release = threading.Event(), threading.Event()
    outcomes: dict[str, str] = {}

    def as_person() -> None:
        try:
            with transaction.atomic():
                personal.verification_submit(user=user, **details())
                personal_saved.set()
                release.wait(30)  # hold the transaction open while the other request runs
            outcomes["person"] = "saved"
        except Exception as error:  # reported below, not lost with the thread
            outcomes["person"] = repr(error)
        finally:
            personal_saved.set()
            connection.close()

    def as_enterprise() -> None:
        personal_saved.wait(30)
        try:
            submit(user)
            outcomes["enterprise"] = "saved"
        except ValidationError as error:
            outcomes["enterprise"] = str(error.code)
        except Exception as error:
            outcomes["enterprise"] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=as_person), threading.Thread(target=as_enterprise)]
    for thread in threads:
        thread.start()
    # Without the account lock the enterprise request finishes while the person's is open.
    threads[1].join(1.0)
    release.set()
    for thread in threads:
        thread.join(60)

    assert outcomes == {"person": "saved", "enterprise": "verified_as_person"}
    assert not EnterpriseVerification.objects.filter(user=user).exists()


def test_only_the_owner_sees_the_licence_here(client, staff):
    """Staff see licences in the support desk (tests/support), watermarked and audited."""
    owner = MemberFactory.create()
    verification = submit(owner)
    url = f"/verification/enterprise/{verification.public_id}/licence/"

    assert client.get(url).status_code == 403  # anonymous
    client.force_login(MemberFactory.create())
    assert client.get(url).status_code == 404  # another account
    client.force_login(staff)
    assert client.get(url).status_code == 404  # staff: not through the owner's link
    client.force_login(owner)
    own = client.get(url)
    assert own.status_code == 200 and own.content.startswith(b"\x89PNG")
    assert own["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert LicenceAccess.objects.filter(user=owner, as_staff=False).count() == 1


def test_attempts_are_limited_per_day_as_for_people(settings):
    settings.VERIFICATION_MAX_ATTEMPTS_PER_DAY = 1
    user = MemberFactory.create()
    services.enterprise_record_check_result(
        verification_id=submit(user).pk,
        result=CheckResult(passed=False, reason_code=ReasonCode.NO_SUCH_COMPANY, provider_ref="r"),
    )

    with pytest.raises(ValidationError) as raised:
        submit(user)
    assert raised.value.code == "locked_out"
    assert "You can try again after" in raised.value.messages[0]


def test_a_rejection_is_shown_with_what_to_fix(client, staff):
    user = MemberFactory.create()
    verification = submit(user)
    services.enterprise_record_check_result(verification_id=verification.pk, result=PASS)
    services.licence_review_reject(
        verification=verification, reviewer=staff, reason=ReviewReason.LICENCE_UNREADABLE
    )
    client.force_login(user)

    page = client.get(
        f"/verification/enterprise/{verification.public_id}/", headers={"accept-language": "en"}
    ).content.decode()

    assert 'data-verification-status="rejected"' in page
    assert "Our reviewer could not read the licence." in page
    assert "Upload a sharper photo or scan" in page


def test_key_rotation_reencrypts_licence_files_too():
    """Licence files are sealed under their owner's person key: master-key rotation rewraps that
    key (rewrap_person_keys) and leaves the files as they are; reencrypt_personal_data finds
    nothing to re-encrypt in them; after it, the old key can be removed and every licence
    (original and preview) still opens."""
    old_key = "old:" + base64.urlsafe_b64encode(bytes(range(32))).decode()
    new_key = "new:" + base64.urlsafe_b64encode(bytes(range(50, 82))).decode()
    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[old_key]):
        verification = submit(MemberFactory.create())
        original = licence_read(verification.licence_name)
    names = [verification.licence_name]
    if verification.licence_preview_name:
        names.append(verification.licence_preview_name)

    def key_ids() -> set[str]:
        return {key_id_of(Path(private_storage().path(name)).read_bytes()) for name in names}

    assert key_ids() == {f"person:{verification.user_id}"}
    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[new_key, old_key]):
        dry = StringIO()
        call_command("reencrypt_personal_data", "--dry-run", stdout=dry)
        assert "enterprise files: 0 to re-encrypt" in dry.getvalue()
        out = StringIO()
        call_command("reencrypt_personal_data", stdout=out)
        call_command("rewrap_person_keys", stdout=StringIO())

    assert "enterprise files: 0 re-encrypted" in out.getvalue()
    assert key_ids() == {f"person:{verification.user_id}"}
    assert not [path for path in stored_files() if path.name.endswith(".tmp")]
    with override_settings(REALNAME_FIELD_ENCRYPTION_KEYS=[new_key]):
        assert licence_read(verification.licence_name) == original


def test_a_licence_file_cannot_be_swapped_for_another():
    """The ciphertext is bound to its storage name: copying one company's file over another's
    makes the read fail instead of showing the wrong company's licence."""
    first, second = submit(MemberFactory.create()), submit(MemberFactory.create())
    first_path = Path(private_storage().path(first.licence_name))
    second_path = Path(private_storage().path(second.licence_name))
    first_path.write_bytes(second_path.read_bytes())

    with pytest.raises(DecryptionError):
        licence_read(first.licence_name)
