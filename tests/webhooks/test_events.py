"""An event for every state change of a verification of a linked account, written in the
transaction of the change: once, in order, to linked clients only, with no personal data."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from enterprise.services import licence_review_approve
from hostapi.services import api_client_revoke
from realname.privacy import person_erase
from tests.factories import (
    DEMO,
    DEMO_BIRTH_DATE,
    ErroredPersonalFactory,
    MemberFactory,
    PendingEnterpriseFactory,
    StaffFactory,
)
from tests.helpers import submit_demo
from verification import services as personal_services
from verification.providers.base import CheckResult, LivenessSession, ReasonCode
from webhooks.models import Delivery, Event

from .conftest import Platform, Receiver, make_platform

pytestmark = pytest.mark.django_db

PASS = CheckResult(passed=True, reason_code=ReasonCode.OK, provider_ref="p-1")
PAYLOAD_KEYS = {
    "id",
    "type",
    "created",
    "sequence",
    "account",
    "verification",
    "kind",
    "state",
    "reason_code",
    "document_type",
    "provider",
}


def events_of(user) -> list[Event]:
    return list(Event.objects.filter(user=user).order_by("sequence"))


def bodies(platform: Platform) -> list[dict]:
    deliveries = Delivery.objects.filter(endpoint=platform.endpoint).order_by("event__sequence")
    return [json.loads(delivery.body) for delivery in deliveries]


def pass_personal(user):
    verification = submit_demo(user)
    personal_services.verification_record_identity_result(
        verification_id=verification.pk, result=PASS
    )
    personal_services.verification_request_face(
        verification=verification, return_url="https://x.test/r", notify_url="https://x.test/n"
    )
    personal_services.verification_record_liveness_session(
        verification_id=verification.pk,
        session=LivenessSession(provider_ref="face-1", url="https://vendor.test/face"),
    )
    return personal_services.verification_record_liveness_result(
        verification_id=verification.pk, result=PASS
    )


def test_a_passing_verification_is_submitted_progressed_passed_numbered_in_order(platform):
    member = MemberFactory.create(face=True)
    platform.link(member, reference="gamer-7")

    verification = pass_personal(member)

    assert [(e.type, e.state, e.sequence) for e in events_of(member)] == [
        ("submitted", "submitted", 1),
        ("progressed", "in_progress", 2),
        ("passed", "passed", 3),
    ]
    last = bodies(platform)[-1]
    assert last["account"] == {"id": str(member.public_id), "reference": "gamer-7"}
    assert last["verification"] == str(verification.public_id)
    assert (last["kind"], last["reason_code"], last["document_type"], last["provider"]) == (
        "personal",
        "ok",
        DEMO["document_type"],
        verification.provider,
    )


def test_an_answer_recorded_twice_makes_one_event(platform):
    """A duplicate task (the broker delivering the provider call twice) records the answer
    once, so there is one event: events are written with the state change, not by a task."""
    member = MemberFactory.create()
    platform.link(member)
    verification = submit_demo(member)

    for _ in range(2):
        personal_services.verification_record_identity_result(
            verification_id=verification.pk, result=PASS
        )

    assert [e.type for e in events_of(member)] == ["submitted", "progressed"]
    assert Delivery.objects.count() == 2


def test_the_payload_holds_no_personal_data(platform):
    member = MemberFactory.create(face=True)
    platform.link(member)
    pass_personal(member)

    for delivery in Delivery.objects.all():
        assert set(json.loads(delivery.body)) == PAYLOAD_KEYS
        for personal in (
            DEMO["name"],
            DEMO["document_number"],
            DEMO["document_number"][-4:] + '"',
            DEMO_BIRTH_DATE.isoformat(),
            str(member.phone),
            str(member.phone)[-8:],
        ):
            assert personal not in delivery.body


def test_a_client_not_linked_to_the_account_hears_nothing(receiver: Receiver, db):
    linked = make_platform(receiver, name="billing")
    other = make_platform(receiver, name="publishing")
    member = MemberFactory.create()
    linked.link(member)
    stranger = MemberFactory.create()
    other.link(stranger)

    submit_demo(member)

    assert Delivery.objects.filter(endpoint=linked.endpoint).count() == 1
    assert not Delivery.objects.filter(endpoint=other.endpoint).exists()


def test_a_revoked_client_hears_nothing_more(platform):
    member = MemberFactory.create()
    platform.link(member)
    api_client_revoke(client=platform.client)

    submit_demo(member)

    assert not Event.objects.exists()


def test_an_account_without_a_linked_endpoint_writes_no_event():
    submit_demo(MemberFactory.create())

    assert not Event.objects.exists()


def test_a_state_change_rolled_back_leaves_no_event(platform):
    member = MemberFactory.create()
    platform.link(member)

    with pytest.raises(RuntimeError), transaction.atomic():
        submit_demo(member)
        raise RuntimeError("the request failed after the submission")

    assert not Event.objects.exists()
    assert not Delivery.objects.exists()


def test_error_resumed_failed_and_erased(platform):
    member = MemberFactory.create()
    platform.link(member)
    verification = ErroredPersonalFactory.create(user=member)

    personal_services.verification_retry(verification=verification)
    personal_services.verification_record_identity_result(
        verification_id=verification.pk,
        result=CheckResult(
            passed=False, reason_code=ReasonCode.NAME_NUMBER_MISMATCH, provider_ref="p-2"
        ),
    )
    person_erase(user=member)

    assert [(e.type, e.state, e.reason_code) for e in events_of(member)] == [
        ("submitted", "submitted", ""),
        ("error", "error", "vendor_error"),
        ("resumed", "submitted", ""),
        ("failed", "failed", "name_number_mismatch"),
        ("erased", "", ""),
    ]
    erased = bodies(platform)[-1]
    assert erased["type"] == "erased"
    assert erased["account"]["reference"] == f"platform-user-{member.pk}"
    assert erased["kind"] is erased["state"] is erased["verification"] is None


def test_an_enterprise_licence_review_is_an_event(platform, english):
    member = MemberFactory.create()
    platform.link(member)
    verification = PendingEnterpriseFactory.create(user=member)

    licence_review_approve(verification=verification, reviewer=StaffFactory.create())

    assert [(e.type, e.state) for e in events_of(member)] == [
        ("submitted", "submitted"),
        ("progressed", "pending_review"),
        ("reviewed", "approved"),
    ]
    reviewed = bodies(platform)[-1]
    assert (reviewed["kind"], reviewed["document_type"]) == ("enterprise", None)


def test_withdrawing_the_service_consent_announces_the_end(platform):
    """Withdrawal ends the passed verification (issue #17): the platform hears ``ended`` so
    its own gate can close too."""
    member = MemberFactory.create(face=True)
    platform.link(member)
    pass_personal(member)

    personal_services.personal.end_on_withdrawal(user=member)

    last = events_of(member)[-1]
    assert (last.type, last.state, last.reason_code) == ("ended", "ended", "consent_withdrawn")
    assert bodies(platform)[-1]["type"] == "ended"
