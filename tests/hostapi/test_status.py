"""The status API: only accounts linked to the calling client, and never a name, number, birth
date, phone or licence."""

from __future__ import annotations

import json
import uuid

import pytest

from hostapi.models import AccountLink
from realname.privacy import person_erase
from tests.factories import (
    DEMO,
    DEMO_BIRTH_DATE,
    DEMO_COMPANY,
    FailedPersonalFactory,
    MemberFactory,
    PendingEnterpriseFactory,
)

from .conftest import pass_verification

pytestmark = pytest.mark.django_db

FIELDS = {
    "account_id",
    "reference",
    "verified",
    "kind",
    "document_type",
    "provider",
    "verified_at",
    "state",
    "reason_code",
}


def assert_nothing_personal(response, user) -> None:
    body = response.json()
    assert set(body) == FIELDS
    text = response.content.decode()
    for value in (
        DEMO["name"],
        DEMO["document_number"],
        DEMO["document_number"][-4:] + '"',
        DEMO_BIRTH_DATE.isoformat(),
        DEMO_COMPANY["company_name"],
        DEMO_COMPANY["credit_code"],
        DEMO_COMPANY["legal_representative"],
        str(user.phone or "")[3:] or "no-phone",
        "licence.png",
    ):
        assert value not in text, value
    # Not under another name either: the JSON has no nested objects at all.
    assert not any(isinstance(value, (dict, list)) for value in json.loads(text).values())


def test_a_verified_account_by_reference_and_by_id(platform):
    member = MemberFactory.create()
    pass_verification(member)
    AccountLink.objects.create(client=platform.client, reference="user-5", user=member)

    by_reference = platform.get("/accounts/by-reference/user-5")
    by_id = platform.get(f"/accounts/{member.public_id}")
    assert by_reference.status_code == by_id.status_code == 200
    assert by_reference.json() == by_id.json()
    body = by_reference.json()
    assert body["verified"] is True
    assert (body["kind"], body["document_type"], body["provider"], body["state"]) == (
        "personal",
        "cn_resident_id",
        "sandbox",
        "passed",
    )
    assert body["verified_at"]
    assert_nothing_personal(by_reference, member)


def test_a_failed_verification(platform):
    failed = FailedPersonalFactory.create()
    AccountLink.objects.create(client=platform.client, reference="user-6", user=failed.user)
    response = platform.get("/accounts/by-reference/user-6")
    body = response.json()
    assert (body["verified"], body["state"], body["reason_code"], body["verified_at"]) == (
        False,
        "failed",
        "name_number_mismatch",
        None,
    )
    assert_nothing_personal(response, failed.user)


def test_an_enterprise_waiting_for_review(platform):
    pending = PendingEnterpriseFactory.create()
    AccountLink.objects.create(client=platform.client, reference="org-1", user=pending.user)
    response = platform.get("/accounts/by-reference/org-1")
    body = response.json()
    assert (body["verified"], body["kind"], body["document_type"], body["state"]) == (
        False,
        "enterprise",
        "business_licence",
        "pending_review",
    )
    assert_nothing_personal(response, pending.user)


def test_an_erased_account_answers_erased(platform):
    member = MemberFactory.create()
    pass_verification(member)
    AccountLink.objects.create(client=platform.client, reference="user-8", user=member)
    person_erase(user=member)
    response = platform.get("/accounts/by-reference/user-8")
    assert response.json() == {
        "account_id": str(member.public_id),
        "reference": "user-8",
        "verified": False,
        "kind": None,
        "document_type": None,
        "provider": None,
        "verified_at": None,
        "state": "erased",
        "reason_code": None,
    }


def test_an_account_without_a_verification(platform):
    member = MemberFactory.create()
    AccountLink.objects.create(client=platform.client, reference="user-2", user=member)
    body = platform.get(f"/accounts/{member.public_id}").json()
    assert (body["verified"], body["state"], body["kind"]) == (False, "none", None)


def test_a_client_cannot_probe_accounts_not_linked_to_it(platform, make_platform):
    member = MemberFactory.create()
    pass_verification(member)
    other = make_platform(name="Other platform")
    AccountLink.objects.create(client=other.client, reference="user-1", user=member)

    # Linked to another client, or to no one, or unknown: the same 404.
    for path in (
        "/accounts/by-reference/user-1",
        f"/accounts/{member.public_id}",
        f"/accounts/{MemberFactory.create().public_id}",
        f"/accounts/{uuid.uuid4()}",
        "/accounts/by-reference/nobody",
    ):
        response = platform.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"code": "not_found", "detail": "Not found."}
    assert other.get("/accounts/by-reference/user-1").json()["verified"] is True
