"""Who gets into the support desk: allauth's log-in, a second factor for staff, least-privilege
groups, 403 for everyone else."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import (
    ErroredPersonalFactory,
    FailedPersonalFactory,
    MemberFactory,
    PendingEnterpriseFactory,
    StaffFactory,
)
from tests.helpers import AUDIT, QUEUE, detail_url, last_code, totp_code

pytestmark = pytest.mark.django_db
EN = {"accept-language": "en"}


def log_in_with_code(client: Client, outbox, phone: str) -> None:
    client.post(reverse("account_login"), {"login": phone}, headers=EN)
    response = client.post(
        reverse("account_confirm_login_code"), {"code": last_code(outbox, phone)}, headers=EN
    )
    assert response.status_code == 302


def test_the_admin_sends_an_anonymous_visitor_to_the_sites_log_in():
    response = Client().get("/admin/")
    assert response.status_code == 302
    login = Client().get(response["Location"])
    assert login.status_code == 302
    assert login["Location"].startswith(reverse("account_login"))
    assert "next=" in login["Location"]


def test_djangos_password_form_is_never_shown(client):
    """The admin's own log-in page is replaced: no password form to guess at."""
    response = client.get("/admin/login/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_signed_in_member_who_is_not_staff_gets_403(desk_client):
    client = desk_client(MemberFactory.create())
    for url in (
        "/admin/",
        QUEUE,
        AUDIT,
        detail_url(FailedPersonalFactory.create()),
        "/admin/login/",
    ):
        assert client.get(url).status_code == 403, url


def test_staff_log_in_with_phone_code_then_totp(outbox):
    """The real flow through allauth: SMS code, then the authenticator code, then the desk."""
    staff = StaffFactory.create()
    client = Client()
    client.post(reverse("account_login"), {"login": str(staff.phone)}, headers=EN)
    response = client.post(
        reverse("account_confirm_login_code"),
        {"code": last_code(outbox, str(staff.phone))},
        headers=EN,
    )
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get(QUEUE).status_code == 302  # not signed in until the second factor

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code()}, headers=EN)
    assert response.status_code == 302
    assert client.get(QUEUE, headers=EN).status_code == 200


def test_staff_without_a_second_factor_are_sent_to_set_one_up(outbox):
    staff = StaffFactory.create(totp=False)
    client = Client()
    log_in_with_code(client, outbox, str(staff.phone))

    response = client.get(QUEUE, follow=True, headers=EN)

    assert response.redirect_chain[-1][0].startswith(reverse("mfa_activate_totp"))
    assert b"two-factor authentication" in response.content


def test_a_session_not_confirmed_with_the_second_factor_must_confirm_it(outbox):
    """E.g. TOTP set up after this session signed in: the desk asks for a code first."""
    staff = StaffFactory.create()
    client = Client()
    client.force_login(staff)

    response = client.get(QUEUE, follow=True, headers=EN)

    assert reverse("mfa_reauthenticate") in response.redirect_chain[-1][0]
    confirmed = client.post(
        response.redirect_chain[-1][0], {"code": totp_code()}, follow=True, headers=EN
    )
    assert confirmed.redirect_chain[-1][0] == QUEUE
    assert confirmed.status_code == 200


def test_wrong_totp_codes_are_rate_limited(outbox, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "3/300s/key"}
    staff = StaffFactory.create()
    client = Client()
    log_in_with_code(client, outbox, str(staff.phone))
    wrong = f"{(int(totp_code()) + 1) % 1_000_000:06d}"

    for _ in range(3):
        client.post(reverse("mfa_authenticate"), {"code": wrong}, headers=EN)
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code()}, headers=EN)

    assert response.status_code == 200  # the right code no longer gets in
    assert b"Too many" in response.content or b"too many" in response.content
    assert client.get(QUEUE).status_code == 302


def test_staff_in_no_group_see_no_verification_data(desk_client):
    client = desk_client(StaffFactory.create(groups=[]))
    verification = FailedPersonalFactory.create()

    assert client.get("/admin/").status_code == 200  # the (empty) admin index
    assert client.get(QUEUE).status_code == 403
    assert client.get(detail_url(verification)).status_code == 403
    assert client.get(AUDIT).status_code == 403


def test_support_sees_the_queue_and_details_but_not_the_audit_log_nor_reveals(support, desk_client):
    client = desk_client(support)
    verification = FailedPersonalFactory.create()

    assert client.get(QUEUE).status_code == 200
    detail = client.get(detail_url(verification))
    assert detail.status_code == 200
    assert 'id="reveal-form"' not in detail.content.decode()
    assert client.get(AUDIT).status_code == 403
    response = client.post(
        detail_url(verification), {"action": "reveal", "reason": "ticket 1234: checking the name"}
    )
    assert response.status_code == 403
    # Refused before the form is even read: no hint about what a reveal would need.
    assert client.post(detail_url(verification), {"action": "reveal"}).status_code == 403


def test_support_lead_can_reveal_and_read_the_audit_log(lead, desk_client):
    client = desk_client(lead)

    assert client.get(AUDIT).status_code == 200
    assert (
        'id="reveal-form"'
        in client.get(detail_url(FailedPersonalFactory.create())).content.decode()
    )


@pytest.mark.parametrize("group", ["Support", "Support lead"])
def test_both_groups_have_the_review_actions(group, desk_client):
    client = desk_client(StaffFactory.create(groups=[group]))
    errored, pending = ErroredPersonalFactory.create(), PendingEnterpriseFactory.create()

    content = client.get(detail_url(pending)).content.decode()
    assert 'id="approve-licence"' in content and 'id="reset-attempts"' in content
    assert 'id="rerun-check"' in client.get(detail_url(errored)).content.decode()
    actions = client.get(QUEUE).content.decode()
    for action in ("approve_licences", "reset_attempts", "rerun_checks"):
        assert f'value="{action}"' in actions


def test_the_groups_hold_exactly_their_permissions():
    from django.contrib.auth.models import Group

    def codes(name: str) -> set[str]:
        return set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))

    support = {
        "view_reviewqueue",
        "review_licence",
        "reset_attempts",
        "rerun_check",
        "add_staffnote",
        "view_staffnote",
    }
    assert codes("Support") == support
    assert codes("Support lead") == support | {
        "reveal_personal_data",
        "view_auditentry",
        "view_licenceaccess",
    }


def test_the_owners_licence_link_does_not_serve_staff(support, desk_client):
    """Staff see licences in the desk only (watermarked, audited), not through the owner's URL."""
    verification = PendingEnterpriseFactory.create()
    client = desk_client(support)

    assert (
        client.get(f"/verification/enterprise/{verification.public_id}/licence/").status_code == 404
    )
    desk = client.get(f"{detail_url(verification)}licence/")
    assert desk.status_code == 200 and desk["Content-Type"] == "image/png"
    assert desk["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_the_admin_log_in_never_sends_staff_off_site(support, desk_client):
    client = desk_client(support)

    response = client.get("/admin/login/", {"next": "https://evil.example/steal"})

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/login/", {"next": QUEUE})["Location"] == QUEUE
