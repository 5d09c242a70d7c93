"""Rate limits, each shown to be what stops the flood: SMS codes, log-ins, verification
submissions (valid or not), and the provider callback (tests/security/test_callbacks.py)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.sms import locmem
from tests.factories import MemberFactory, resident_id
from tests.helpers import in_a_fresh_window

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox")]
EN = {"accept-language": "en"}


def test_a_second_sms_code_within_a_minute_is_refused():
    member = MemberFactory.create()
    client = Client(headers=EN)

    client.post("/accounts/login/", {"login": str(member.phone)})
    again = Client(headers=EN).post("/accounts/login/", {"login": str(member.phone)})

    assert len([m for m in locmem.outbox if m.to == str(member.phone)]) == 1
    assert again.status_code in (200, 429)  # the form says to wait, or the 429 page


def test_wrong_login_codes_are_limited_per_number(settings):
    member = MemberFactory.create()
    client = Client(headers=EN)
    client.post("/accounts/login/", {"login": str(member.phone)})
    code = next(m.code for m in locmem.outbox if m.to == str(member.phone))
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    for _ in range(3):  # ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS
        client.post("/accounts/login/code/confirm/", {"code": wrong})
    late = client.post("/accounts/login/code/confirm/", {"code": code})

    assert "_auth_user_id" not in client.session
    assert late.status_code in (200, 302)
    if late.status_code == 302:
        assert late["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("path", ["/verification/personal/", "/verification/enterprise/"])
def test_verification_submissions_are_limited_per_account(settings, path):
    settings.REALNAME_RATE_LIMITS = {"verification_submit": "3/10m/user,100/10m/ip"}
    in_a_fresh_window(10 * 60)
    client = Client(headers=EN)
    client.force_login(MemberFactory.create())
    bad = {"name": "张三", "document_type": "cn_resident_id", "document_number": "1" * 18}
    if "enterprise" in path:
        bad = {"company_name": "x", "credit_code": "1" * 18, "legal_representative": "张三"}

    statuses = [client.post(path, bad).status_code for _ in range(5)]

    assert 429 not in statuses[:3]  # the form with its errors, each time
    assert statuses[3:] == [429, 429]
    # Reading the page is not counted.
    assert client.get(path).status_code == 200


def test_verification_submissions_are_limited_per_network_address(settings):
    settings.REALNAME_RATE_LIMITS = {"verification_submit": "100/10m/user,2/10m/ip"}
    in_a_fresh_window(10 * 60)
    statuses = []
    for _ in range(3):
        client = Client(headers=EN)
        client.force_login(MemberFactory.create())
        statuses.append(
            client.post(
                "/verification/personal/",
                {
                    "name": "张三",
                    "document_type": "cn_resident_id",
                    "document_number": resident_id(),
                },
            ).status_code
        )

    assert statuses == [302, 302, 429]
