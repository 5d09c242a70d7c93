"""Your data (issue #17): the page, re-confirmation by a fresh SMS code, the export, withdrawing
consent and closing the account."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.db import DatabaseError, transaction
from django.test import Client
from django.utils import timezone

from accounts.app_settings import app_settings as accounts_settings
from accounts.models import ConsentRecord, PrivacyEvent, User
from accounts.phone import is_erased_phone
from accounts.selectors import consent_missing
from enterprise.storage import licence_read
from hostapi.models import AccountLink, ApiClient
from hostapi.services import api_client_create
from support import services as support_services
from tests.factories import (
    DEMO,
    DEMO_BIRTH_DATE,
    DEMO_COMPANY,
    MemberFactory,
    PendingEnterpriseFactory,
    PersonalVerificationFactory,
    StaffFactory,
    licence_png,
    passed_personal,
)
from tests.helpers import AUDIT, detail_url, last_code
from verification.models import PersonalVerification

pytestmark = pytest.mark.django_db

YOUR_DATA = "/accounts/data/"
OTHER_NAME = "李四"
OTHER_NUMBER = "11010519850101002X"


def signed_in(user: User) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def reconfirm(client: Client, user: User, outbox: list) -> None:
    response = client.post("/accounts/data/confirm/", {"action": "send", "next": YOUR_DATA})
    assert response.status_code == 200
    code = last_code(outbox, str(user.phone))
    response = client.post(
        "/accounts/data/confirm/", {"action": "check", "code": code, "next": YOUR_DATA}
    )
    assert response.status_code == 302
    assert response["location"] == YOUR_DATA


@pytest.fixture
def person() -> User:
    return MemberFactory.create(face=True)


@pytest.fixture
def other() -> User:
    """Someone else in the same database: nothing of theirs may show up."""
    user = MemberFactory.create()
    passed_personal(user, name=OTHER_NAME, document_number=OTHER_NUMBER)
    return user


def test_your_data_masks_values_until_a_fresh_sms_code(person, other, outbox):
    passed_personal(person)
    client = signed_in(person)
    page = client.get(YOUR_DATA).content.decode()
    for section in (
        "account",
        "consents",
        "personal_verifications",
        "enterprise_verifications",
        "staff_views",
    ):
        assert f'data-section="{section}"' in page
    assert DEMO["name"] not in page
    assert DEMO["document_number"] not in page
    assert str(person.phone) not in page
    assert person.masked_phone in page
    assert "sandbox" in page  # where it was sent
    assert "Until you close the account" in page

    reconfirm(client, person, outbox)
    page = client.get(YOUR_DATA).content.decode()
    assert 'data-revealed="true"' in page
    assert DEMO["name"] in page
    assert DEMO["document_number"] in page
    assert str(person.phone) in page
    assert OTHER_NAME not in page and OTHER_NUMBER not in page
    assert PrivacyEvent.objects.filter(user=person).count() == 0  # seeing is not an export


def test_a_wrong_code_is_refused_next_to_the_field_and_opens_nothing(person, outbox):
    client = signed_in(person)
    client.post("/accounts/data/confirm/", {"action": "send"})
    code = last_code(outbox, str(person.phone))
    wrong = "000000" if code != "000000" else "111111"
    response = client.post("/accounts/data/confirm/", {"action": "check", "code": wrong})
    assert response.status_code == 200
    assert "This code is not right" in response.content.decode()
    assert 'data-revealed="false"' in client.get(YOUR_DATA).content.decode()
    # Three wrong tries void the code, even the right one afterwards.
    for _unused in range(2):
        client.post("/accounts/data/confirm/", {"action": "check", "code": wrong})
    response = client.post("/accounts/data/confirm/", {"action": "check", "code": code})
    assert "expired" in response.content.decode()


def test_the_window_closes_after_the_setting(person, outbox):
    client = signed_in(person)
    reconfirm(client, person, outbox)
    session = client.session
    session["accounts_reconfirmed_at"] -= accounts_settings.RECONFIRM_WINDOW + 1
    session.save()
    assert 'data-revealed="false"' in client.get(YOUR_DATA).content.decode()
    response = client.get("/accounts/data/export/")
    assert response.status_code == 302
    assert response["location"].startswith("/accounts/data/confirm/")


def test_the_export_holds_the_persons_values_and_nothing_of_anyone_else(person, other, outbox):
    verification = passed_personal(person)
    lead = StaffFactory.create(groups=["Support lead"])
    support_services.personal_data_reveal(
        actor=lead, verification=verification, reason="Ticket 7: name check", ip_address=None
    )
    client = signed_in(person)
    assert client.get("/accounts/data/export/?format=json").status_code == 302  # code first
    reconfirm(client, person, outbox)

    response = client.get("/accounts/data/export/?format=json")
    assert response.status_code == 200
    assert response["content-disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["schema"] == "realname.personal-data-export"
    assert data["version"] == 1
    assert data["account"]["phone"] == person.phone
    (mine,) = data["personal_verifications"]
    assert mine["name"] == DEMO["name"]
    assert mine["document_number"] == DEMO["document_number"]
    assert mine["birth_date"] == DEMO_BIRTH_DATE.isoformat()
    assert {c["document"] for c in data["consents"]} >= {"user-agreement", "face-rules"}
    (view,) = data["staff_views"]
    assert view["reason"] == "Ticket 7: name check"
    assert view["role"] == "Support lead"
    assert str(lead.phone) not in response.content.decode()  # staff are a role, not a person
    text = response.content.decode()
    assert OTHER_NAME not in text and OTHER_NUMBER not in text and str(other.phone) not in text

    page = client.get("/accounts/data/export/").content.decode()
    assert DEMO["document_number"] in page and OTHER_NUMBER not in page

    events = list(
        PrivacyEvent.objects.filter(user=person, kind=PrivacyEvent.Kind.EXPORTED).order_by("id")
    )
    assert [event.detail["format"] for event in events] == ["json", "html"]
    assert events[0].detail["personal_verifications"] == 1
    assert DEMO["name"] not in json.dumps(events[0].detail)


def test_the_export_includes_the_licence_as_stored(outbox):
    verification = PendingEnterpriseFactory.create()
    person = verification.user
    client = signed_in(person)
    reconfirm(client, person, outbox)
    data = json.loads(client.get("/accounts/data/export/?format=json").content)
    (company,) = data["enterprise_verifications"]
    assert company["legal_representative"] == DEMO_COMPANY["legal_representative"]
    content = base64.b64decode(company["licence"]["content_base64"])
    assert content == licence_read(verification.licence_name)
    assert content[:8] == licence_png()[:8]


def test_withdrawing_states_the_consequence_and_is_recorded(person, english):
    client = signed_in(person)
    page = client.get(YOUR_DATA).content.decode()
    assert 'data-withdraw="face-rules"' in page
    assert "No new face check" in page
    assert 'data-withdraw="realname-service"' in page
    assert "closed to you again" in page

    client.post("/accounts/data/consent/face-rules/withdraw/")
    assert consent_missing(user=person, slugs=("face-rules",))
    client.post("/accounts/data/consent/realname-service/withdraw/")
    assert consent_missing(user=person, slugs=("realname-service",))
    withdrawn = ConsentRecord.objects.filter(user=person, action=ConsentRecord.Action.WITHDRAWN)
    assert {r.document.slug for r in withdrawn} == {"face-rules", "realname-service"}
    # The gate closes again: a guarded page sends the person to the consent page.
    passed_personal(person)
    response = client.get("/recharge/")
    assert response.status_code == 302 and response["location"].startswith("/accounts/consent/")
    # The account documents cannot be withdrawn on their own.
    client.post("/accounts/data/consent/privacy-policy/withdraw/")
    assert not consent_missing(user=person, slugs=("privacy-policy",))


def test_closing_needs_a_fresh_code_and_erases_the_person(person, other, outbox):
    verification = passed_personal(person)
    company = PendingEnterpriseFactory.create(user=MemberFactory.create())
    client = signed_in(person)
    assert client.get("/accounts/data/close/").status_code == 302
    reconfirm(client, person, outbox)
    page = client.get("/accounts/data/close/").content.decode()
    assert "What goes" in page and "What stays" in page
    response = client.post("/accounts/data/close/", {})
    assert response.status_code == 200  # the box must be ticked
    assert User.objects.get(pk=person.pk).erased_at is None

    response = client.post("/accounts/data/close/", {"confirm": "on"})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.erased_at is not None
    assert person.phone is None and not person.is_active and not person.has_usable_password()
    verification.refresh_from_db()
    assert verification.name == "" and verification.document_number == ""
    assert verification.birth_date is None and verification.document_number_hash == ""
    assert is_erased_phone(verification.phone)
    # The minimal record the law asks for stays.
    assert verification.status == PersonalVerification.Status.PASSED
    assert verification.document_type == DEMO["document_type"]
    assert verification.provider == "sandbox" and verification.completed_at
    assert ConsentRecord.objects.filter(user=person).exists()
    event = PrivacyEvent.objects.get(user=person, kind=PrivacyEvent.Kind.ERASED)
    assert event.detail["personal_verifications"] == 1
    # Nobody else was touched.
    other_verification = PersonalVerification.objects.get(user=other)
    assert other_verification.name == OTHER_NAME
    company.refresh_from_db()
    assert licence_read(company.licence_name)
    # Logged out, and the session cannot come back.
    assert client.get(YOUR_DATA).status_code == 302


def test_the_number_of_a_closed_account_signs_up_again_and_verifies(person, outbox):
    passed_personal(person)
    phone = str(person.phone)
    client = signed_in(person)
    reconfirm(client, person, outbox)
    client.post("/accounts/data/close/", {"confirm": "on"})
    newcomer = MemberFactory.create(phone=phone)
    assert newcomer.pk != person.pk
    # One active verification per number still holds, and the old one does not block it.
    passed_personal(newcomer)
    with pytest.raises(DatabaseError), transaction.atomic():
        passed_personal(newcomer)


def test_closing_waits_for_a_running_check(person, outbox):
    PersonalVerificationFactory.create(user=person)  # submitted: the provider is still to answer
    client = signed_in(person)
    reconfirm(client, person, outbox)
    response = client.post("/accounts/data/close/", {"confirm": "on"})
    assert response.status_code == 200
    assert "still running" in response.content.decode()
    person.refresh_from_db()
    assert person.erased_at is None and person.phone


def test_closing_deletes_the_licence_file_once_committed(
    outbox, django_capture_on_commit_callbacks
):
    company = PendingEnterpriseFactory.create()
    person = company.user
    names = [company.licence_name, company.licence_preview_name]
    client = signed_in(person)
    reconfirm(client, person, outbox)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post("/accounts/data/close/", {"confirm": "on"})
    assert len(callbacks) == 2  # the licence and its preview
    company.refresh_from_db()
    assert company.licence_name == "" and company.legal_representative == ""
    assert company.company_name == DEMO_COMPANY["company_name"]
    for name in names:
        with pytest.raises(FileNotFoundError):
            licence_read(name)


def test_privacy_events_are_append_only(person):
    event = PrivacyEvent.objects.create(user=person, kind=PrivacyEvent.Kind.EXPORTED)
    with pytest.raises(DatabaseError), transaction.atomic():
        PrivacyEvent.objects.filter(pk=event.pk).update(at=timezone.now() - timedelta(days=1))
    with pytest.raises(DatabaseError), transaction.atomic():
        event.delete()


def test_the_desk_shows_an_erased_person_as_erased(person, outbox, desk_client):
    verification = passed_personal(person)
    lead = StaffFactory.create(groups=["Support lead"])
    client = signed_in(person)
    reconfirm(client, person, outbox)
    client.post("/accounts/data/close/", {"confirm": "on"})
    verification.refresh_from_db()
    page = desk_client(lead).get(detail_url(verification))
    text = page.content.decode()
    assert page.status_code == 200
    assert "(erased)" in text


def test_the_audit_log_shows_an_erased_person_as_erased(person, other, outbox, desk_client):
    mine, theirs = passed_personal(person), PersonalVerification.objects.get(user=other)
    lead = StaffFactory.create(groups=["Support lead"])
    for verification in (mine, theirs):
        support_services.personal_data_reveal(
            actor=lead, verification=verification, reason="Ticket 9: check", ip_address=None
        )
    client = signed_in(person)
    reconfirm(client, person, outbox)
    client.post("/accounts/data/close/", {"confirm": "on"})
    page = desk_client(lead).get(AUDIT).content.decode()
    assert page.count("(erased)") == 1
    detail = desk_client(lead).get(detail_url(mine)).content.decode()
    assert "Erased at the person" in detail
    assert 'id="reveal' not in detail  # nothing left to reveal


def test_a_second_code_within_the_minute_is_refused_with_a_message(person, outbox):
    client = signed_in(person)
    client.post("/accounts/data/confirm/", {"action": "send"})
    first = last_code(outbox, str(person.phone))
    response = client.post("/accounts/data/confirm/", {"action": "send"}, follow=True)
    assert "Too many requests" in response.content.decode()
    assert len([m for m in outbox if m.to == person.phone]) == 1
    # The first code still works.
    client.post("/accounts/data/confirm/", {"action": "check", "code": first})
    assert 'data-revealed="true"' in client.get(YOUR_DATA).content.decode()


def test_the_pages_need_a_signed_in_person(client):
    for url in (YOUR_DATA, "/accounts/data/export/", "/accounts/data/close/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["location"]


def test_the_periods_shown_are_the_settings_the_retention_jobs_enforce(person, settings, outbox):
    client = signed_in(person)
    page = client.get(YOUR_DATA).content.decode()
    assert "erased 30 days after it ended" in page
    assert "erased after 30 days without progress" in page
    assert "licence file is deleted 180 days after the decision" in page
    assert "for 1095 days after closing" in page

    settings.VERIFICATION_RETENTION_FAILED_DAYS = 14
    settings.VERIFICATION_RETENTION_ABANDONED_DAYS = 7
    settings.ENTERPRISE_LICENCE_RETENTION_DAYS = 90
    settings.ACCOUNTS_RETENTION_ERASED_DAYS = 1
    page = client.get(YOUR_DATA).content.decode()
    assert "erased 14 days after it ended" in page
    assert "erased after 7 days without progress" in page
    assert "licence file is deleted 90 days after the decision" in page
    assert "for 1 day after closing" in page
    assert "with no readable personal data, for 1 day; then it is deleted" in page
    reconfirm(client, person, outbox)
    assert "for 1 day; then it is deleted" in client.get("/accounts/data/close/").content.decode()


def section_of(page: str, key: str) -> str:
    start = page.index(f'data-section="{key}"')
    return page[start : page.index("</section>", start)]


def platform(name: str) -> ApiClient:
    client, _key = api_client_create(
        name=name, scopes=["sessions:write"], return_urls=["https://platform.example/back/"]
    )
    return client


def test_your_data_and_the_export_list_the_platforms_the_status_is_shared_with(
    person, other, outbox
):
    link = AccountLink.objects.create(
        client=platform("Game server"), reference="player-1", user=person
    )
    AccountLink.objects.create(client=platform("Book shop"), reference="buyer-9", user=other)
    client = signed_in(person)

    platforms = section_of(client.get(YOUR_DATA).content.decode(), "platforms")
    assert "Host platforms" in platforms
    assert platforms.count("Game server") == 2  # where it was sent, and the link itself
    assert timezone.localtime(link.created_at).strftime("%Y-%m-%d %H:%M") in platforms
    assert "Book shop" not in platforms and "None:" not in platforms

    reconfirm(client, person, outbox)
    data = json.loads(client.get("/accounts/data/export/?format=json").content)
    assert data["platform_links"] == [
        {
            "platform": "Game server",
            "reference": "player-1",
            "linked_at": link.created_at.isoformat(),
        }
    ]
    page = client.get("/accounts/data/export/").content.decode()
    exported = page[page.index('data-export="platform_links"') :]
    assert "Game server" in exported and "player-1" in exported
    assert "Book shop" not in page and "buyer-9" not in page
    event = PrivacyEvent.objects.filter(user=person, kind=PrivacyEvent.Kind.EXPORTED).first()
    assert event is not None and event.detail["platform_links"] == 1


def test_an_unlinked_account_shows_no_platform_in_both_languages(person, other):
    AccountLink.objects.create(client=platform("Book shop"), reference="buyer-9", user=other)
    platforms = section_of(signed_in(person).get(YOUR_DATA).content.decode(), "platforms")
    assert "None: your verification status is not shared with any platform." in platforms
    assert "Nowhere: it stays with us." in platforms
    assert "Book shop" not in platforms

    chinese = Client(headers={"accept-language": "zh-hans"})
    chinese.force_login(person)
    platforms = section_of(chinese.get(YOUR_DATA).content.decode(), "platforms")
    assert "宿主平台" in platforms
    assert "无：您的认证状态未与任何平台共享。" in platforms
