"""Enterprise verification rules on the real Postgres: credit codes, the licence stored
encrypted in private storage, one active verification per number and per account (also under
a race), one licence for many accounts, review, and who may see a licence."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import translation

from enterprise import services
from enterprise.models import EnterpriseVerification, LicenceAccess, ReviewReason
from enterprise.storage import licence_read, private_storage
from tests.enterprise.conftest import DEMO_COMPANY, licence_png, licence_upload
from tests.verification.conftest import make_member
from verification.providers.base import CheckResult, ReasonCode
from verification.selectors import identity_kind

pytestmark = pytest.mark.django_db
Status = EnterpriseVerification.Status
PASS = CheckResult(passed=True, reason_code=ReasonCode.OK, provider_ref="ent-1")


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def staff(django_user_model):
    user = make_member()
    user.is_staff = user.is_superuser = True
    user.save()
    return user


def submit(user, **overrides) -> EnterpriseVerification:
    return services.enterprise_verification_submit(
        user=user, **{**DEMO_COMPANY, "licence": licence_upload(), **overrides}
    )


def approved(user, staff) -> EnterpriseVerification:
    verification = submit(user)
    services.enterprise_record_check_result(verification_id=verification.pk, result=PASS)
    return services.licence_review_approve(verification=verification, reviewer=staff)


def stored_files() -> list[Path]:
    root = Path(settings.PRIVATE_STORAGE_ROOT)
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
        submit(make_member(), credit_code=code)

    assert raised.value.error_dict["credit_code"][0].code == error
    assert not EnterpriseVerification.objects.exists()
    assert set(stored_files()) == before


def test_credit_codes_are_normalised():
    assert services.validate_credit_code(" 91110108ma0000901g ") == "91110108MA0000901G"


def test_a_bad_licence_file_is_refused_and_nothing_is_stored():
    before = set(stored_files())

    with pytest.raises(ValidationError) as raised:
        submit(make_member(), licence=licence_upload(b"<html><script>alert(1)</script></html>"))

    assert "licence" in raised.value.error_dict
    assert not EnterpriseVerification.objects.exists()
    assert set(stored_files()) == before


def test_the_licence_is_stored_encrypted_outside_any_url():
    verification = submit(make_member())

    path = Path(private_storage().path(verification.licence_name))
    stored = path.read_bytes()
    assert not stored.startswith(b"\x89PNG") and b"IHDR" not in stored
    assert licence_read(verification.licence_name).startswith(b"\x89PNG")
    assert not str(path).startswith(str(Path(settings.MEDIA_ROOT)))
    assert str(path).startswith(str(Path(settings.PRIVATE_STORAGE_ROOT)))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT legal_representative FROM enterprise_enterpriseverification WHERE id = %s",
            [verification.pk],
        )
        assert DEMO_COMPANY["legal_representative"] not in cursor.fetchone()[0]


def test_one_licence_verifies_many_accounts(staff):
    first, second = make_member(), make_member()

    one, two = approved(first, staff), approved(second, staff)

    assert one.licence_sha256 == two.licence_sha256
    assert one.credit_code == two.credit_code
    assert identity_kind(user=first) == identity_kind(user=second) == "enterprise"


def test_one_open_enterprise_verification_per_account():
    user = make_member()
    submit(user)

    with pytest.raises(ValidationError) as raised:
        submit(user)
    assert raised.value.code == "already_active"


def test_the_phone_rule_holds_at_the_database():
    first, second = make_member(), make_member()
    verification = submit(first)

    with (
        pytest.raises(IntegrityError, match="enterprise_one_active_per_phone"),
        transaction.atomic(),
    ):
        EnterpriseVerification.objects.create(
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
    submit(make_member())

    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_number_leave_exactly_one(monkeypatch):
    monkeypatch.setattr(services, "_enqueue", lambda verification_id: None)
    users = [make_member() for _ in range(10)]
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
    verification = submit(make_member())

    rejected = services.enterprise_record_check_result(
        verification_id=verification.pk,
        result=CheckResult(
            passed=False, reason_code=ReasonCode.LEGAL_REPRESENTATIVE_MISMATCH, provider_ref="r"
        ),
    )

    assert rejected.status == Status.REJECTED
    assert rejected.reason_code == ReasonCode.LEGAL_REPRESENTATIVE_MISMATCH


def test_review_approves_or_rejects_with_a_reason(staff):
    approved_one = approved(make_member(), staff)
    other = submit(make_member())
    services.enterprise_record_check_result(verification_id=other.pk, result=PASS)

    rejected = services.licence_review_reject(
        verification=other, reviewer=staff, reason=ReviewReason.LICENCE_UNREADABLE
    )

    assert approved_one.status == Status.APPROVED and approved_one.reviewed_by == staff
    assert rejected.status == Status.REJECTED
    assert rejected.reason_code == ReviewReason.LICENCE_UNREADABLE


def test_an_account_verifies_as_a_person_or_an_enterprise_not_both():
    from tests.verification.conftest import details
    from verification import services as personal

    user = make_member()
    submit(user)

    with pytest.raises(ValidationError) as raised:
        personal.verification_submit(user=user, **details())
    assert raised.value.code == "verified_as_enterprise"


def test_only_the_owner_and_staff_see_the_licence(client, staff):
    owner = make_member()
    verification = submit(owner)
    url = f"/verification/enterprise/{verification.public_id}/licence/"

    assert client.get(url).status_code == 403  # anonymous
    client.force_login(make_member())
    assert client.get(url).status_code == 404  # another account
    client.force_login(owner)
    own = client.get(url)
    assert own.status_code == 200 and own.content.startswith(b"\x89PNG")
    assert own["Content-Security-Policy"] == "default-src 'none'; sandbox"
    client.force_login(staff)
    for_staff = client.get(url)
    assert for_staff.status_code == 200 and for_staff["Content-Type"] == "image/png"
    assert for_staff.content != own.content  # watermarked

    accesses = LicenceAccess.objects.filter(verification=verification).order_by("at")
    assert [(a.user_id, a.as_staff) for a in accesses] == [(owner.pk, False), (staff.pk, True)]


def test_attempts_are_limited_per_day_as_for_people(settings):
    settings.VERIFICATION_MAX_ATTEMPTS_PER_DAY = 1
    user = make_member()
    services.enterprise_record_check_result(
        verification_id=submit(user).pk,
        result=CheckResult(passed=False, reason_code=ReasonCode.NO_SUCH_COMPANY, provider_ref="r"),
    )

    with pytest.raises(ValidationError) as raised:
        submit(user)
    assert raised.value.code == "locked_out"
    assert "You can try again after" in raised.value.messages[0]


def test_a_rejection_is_shown_with_what_to_fix(client, staff):
    user = make_member()
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
