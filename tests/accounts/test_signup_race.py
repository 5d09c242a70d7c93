"""Two sign-ups racing for one number (issue #16, item 8): the winner still gets its code at
once. The loser's "this number already has an account" text used to take the number's one slot
per minute, so the winner's code was refused ("please wait a minute") whenever the loser's text
went out first."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.adapter import AccountAdapter
from accounts.models import User
from tests.helpers import last_code

PHONE = "+8613800138000"
SIGNUP_CONSENTS = {"consent_user-agreement": "on", "consent_privacy-policy": "on"}
WAIT_SECONDS = 30


def sign_up(client: Client):
    return client.post(
        reverse("account_signup"),
        {"phone": "138 0013 8000", **SIGNUP_CONSENTS},
        headers={"accept-language": "en"},
    )


@pytest.mark.django_db(transaction=True)
def test_the_winner_of_a_sign_up_race_gets_its_code_when_the_losers_text_goes_first(
    outbox, monkeypatch
):
    """The worst interleaving, made certain: the winner has created the account and is about
    to text its code when the loser's sign-up (which finds the number taken) texts the owner."""
    account_created, loser_done = threading.Event(), threading.Event()
    original = AccountAdapter.get_login_stages

    def get_login_stages(self):  # called once the account is committed, before any text
        if threading.current_thread().name == "winner":
            account_created.set()
            assert loser_done.wait(WAIT_SECONDS), "the losing sign-up did not finish"
        return original(self)

    monkeypatch.setattr(AccountAdapter, "get_login_stages", get_login_stages)
    winner_client, loser_client = Client(), Client()
    answers: dict[str, int] = {}

    def winner() -> None:
        try:
            answers["winner"] = sign_up(winner_client).status_code
        finally:
            connection.close()

    thread = threading.Thread(target=winner, name="winner")
    thread.start()
    try:
        assert account_created.wait(WAIT_SECONDS), "the winning sign-up made no account"
        loser_answer = sign_up(loser_client)
    finally:
        loser_done.set()
        thread.join(WAIT_SECONDS)

    # The loser is answered like any sign-up (enumeration prevention), and the owner told.
    assert loser_answer.status_code == 302
    assert loser_answer["Location"] == reverse("account_verify_phone")
    assert "already has an account" in outbox[0].body
    # The winner was not refused, and its code arrived and works.
    assert answers["winner"] == 302
    code = last_code(outbox, PHONE)
    response = winner_client.post(reverse("account_verify_phone"), {"code": code})
    assert response.status_code == 302
    assert User.objects.get(phone=PHONE).phone_verified is True


@pytest.mark.django_db(transaction=True)
def test_racing_sign_ups_all_get_the_sign_up_answer_and_one_code(outbox):
    """Six sign-ups at once: one account, one code, and no one sees the rate-limit page."""
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def attempt() -> None:
        try:
            barrier.wait(WAIT_SECONDS)
            statuses.append(sign_up(Client()).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS)

    assert statuses == [302] * 6
    assert User.objects.filter(phone=PHONE).count() == 1
    assert len([m for m in outbox if m.code]) == 1
    # One notice per minute at most: the owner is not flooded by the losers.
    assert len([m for m in outbox if not m.code]) == 1


@pytest.mark.django_db
def test_resending_at_once_is_refused_alike_for_a_taken_and_a_free_number(outbox):
    """The loser's page must not tell it lost: a resend within the minute says "wait" there
    too, though nothing would have been texted."""
    pages = []
    for phone in ("138 0013 8000", "139 0013 9000"):
        if phone.startswith("138"):
            User.objects.create(phone=PHONE, phone_verified=True)
        client = Client()
        client.post(
            reverse("account_signup"),
            {"phone": phone, **SIGNUP_CONSENTS},
            headers={"accept-language": "en"},
        )
        response = client.post(
            reverse("account_verify_phone"), {"action": "resend"}, headers={"accept-language": "en"}
        )
        pages.append(client.get(response["Location"], headers={"accept-language": "en"}))

    for page in pages:
        assert page.status_code == 200
        assert "Please wait a minute before asking for a new code" in page.content.decode()
    assert len(outbox) == 2  # the notice to the owner, the code to the free number
