"""The verification pages: the order of steps, errors next to fields, owners only."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import (
    FailedPersonalFactory,
    MemberFactory,
    PendingEnterpriseFactory,
    UserFactory,
    resident_id,
)
from verification import services
from verification.models import PersonalVerification
from verification.providers.base import ReasonCode

pytestmark = pytest.mark.django_db
START = "/verification/personal/"
EN = {"accept-language": "en"}


def test_the_service_description_is_accepted_before_the_form(client):
    user = UserFactory.create(signed_up=True)
    client.force_login(user)

    response = client.get(START)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:consent"))


def test_bad_details_are_shown_next_to_the_field_and_save_nothing(client, member):
    client.force_login(member)

    response = client.post(
        START,
        {
            "name": "张三",
            "document_type": "cn_resident_id",
            "document_number": resident_id()[:-1] + "0",
        },
        headers=EN,
    )

    assert response.status_code == 200
    assert response.context["form"].errors["document_number"]
    assert 'id="id_document_number_error"' in response.content.decode()
    assert not PersonalVerification.objects.exists()


def test_travel_permits_ask_for_the_date_of_birth(client, member):
    client.force_login(member)

    response = client.post(
        START,
        {"name": "张三", "document_type": "hk_mo_travel_permit", "document_number": "H12345678"},
        headers=EN,
    )

    assert "date of birth" in str(response.context["form"].errors["birth_date"])


def test_a_good_submission_goes_to_the_checking_page(client, member):
    client.force_login(member)

    response = client.post(
        START,
        {"name": "张三", "document_type": "cn_resident_id", "document_number": resident_id()},
    )
    verification = PersonalVerification.objects.get(user=member)
    page = client.get(response["Location"], headers=EN).content.decode()

    assert response["Location"] == f"/verification/personal/{verification.public_id}/"
    assert 'data-verification-status="submitted"' in page
    assert 'http-equiv="refresh"' in page
    assert resident_id() not in page and resident_id() not in response["Location"]


def test_someone_elses_verification_is_not_found(client, member):
    verification = services.verification_submit(
        user=member,
        name="张三",
        document_type="cn_resident_id",
        document_number=resident_id(),
        birth_date=None,
    )
    client.force_login(MemberFactory.create())

    assert client.get(f"/verification/personal/{verification.public_id}/").status_code == 404


def test_failed_page_explains_the_reason_and_the_next_step(client, member):
    verification = FailedPersonalFactory.create(user=member, reason_code=ReasonCode.NO_SUCH_RECORD)
    client.force_login(member)

    page = client.get(f"/verification/personal/{verification.public_id}/", headers=EN)

    content = page.content.decode()
    assert 'data-verification-status="failed"' in content
    assert "The authority has no record of this document." in content
    assert "Try again" in content


def test_used_up_attempts_show_when_the_lock_lifts(client, member, settings):
    settings.VERIFICATION_MAX_ATTEMPTS_PER_DAY = 1
    FailedPersonalFactory.create(user=member, reason_code=ReasonCode.NO_SUCH_RECORD)
    client.force_login(member)

    content = client.get(START, headers=EN).content.decode()

    assert 'data-verification-status="locked"' in content
    assert "You can try again after" in content


def test_a_notification_with_a_bad_signature_is_refused(client, sandbox_settings_override):
    response = client.post(
        "/verification/provider/notify/", b'{"ref": "x"}', content_type="application/json"
    )

    assert response.status_code == 400


def test_reloading_the_return_page_queues_one_result_fetch(
    client, member, django_capture_on_commit_callbacks
):
    """The provider sends the person back to /return/; reloading it (or a script hammering it)
    must not queue a provider query per request."""
    verification = services.verification_submit(
        user=member,
        name="张三",
        document_type="cn_resident_id",
        document_number=resident_id(),
        birth_date=None,
    )
    PersonalVerification.objects.filter(pk=verification.pk).update(
        status=PersonalVerification.Status.IN_PROGRESS,
        identity_checked_at=verification.created_at,
        liveness_ref="session-1",
    )
    client.force_login(member)
    url = f"/verification/personal/{verification.public_id}/return/"

    with django_capture_on_commit_callbacks() as queued:
        responses = [client.get(url) for _ in range(5)]

    assert [response.status_code for response in responses] == [302] * 5
    assert len(queued) == 1


OVERVIEW = "/verification/"


def overview_of(client, user=None) -> str:
    if user is not None:
        client.force_login(user)
    return client.get(OVERVIEW, headers=EN).content.decode()


def test_the_overview_offers_both_kinds_to_a_visitor_and_to_an_account_with_none(client, member):
    for page in (overview_of(client), overview_of(client, member)):
        assert 'id="verify-personal"' in page and 'id="verify-enterprise"' in page
        assert "data-verification-status" not in page


def test_after_a_failed_attempt_both_kinds_are_offered_again(client):
    failed = FailedPersonalFactory.create()

    page = overview_of(client, failed.user)

    assert 'data-personal-status="failed"' in page
    assert f'href="{failed.get_absolute_url()}"' in page
    assert 'id="verify-personal"' in page and 'id="verify-enterprise"' in page


def test_an_enterprise_account_sees_identity_verified_and_no_new_verification(client):
    """The enterprise card comes from the enterprise app through the registry of kinds: the
    verification app's page knows neither its template nor its URLs."""
    pending = PendingEnterpriseFactory.create()
    page = overview_of(client, pending.user)
    assert 'data-enterprise-status="pending_review"' in page
    assert "verify-personal" not in page and "verify-enterprise" not in page

    type(pending).objects.filter(pk=pending.pk).update(
        status="approved",
        reason_code="ok",
        reviewed_by=MemberFactory.create(),
        reviewed_at=pending.created_at,
        completed_at=pending.created_at,
    )
    page = overview_of(client)

    assert 'data-verification-status="approved"' in page and "Identity Verified" in page
    assert f'href="{pending.get_absolute_url()}"' in page
    assert "verify-personal" not in page and "verify-enterprise" not in page


def test_a_submission_without_the_service_description_goes_to_accept_it(client):
    user = UserFactory.create(signed_up=True)
    client.force_login(user)

    response = client.post(
        START,
        {"name": "张三", "document_type": "cn_resident_id", "document_number": resident_id()},
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:consent"))
    assert not PersonalVerification.objects.exists()


def test_a_submission_checks_each_rule_once_in_one_transaction(client, member):
    """The account's lock, then the other-kind and attempts rules, the insert and its event:
    each once (the rules were checked twice, and the attempts window took two queries)."""
    client.force_login(member)
    client.get(START)

    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            START,
            {"name": "张三", "document_type": "cn_resident_id", "document_number": resident_id()},
        )

    assert response.status_code == 302
    statements = [query["sql"] for query in queries]
    locks = [i for i, sql in enumerate(statements) if sql.endswith("FOR UPDATE")]
    inserts = [i for i, sql in enumerate(statements) if sql.startswith("INSERT INTO")]
    assert len(locks) == 1 and locks[0] < inserts[0]
    assert sum('"enterprise_enterpriseverification"' in sql for sql in statements) == 1
    assert sum("verification_attemptreset" in sql for sql in statements) == 1
    assert sum("accounts_consentrecord" in sql for sql in statements) == 1
    assert len(statements) <= 13, statements


def test_a_submission_seals_each_personal_value_once(member, monkeypatch):
    """Django asks an encrypted field for its database value twice per insert; each value is
    still encrypted once (the blind index too)."""
    from kernel import fields
    from verification import services as personal_services

    sealed: list[str] = []
    hashed: list[str] = []
    real_encrypt, real_hash = fields.encrypt_str, personal_services.blind_index

    def encrypt(text: str, **options):
        sealed.append(options["purpose"])
        return real_encrypt(text, **options)

    def hash_once(text: str, **options):
        hashed.append(text)
        return real_hash(text, **options)

    monkeypatch.setattr(fields, "encrypt_str", encrypt)
    monkeypatch.setattr(personal_services, "blind_index", hash_once)

    verification = services.verification_submit(
        user=member,
        name="张三",
        document_type="cn_resident_id",
        document_number=resident_id(),
        birth_date=None,
    )

    assert sorted(sealed) == sorted(
        f"verification.PersonalVerification.{name}"
        for name in ("result", "name", "document_number", "birth_date")
    )
    assert len(hashed) == 1
    stored = PersonalVerification.objects.get(pk=verification.pk)
    assert (stored.name, stored.document_number) == ("张三", resident_id())
