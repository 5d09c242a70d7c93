"""The small JSON answer a waiting status page polls: every state says what the page needs
(step, words, whether to ask again, where to go next), nothing personal, one query after the
session; only the owner's signed-in session gets an answer."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.cache import add_never_cache_headers
from django.utils.http import parse_http_date

from accounts.sessions import SessionOwner
from tests.factories import (
    DEMO,
    EnterpriseVerificationFactory,
    ErroredPersonalFactory,
    FailedPersonalFactory,
    MemberFactory,
    PendingEnterpriseFactory,
)
from tests.helpers import submit_demo
from verification import services
from verification.models import PersonalVerification
from verification.providers.base import CheckResult, LivenessSession, ReasonCode

pytestmark = pytest.mark.django_db
EN = {"accept-language": "en"}
PASS = CheckResult(passed=True, reason_code=ReasonCode.OK, provider_ref="r-1")
FACE_URL = "https://vendor.example/face/session-1"


def poll_url(verification: PersonalVerification) -> str:
    return f"/verification/personal/{verification.public_id}/status.json"


def poll(client: Client, verification: PersonalVerification) -> dict:
    response = client.get(poll_url(verification), headers=EN)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    return json.loads(response.content)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def identity_passed(user) -> PersonalVerification:
    verification = submit_demo(user)
    return services.verification_record_identity_result(
        verification_id=verification.pk, result=PASS
    )


def face_requested(user) -> PersonalVerification:
    return services.verification_request_face(
        verification=identity_passed(user),
        return_url="https://realname.example/return/",
        notify_url="https://realname.example/notify/",
    )


def face_session_open(user) -> PersonalVerification:
    return services.verification_record_liveness_session(
        verification_id=face_requested(user).pk,
        session=LivenessSession(provider_ref="face-1", url=FACE_URL),
    )


def test_a_submitted_verification_says_checking_and_ask_again():
    user = MemberFactory.create()
    verification = submit_demo(user)
    client = signed_in(user)

    answer = poll(client, verification)

    assert answer == {
        "status": "submitted",
        "step": "identity_check",
        "message": "Checking your details",
        "slow": False,
        "poll": True,
        "poll_seconds": 2,
        "page": f"/verification/personal/{verification.public_id}/",
        "next": "",
    }
    text = json.dumps(answer, ensure_ascii=False)
    assert DEMO["name"] not in text and DEMO["document_number"] not in text
    assert str(user.phone) not in text


def test_a_failing_provider_is_reported_slow_and_polled_less_often():
    user = MemberFactory.create()
    verification = submit_demo(user)
    services.personal.record_provider_failure(
        verification_id=verification.pk, reason_code=ReasonCode.VENDOR_ERROR
    )

    answer = poll(signed_in(user), verification)

    assert (answer["step"], answer["slow"], answer["poll"], answer["poll_seconds"]) == (
        "identity_check",
        True,
        True,
        10,
    )


def test_identity_confirmed_stops_polling_at_the_face_consent_step():
    user = MemberFactory.create(face=True)
    verification = identity_passed(user)

    answer = poll(signed_in(user), verification)

    assert (answer["status"], answer["step"], answer["poll"]) == (
        "in_progress",
        "face_consent",
        False,
    )
    assert answer["message"] == "Details confirmed: face check next"


def test_a_face_session_being_opened_keeps_polling():
    user = MemberFactory.create(face=True)
    verification = face_requested(user)

    answer = poll(signed_in(user), verification)

    assert (answer["step"], answer["poll"], answer["next"]) == ("face_preparing", True, "")


def test_an_open_face_session_gives_its_link_as_the_next_step():
    user = MemberFactory.create(face=True)
    verification = face_session_open(user)

    answer = poll(signed_in(user), verification)

    assert (answer["step"], answer["poll"], answer["next"]) == ("face_pending", True, FACE_URL)
    assert answer["message"] == "Face check"


def test_a_passed_verification_points_on_to_where_the_person_was_going():
    user = MemberFactory.create(face=True)
    verification = services.verification_record_liveness_result(
        verification_id=face_session_open(user).pk, result=PASS
    )
    client = signed_in(user)
    session = client.session
    session["verification_next"] = "/shop/checkout/"
    session.save()

    answer = poll(client, verification)

    assert (answer["status"], answer["step"], answer["poll"]) == ("passed", "passed", False)
    assert answer["message"] == "Real-Name Authentication Completed"
    assert answer["next"] == "/shop/checkout/"


def test_failed_and_stopped_verifications_stop_polling():
    failed = FailedPersonalFactory.create()
    errored = ErroredPersonalFactory.create()

    failed_answer = poll(signed_in(failed.user), failed)
    errored_answer = poll(signed_in(errored.user), errored)

    assert (failed_answer["step"], failed_answer["poll"]) == ("failed", False)
    assert failed_answer["message"] == "Verification not passed"
    assert (errored_answer["step"], errored_answer["poll"], errored_answer["slow"]) == (
        "error",
        False,
        False,
    )


def test_the_answer_costs_one_query_after_the_session():
    user = MemberFactory.create()
    verification = submit_demo(user)
    client = signed_in(user)
    client.get(poll_url(verification))  # the session is in the cache from here on

    with CaptureQueriesContext(connection) as queries:
        poll(client, verification)

    assert len(queries) == 1, [query["sql"] for query in queries]
    assert "public_id" in queries[0]["sql"]


def test_someone_elses_verification_is_not_found():
    verification = submit_demo(MemberFactory.create())

    response = signed_in(MemberFactory.create()).get(poll_url(verification))

    assert response.status_code == 404
    assert str(verification.status) not in response.content.decode()


def test_anonymous_visitors_are_refused():
    verification = submit_demo(MemberFactory.create())

    response = Client().get(poll_url(verification))

    assert response.status_code == 403
    assert json.loads(response.content) == {"error": "login_required"}


def test_a_session_ended_by_a_password_change_is_refused():
    user = MemberFactory.create()
    verification = submit_demo(user)
    client = signed_in(user)
    user.set_password("a new password of some length")
    user.save()

    assert client.get(poll_url(verification)).status_code == 403


def test_a_deactivated_account_is_refused():
    user = MemberFactory.create()
    verification = submit_demo(user)
    client = signed_in(user)
    user.is_active = False
    user.save()

    assert client.get(poll_url(verification)).status_code == 403


def test_the_answer_is_never_cached_as_django_would_say_it():
    """The polled answers write never_cache's headers out as constants: the same directives."""
    reference = HttpResponse()
    add_never_cache_headers(reference)
    user = MemberFactory.create()
    response = signed_in(user).get(poll_url(submit_demo(user)), headers=EN)

    def directives(value: str) -> set[str]:
        return {part.strip() for part in value.split(",")}

    assert directives(response["Cache-Control"]) == directives(reference["Cache-Control"])
    assert parse_http_date(response["Expires"]) <= parse_http_date(reference["Expires"])


def test_the_session_check_hashes_as_django_does_for_a_user(settings):
    """The polled answer checks the session against two columns (``SessionOwner``), with
    Django's own hash functions: the same hashes as the ``User`` model's, fallbacks included."""
    settings.SECRET_KEY_FALLBACKS = ["an-earlier-secret-key-of-this-deployment-0123456789"]
    user = MemberFactory.create()
    owner = SessionOwner(password=user.password, is_active=user.is_active)

    assert owner.get_session_auth_hash() == user.get_session_auth_hash()
    assert list(owner.get_session_auth_fallback_hash()) == list(
        user.get_session_auth_fallback_hash()
    )


def test_a_session_signed_under_a_fallback_key_is_still_answered(settings):
    user = MemberFactory.create()
    verification = submit_demo(user)
    client = signed_in(user)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-rotated-secret-key-for-this-test-0123456789-abcdefghij"
    settings.SECRET_KEY_FALLBACKS = [old_key]

    assert client.get(poll_url(verification)).status_code == 200
    settings.SECRET_KEY_FALLBACKS = []
    assert client.get(poll_url(verification)).status_code == 403


def test_the_waiting_page_polls_and_still_reloads_itself_without_javascript():
    user = MemberFactory.create()
    verification = submit_demo(user)

    page = signed_in(user).get(verification.get_absolute_url(), headers=EN).content.decode()

    assert f'data-status-url="{poll_url(verification)}"' in page
    assert 'data-poll-seconds="2"' in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert "js/live-status.js" in page


def test_a_final_page_neither_polls_nor_reloads():
    verification = FailedPersonalFactory.create()

    page = signed_in(verification.user).get(verification.get_absolute_url()).content.decode()

    assert "data-status-url" not in page
    assert 'http-equiv="refresh"' not in page
    assert "live-status.js" not in page


# --- enterprise -------------------------------------------------------------------------------


def test_the_enterprise_answer_follows_the_registry_check():
    verification = PendingEnterpriseFactory.create()
    client = signed_in(verification.user)

    response = client.get(
        f"/verification/enterprise/{verification.public_id}/status.json", headers=EN
    )

    assert response.status_code == 200
    assert json.loads(response.content) == {
        "status": "pending_review",
        "step": "pending_review",
        "message": "Licence under review",
        "slow": False,
        "poll": False,
        "poll_seconds": 2,
        "page": f"/verification/enterprise/{verification.public_id}/",
        "next": "",
    }


def test_the_enterprise_answer_is_the_owners_only():
    verification = PendingEnterpriseFactory.create()
    url = f"/verification/enterprise/{verification.public_id}/status.json"

    assert signed_in(MemberFactory.create()).get(url).status_code == 404
    assert Client().get(url).status_code == 403


def test_a_submitted_enterprise_verification_is_polled():
    verification = EnterpriseVerificationFactory.create()
    client = signed_in(verification.user)

    response = client.get(f"/verification/enterprise/{verification.public_id}/status.json")
    page = client.get(f"/verification/enterprise/{verification.public_id}/").content.decode()

    answer = json.loads(response.content)
    assert (answer["status"], answer["poll"], answer["slow"]) == ("submitted", True, False)
    assert (
        f'data-status-url="/verification/enterprise/{verification.public_id}/status.json"' in page
    )
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
