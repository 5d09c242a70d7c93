"""Withdrawing consent to the real-name service description (issue #17 item 3) ends the
account's completed verification, personal or enterprise: it is recorded on the timeline, its
personal values are erased, the status page and the profile say so, the gate closes, and after
accepting the description again the person can verify afresh (an ended verification holds
neither the account's one verification nor the number). Withdrawing the face rules does not."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from accounts.identity import identity_verified
from accounts.models import User
from enterprise import services as enterprise_services
from enterprise.models import EnterpriseVerification
from enterprise.storage import licence_read
from tests.factories import (
    MemberFactory,
    PendingEnterpriseFactory,
    StaffFactory,
    details,
    passed_personal,
)
from verification import services
from verification.models import PersonalVerification, VerificationEvent

pytestmark = pytest.mark.django_db
RECHARGE = "/recharge/"
WITHDRAW = "/accounts/data/consent/{}/withdraw/"


def signed_in(user: User) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def test_withdrawing_the_service_description_ends_the_personal_verification():
    person = MemberFactory.create(face=True)
    verification = passed_personal(person)
    client = signed_in(person)
    assert client.get(RECHARGE).status_code == 200
    # The consequence is stated before the click.
    page = client.get("/accounts/data/").content.decode()
    assert "ends and its personal details are erased" in page

    response = client.post(WITHDRAW.format("realname-service"))
    assert response.status_code == 302
    verification.refresh_from_db()
    assert verification.status == PersonalVerification.Status.ENDED
    assert verification.reason_code == "consent_withdrawn"
    assert (verification.name, verification.document_number, verification.birth_date) == (
        "",
        "",
        None,
    )
    assert verification.document_number_hash == "" and verification.personal_data_purged_at
    assert verification.completed_at is not None  # when it had passed stays
    assert VerificationEvent.objects.filter(
        kind="personal", verification_id=verification.pk, event="ended"
    ).exists()
    assert not identity_verified(user=person)

    # The status page and the profile show it ended.
    status = client.get(verification.get_absolute_url()).content.decode()
    assert 'data-verification-status="ended"' in status and "Verification ended" in status
    profile = client.get("/accounts/profile/").content.decode()
    assert 'data-identity-verified="false"' in profile

    # The gate refuses: first the service description, then verification.
    response = client.get(RECHARGE)
    assert response.status_code == 302 and response["location"].startswith("/accounts/consent/")
    client.post("/accounts/consent/", {"consent_realname-service": "on", "next": RECHARGE})
    response = client.get(RECHARGE)
    assert response.status_code == 302
    assert response["location"].startswith("/verification/")

    # A fresh verification is possible: the ended one holds neither account nor number.
    fresh = services.verification_submit(user=person, **details())
    assert fresh.status == PersonalVerification.Status.SUBMITTED
    assert fresh.phone == verification.phone
    # The one-active rules still hold for the fresh one.
    with pytest.raises(IntegrityError), transaction.atomic():
        passed_personal(person)


def test_withdrawing_the_face_rules_keeps_the_verification():
    person = MemberFactory.create(face=True)
    verification = passed_personal(person)
    signed_in(person).post(WITHDRAW.format("face-rules"))
    verification.refresh_from_db()
    assert verification.status == PersonalVerification.Status.PASSED
    assert verification.name != ""


def test_withdrawing_ends_an_approved_enterprise_verification(
    django_capture_on_commit_callbacks,
):
    company = enterprise_services.licence_review_approve(
        verification=PendingEnterpriseFactory.create(), reviewer=StaffFactory.create()
    )
    names = [company.licence_name, company.licence_preview_name]
    client = signed_in(company.user)
    assert client.get(RECHARGE).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.post(WITHDRAW.format("realname-service"))
    company.refresh_from_db()
    assert company.status == EnterpriseVerification.Status.ENDED
    assert company.reason_code == "consent_withdrawn"
    assert (company.legal_representative, company.licence_name) == ("", "")
    assert company.company_name and company.credit_code  # public registry facts stay
    for name in names:
        with pytest.raises(FileNotFoundError):
            licence_read(name)
    assert VerificationEvent.objects.filter(
        kind="enterprise", verification_id=company.pk, event="ended"
    ).exists()
    page = client.get(company.get_absolute_url()).content.decode()
    assert 'data-verification-status="ended"' in page and "View the uploaded licence" not in page
    client.post("/accounts/consent/", {"consent_realname-service": "on", "next": RECHARGE})
    assert client.get(RECHARGE)["location"].startswith("/verification/")


def test_the_database_refuses_an_ended_verification_without_its_reason():
    verification = passed_personal(MemberFactory.create())
    with pytest.raises(IntegrityError), transaction.atomic():
        PersonalVerification.objects.filter(pk=verification.pk).update(status="ended")


def test_a_verification_under_way_ends_too_and_a_late_answer_changes_nothing():
    from verification.providers.base import CheckResult, ReasonCode

    person = MemberFactory.create(face=True)
    verification = services.verification_submit(user=person, **details())
    signed_in(person).post(WITHDRAW.format("realname-service"))
    verification.refresh_from_db()
    assert verification.status == PersonalVerification.Status.ENDED
    assert verification.completed_at is not None and verification.name == ""
    services.verification_record_identity_result(
        verification_id=verification.pk,
        result=CheckResult(passed=True, reason_code=ReasonCode.OK, provider_ref="late"),
    )
    verification.refresh_from_db()
    assert verification.status == PersonalVerification.Status.ENDED
