"""Sign-up and log-in by mobile number and SMS code, through the real pages."""

from __future__ import annotations

import threading
import time

import pytest
from allauth.account.internal.flows import code_verification
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import ConsentRecord, LegalDocument, User
from accounts.sms import SmsSendError
from tests.factories import UserFactory
from tests.helpers import last_code

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"
SIGNUP_CONSENTS = {"consent_user-agreement": "on", "consent_privacy-policy": "on"}
UA = "Mozilla/5.0 (realname tests)"


def sign_up(client: Client, phone: str = "138 0013 8000", **extra: str):
    return client.post(
        reverse("account_signup"),
        {"phone": phone, **SIGNUP_CONSENTS, **extra},
        headers={"user-agent": UA, "accept-language": "en"},
    )


def test_signup_page_has_phone_and_unticked_separate_consents(client):
    content = client.get(reverse("account_signup")).content.decode()

    assert 'name="phone"' in content
    assert 'type="tel"' in content
    for slug in ("user-agreement", "privacy-policy"):
        assert f'name="consent_{slug}"' in content
        assert f'href="/legal/{slug}/"' in content
    assert "checked" not in content


def test_sign_up_with_a_code_verifies_the_number_and_records_consent(client, outbox):
    response = sign_up(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("account_verify_phone")
    user = User.objects.get(phone=PHONE)
    assert user.phone_verified is False
    code = last_code(outbox, PHONE)
    assert outbox[-1].body.startswith("【realname】")

    response = client.post(reverse("account_verify_phone"), {"code": code})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.phone_verified is True
    assert client.get(reverse("accounts:profile")).status_code == 200  # logged in
    records = ConsentRecord.objects.filter(user=user).order_by("document__slug")
    assert [(r.document.slug, r.document_version, r.action) for r in records] == [
        ("privacy-policy", 1, "accepted"),
        ("user-agreement", 1, "accepted"),
    ]
    for record in records:
        assert record.content_hash == LegalDocument.objects.get(pk=record.document_id).content_hash
        assert record.ip_address == "127.0.0.1"
        assert record.user_agent == UA


@pytest.mark.parametrize("missing", ["consent_user-agreement", "consent_privacy-policy"])
def test_sign_up_without_consent_is_refused_next_to_the_checkbox(client, outbox, missing):
    data = {"phone": "13800138000", **SIGNUP_CONSENTS}
    del data[missing]

    response = client.post(reverse("account_signup"), data)

    assert response.status_code == 200
    assert missing in response.context["form"].errors
    assert "Please read and accept this document to continue." in response.content.decode() or (
        "请阅读并接受" in response.content.decode()
    )
    assert not User.objects.exists()
    assert outbox == []


@pytest.mark.parametrize("phone", ["12345", "138001380", "+86 100 0000 0000", "call me"])
def test_invalid_number_is_refused_and_nothing_is_sent(client, outbox, phone):
    response = sign_up(client, phone=phone)

    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert not User.objects.exists()
    assert outbox == []


def test_second_sign_up_with_a_taken_number_creates_nothing_and_tells_the_owner(client, outbox):
    UserFactory.create(phone=PHONE)

    response = sign_up(Client(), phone="+86 138-0013-8000")

    # Enumeration prevention: the page looks exactly like a successful sign-up.
    assert response.status_code == 302
    assert response["Location"] == reverse("account_verify_phone")
    assert User.objects.filter(phone=PHONE).count() == 1
    assert outbox[-1].to == PHONE
    assert "already has an account" in outbox[-1].body
    assert outbox[-1].code == ""


def test_losing_a_sign_up_race_is_answered_like_a_taken_number(client, outbox, monkeypatch):
    """The duplicate check passed (the other sign-up had not committed yet), so the insert hits
    the unique constraint: no 500, no second account, the owner is told."""
    UserFactory.create(phone=PHONE, phone_verified=False)
    from accounts.adapter import AccountAdapter

    monkeypatch.setattr(AccountAdapter, "get_user_by_phone", lambda self, phone: None)

    response = sign_up(client)

    assert response.status_code == 302
    assert User.objects.filter(phone=PHONE).count() == 1
    assert "already has an account" in outbox[-1].body


@pytest.mark.django_db(transaction=True)
def test_concurrent_sign_ups_with_one_number_make_exactly_one_account(outbox):
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def attempt() -> None:
        try:
            barrier.wait()
            statuses.append(sign_up(Client()).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # Every attempt is answered (no 500): the winner goes on to the code page; the others are
    # answered like a sign-up with a taken number (302; their texts to the owner never take
    # the winner's code slot: tests/accounts/test_signup_race.py). Never a second account.
    assert statuses == [302] * 6
    assert User.objects.filter(phone=PHONE).count() == 1


def test_wrong_codes_are_limited(client, outbox):
    sign_up(client)
    right = last_code(outbox, PHONE)
    wrong = "000000" if right != "000000" else "111111"

    for _ in range(2):
        response = client.post(reverse("account_verify_phone"), {"code": wrong})
        assert response.status_code == 200
        assert response.context["form"].errors["code"]
    client.post(reverse("account_verify_phone"), {"code": wrong})  # the third wrong code voids it
    response = client.post(reverse("account_verify_phone"), {"code": right})

    assert User.objects.get(phone=PHONE).phone_verified is False
    assert response.status_code == 302
    assert response["Location"] != reverse("accounts:profile")


def test_expired_code_is_refused(client, outbox, monkeypatch):
    sign_up(client)
    code = last_code(outbox, PHONE)
    later = time.time() + 5 * 60 + 1
    monkeypatch.setattr(code_verification.time, "time", lambda: later)

    client.post(reverse("account_verify_phone"), {"code": code})

    assert User.objects.get(phone=PHONE).phone_verified is False


@pytest.fixture
def member():
    """Here a member has a verified number and nothing else."""
    return UserFactory.create(phone=PHONE)


def test_log_in_with_a_code(client, outbox, member):
    response = client.post(reverse("account_login"), {"login": "13800138000"})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_confirm_login_code")
    response = client.post(
        reverse("account_confirm_login_code"), {"code": last_code(outbox, PHONE)}
    )

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(member.pk)


def test_a_used_code_cannot_log_in_again(client, outbox, member):
    client.post(reverse("account_login"), {"login": PHONE})
    code = last_code(outbox, PHONE)
    client.post(reverse("account_confirm_login_code"), {"code": code})
    client.post(reverse("account_logout"))
    assert "_auth_user_id" not in client.session

    response = client.post(reverse("account_confirm_login_code"), {"code": code})

    assert "_auth_user_id" not in client.session
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_log_in_with_a_password_when_one_is_set(client, outbox, member):
    member.set_password("correct horse battery staple")
    member.save()

    response = client.post(
        reverse("account_login"),
        {"login": "138 0013 8000", "password": "correct horse battery staple"},
    )

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(member.pk)
    assert outbox == []


def test_log_in_with_an_unknown_number_looks_the_same_and_texts_the_number(client, outbox):
    response = client.post(
        reverse("account_login"), {"login": "13900139000"}, headers={"accept-language": "en"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("account_confirm_login_code")
    assert outbox[-1].to == "+8613900139000"
    assert "no account uses it" in outbox[-1].body
    assert outbox[-1].code == ""


def test_a_second_code_within_a_minute_is_rate_limited(client, outbox, member):
    client.post(reverse("account_login"), {"login": PHONE})
    other_client = Client()

    response = other_client.post(reverse("account_login"), {"login": PHONE})

    assert response.status_code == 200
    assert response.context["form"].errors["login"]
    assert len([m for m in outbox if m.to == PHONE]) == 1


def test_resending_the_sign_up_code_at_once_is_rate_limited(client, outbox):
    sign_up(client)

    response = client.post(
        reverse("account_verify_phone"), {"action": "resend"}, headers={"accept-language": "en"}
    )
    page = client.get(response["Location"], headers={"accept-language": "en"}).content.decode()

    assert "Please wait a minute before asking for a new code" in page
    assert "ask for a new one 60 seconds after the last one" in page
    assert len(outbox) == 1


def test_sms_failure_is_a_message_not_an_error_page(client, outbox, monkeypatch):
    def fail(message):
        raise SmsSendError("carrier unavailable")

    monkeypatch.setattr("accounts.sms.locmem.SmsBackend.send", lambda self, message: fail(message))

    response = sign_up(
        client,
    )
    page = client.get(response["Location"], headers={"accept-language": "en"})

    assert response.status_code == 302
    assert page.status_code == 200
    assert "We could not send the text message just now" in page.content.decode()


def test_texts_are_in_the_language_of_the_page(client, outbox):
    client.post(
        reverse("account_signup"),
        {"phone": "138 0013 8000", **SIGNUP_CONSENTS},
        headers={"accept-language": "zh-CN"},
    )

    assert outbox[-1].body.startswith("【realname】您的验证码为")
