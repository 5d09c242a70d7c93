"""Verification sessions: created by the platform with a return URL on its allow-list, taken by
the person on our page, completed by going back; expiry and link conflicts change nothing."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from hostapi.models import AccountLink, VerificationSession
from tests.factories import FailedPersonalFactory, MemberFactory

from .conftest import RETURN_BASE, pass_verification

pytestmark = pytest.mark.django_db


def person(user) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def session_path(created) -> str:
    return urlsplit(created.json()["url"]).path


def test_create_a_session(platform, settings):
    settings.HOSTAPI_SESSION_LIFETIME = 3600
    before = timezone.now()
    response = platform.create_session(reference="user-7", kind="personal")
    assert response.status_code == 201
    body = response.json()
    session = VerificationSession.objects.get(public_id=body["id"])
    assert body["url"] == f"http://testserver/verify/session/{session.public_id}/"
    assert body["status"] == "created"
    assert body["outcome"] is None
    assert (session.reference, session.kind, session.client) == (
        "user-7",
        "personal",
        platform.client,
    )
    assert (
        before + timedelta(seconds=3600)
        <= session.expires_at
        <= timezone.now() + timedelta(seconds=3600)
    )
    assert platform.get(f"/sessions/{body['id']}").json()["status"] == "created"


@pytest.mark.parametrize(
    "return_url",
    [
        "https://evil.example/realname/done",  # another host
        "http://platform.example/realname/done",  # another scheme
        "https://platform.example:8443/realname/done",  # another port
        "https://platform.example/other/done",  # outside the path prefix
        "https://platform.example/realnamex",  # a prefix of the name, not of the path
        "https://platform.example/realname",  # the allowed path is /realname/
        "https://platform.example/realname/../admin",  # dot segments
        "https://platform.example/realname/%2e%2e/admin",  # dot segments, percent-encoded
        "https://platform.example/realname/%2E%2e%2Fadmin",  # an encoded separator
        "https://user:pw@platform.example/realname/done",  # credentials
        "https://platform.example/realname/done#frag",
        "/realname/done",  # relative
        "javascript:alert(1)",
    ],
)
def test_a_return_url_not_on_the_allow_list_is_400_and_creates_nothing(platform, return_url):
    response = platform.create_session(return_url=return_url)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "return_url_not_allowed"
    assert "allow-list" in body["detail"]
    assert not VerificationSession.objects.exists()


def test_return_urls_on_the_allow_list(platform):
    for url in (RETURN_BASE, f"{RETURN_BASE}a/b?x=1", "https://PLATFORM.example:443/realname/z"):
        assert platform.create_session(return_url=url).status_code == 201, url


def test_bad_bodies_are_400_with_the_field_named(platform):
    response = platform.post("/sessions", {"return_url": f"{RETURN_BASE}done"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert response.json()["errors"][0]["loc"][-1] == "reference"
    for reference in ("", "x" * 129, "someone@example.com", "a/b"):
        response = platform.create_session(reference=reference)
        assert response.status_code == 400, reference
    assert platform.create_session(kind="company").status_code == 400
    assert not VerificationSession.objects.exists()


def test_a_session_is_seen_only_by_the_client_that_created_it(platform, make_platform):
    created = platform.create_session().json()
    other = make_platform(name="Other platform")
    response = other.get(f"/sessions/{created['id']}")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}
    assert platform.get(f"/sessions/{uuid.uuid4()}").status_code == 404


def test_the_person_must_sign_in_first(platform):
    path = session_path(platform.create_session())
    response = Client().get(path)
    assert response.status_code == 302
    assert response["location"].startswith("/accounts/login/?next=")
    assert path in parse_qs(urlsplit(response["location"]).query)["next"]
    # A new person signs up from the log-in page and still comes back to the session.
    login = Client(headers={"accept-language": "en"}).get(response["location"])
    signup = re.search(
        r'No account yet\? <a href="(/accounts/signup/[^"]*)"', login.content.decode()
    )
    assert signup, "no sign-up link"
    assert parse_qs(urlsplit(signup.group(1).replace("&amp;", "&")).query)["next"] == [path]


def test_an_unverified_person_goes_on_to_verify_and_the_link_is_recorded(platform):
    created = platform.create_session(reference="user-9")
    member = MemberFactory.create()
    browser = person(member)
    page = browser.get(session_path(created))
    assert page.status_code == 200
    assert b"Game server asks you to verify your identity" in page.content
    assert b'id="continue-to-verification"' in page.content
    assert b'id="return-to-platform"' not in page.content
    assert platform.get(f"/sessions/{created.json()['id']}").json()["status"] == "opened"

    response = browser.post(session_path(created), {"action": "continue"})
    assert response.status_code == 302
    assert (
        response["location"]
        == f"/verification/personal/?next={session_path(created).replace('/', '%2F')}"
    )
    link = AccountLink.objects.get()
    assert (link.client, link.reference, link.user) == (platform.client, "user-9", member)
    # Not completed: the person has not verified yet, and may not "return" before.
    assert browser.post(session_path(created), {"action": "return"}).status_code == 200
    body = platform.get(f"/sessions/{created.json()['id']}").json()
    assert body["status"] == "opened"
    assert body["outcome"]["verified"] is False
    assert body["outcome"]["state"] == "none"


def test_a_verified_person_returns_at_once_with_the_session_id(platform):
    created = platform.create_session(reference="user-3", return_url=f"{RETURN_BASE}done?lang=en")
    member = MemberFactory.create()
    verification = pass_verification(member)
    browser = person(member)
    page = browser.get(session_path(created))
    assert b'id="return-to-platform"' in page.content
    assert b'id="continue-to-verification"' not in page.content
    # The page's forms may lead to the platform (the browser checks redirects of a form).
    assert "form-action 'self' https://platform.example;" in page["content-security-policy"]

    response = browser.post(session_path(created), {"action": "return"})
    assert response.status_code == 302
    session_id = created.json()["id"]
    assert response["location"] == f"{RETURN_BASE}done?lang=en&session_id={session_id}"

    body = platform.get(f"/sessions/{session_id}").json()
    assert body["status"] == "completed"
    assert body["completed_at"] is not None
    assert body["outcome"] == {
        "account_id": str(member.public_id),
        "reference": "user-3",
        "verified": True,
        "kind": "personal",
        "document_type": "cn_resident_id",
        "provider": "sandbox",
        # JSON dates carry milliseconds.
        "verified_at": verification.completed_at.isoformat(timespec="milliseconds").replace(
            "+00:00", "Z"
        ),
        "state": "passed",
        "reason_code": "ok",
    }
    # Returning again changes nothing and goes back again.
    again = browser.post(session_path(created), {"action": "return"})
    assert again["location"] == response["location"]
    assert AccountLink.objects.count() == 1


def test_a_person_whose_verification_failed_may_give_up_and_return(platform):
    created = platform.create_session()
    failed = FailedPersonalFactory.create()
    browser = person(failed.user)
    page = browser.get(session_path(created))
    assert b'id="return-to-platform"' in page.content
    assert b"Try again" in page.content
    browser.post(session_path(created), {"action": "return"})
    outcome = platform.get(f"/sessions/{created.json()['id']}").json()
    assert outcome["status"] == "completed"
    assert outcome["outcome"]["verified"] is False
    assert outcome["outcome"]["state"] == "failed"
    assert outcome["outcome"]["reason_code"] == "name_number_mismatch"


def test_an_expired_session_is_refused_and_changes_nothing(platform):
    created = platform.create_session()
    VerificationSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    member = MemberFactory.create()
    pass_verification(member)
    browser = person(member)
    page = browser.get(session_path(created))
    assert page.status_code == 410
    assert b"This verification link has expired" in page.content
    response = browser.post(session_path(created), {"action": "return"})
    assert response.status_code == 410
    assert not AccountLink.objects.exists()
    body = platform.get(f"/sessions/{created.json()['id']}").json()
    assert (body["status"], body["outcome"]) == ("expired", None)


def test_a_reference_linked_to_another_account_is_refused(platform):
    first, second = MemberFactory.create(), MemberFactory.create()
    pass_verification(first)
    pass_verification(second)
    person(first).post(
        session_path(platform.create_session(reference="user-1")), {"action": "return"}
    )

    created = platform.create_session(reference="user-1")
    response = person(second).post(session_path(created), {"action": "return"})
    assert response.status_code == 409
    assert b"already linked to another realname account" in response.content
    assert b"Nothing was changed." in response.content
    assert list(AccountLink.objects.values_list("reference", "user")) == [("user-1", first.pk)]
    assert platform.get(f"/sessions/{created.json()['id']}").json()["status"] == "created"


def test_an_account_linked_to_another_reference_is_refused(platform, make_platform):
    member = MemberFactory.create()
    pass_verification(member)
    browser = person(member)
    browser.post(session_path(platform.create_session(reference="user-1")), {"action": "return"})

    created = platform.create_session(reference="user-2")
    page = browser.get(session_path(created))
    assert page.status_code == 409
    assert b"already linked to another account at Game server" in page.content
    assert AccountLink.objects.count() == 1

    # Another platform may link the same account under its own reference.
    other = make_platform(name="Forum")
    browser.post(session_path(other.create_session(reference="user-2")), {"action": "return"})
    assert AccountLink.objects.count() == 2


def test_a_session_taken_by_one_account_is_refused_to_another(platform):
    created = platform.create_session()
    first, second = MemberFactory.create(), MemberFactory.create()
    person(first).post(session_path(created), {"action": "continue"})
    response = person(second).get(session_path(created))
    assert response.status_code == 409
    assert b"already used by another account" in response.content


def test_the_database_refuses_a_second_link_either_way(platform):
    first, second = MemberFactory.create(), MemberFactory.create()
    AccountLink.objects.create(client=platform.client, reference="user-1", user=first)
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountLink.objects.create(client=platform.client, reference="user-1", user=second)
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountLink.objects.create(client=platform.client, reference="user-2", user=first)


def test_the_api_answers_in_english_whatever_the_language_asked(platform):
    response = platform.http.post(
        "/api/v1/sessions",
        data={"reference": "user-1", "return_url": "https://evil.example/"},
        content_type="application/json",
        headers={**platform.headers, "accept-language": "zh-hans"},
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("The return URL is not on this API client's")
