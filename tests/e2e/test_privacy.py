"""A person's rights in a real browser (issue #17): verify, open Your data, re-confirm with a
texted code, export, withdraw face consent, close the account; then the number signs up again
as a new account and the desk shows the old record as erased."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from accounts.personkeys import person_is_shredded
from kernel.crypto import DecryptionError, decrypt_str
from tests.e2e.pages import read_code, sign_up, staff_log_in, start_verification_from_recharge
from tests.e2e.test_verification import face_check
from tests.factories import DEMO, MemberFactory, PersonalVerificationFactory, StaffFactory
from tests.helpers import detail_url
from verification.models import PersonalVerification

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PHONE = "13300133000"
OTHER_NAME = "李四"
OTHER_NUMBER = "11010519850101002X"


def reconfirm(page: Page, sms_file: Path) -> None:
    page.get_by_role("button", name="Text me a code").click()
    expect(page.locator("input[name=code]")).to_be_visible()
    page.locator("input[name=code]").fill(read_code(sms_file, f"+86{PHONE}"))
    page.get_by_role("button", name="Confirm", exact=True).click()


def test_see_export_withdraw_close_and_sign_up_again(
    browser: Browser, site, settings, tmp_path
) -> None:
    sms_file = Path(settings.ACCOUNTS_SMS_FILE_PATH)
    # One code a minute per number, as configured, would make this test wait between its
    # sign-up, re-confirmation and second sign-up; the limit itself is tested in tests/accounts.
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "sms_code": "10/60s/key"}
    now = timezone.now()
    PersonalVerificationFactory.create(
        user=MemberFactory.create(),
        name=OTHER_NAME,
        document_number=OTHER_NUMBER,
        status=PersonalVerification.Status.PASSED,
        reason_code="ok",
        identity_checked_at=now,
        liveness_started_at=now,
        completed_at=now,
    )
    page = browser.new_context(locale="en-US", accept_downloads=True).new_page()
    sign_up(page, site, sms_file, PHONE)
    start_verification_from_recharge(page, site, DEMO["name"])
    face_check(page, "pass", tmp_path)
    status = page.locator("[data-verification-status]")
    expect(status).to_have_attribute("data-verification-status", "passed", timeout=30_000)
    verification = PersonalVerification.objects.get(user__phone=f"+86{PHONE}")
    # The stored ciphertext of their name, as a backup taken now would hold it.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name::text FROM verification_personalverification WHERE id = %s",
            [verification.pk],
        )
        sealed_before_closing = cursor.fetchone()[0]
    name_purpose = PersonalVerification._meta.get_field("name").purpose  # type: ignore[attr-defined]
    assert decrypt_str(sealed_before_closing, purpose=name_purpose) == DEMO["name"]

    # Your data: masked, then shown after a fresh code.
    page.goto(f"{site.url}/accounts/profile/")
    page.locator("[data-action=your-data]").click()
    expect(page.locator("[data-revealed=false]")).to_be_visible()
    expect(page.locator("[data-section=personal_verifications]")).not_to_contain_text(
        DEMO["document_number"]
    )
    page.get_by_role("link", name="Show them (we text you a code)").click()
    reconfirm(page, sms_file)
    expect(page.locator("[data-revealed=true]")).to_be_visible()
    expect(page.locator("[data-section=personal_verifications]")).to_contain_text(
        DEMO["document_number"]
    )

    # Export: the file holds this person's values and nothing of the other person.
    page.locator("[data-action=export]").click()
    expect(page.locator("[data-export=personal_verifications]")).to_contain_text(DEMO["name"])
    with page.expect_download() as download_info:
        page.locator("[data-action=download]").click()
    text = Path(download_info.value.path()).read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["version"] == 1
    assert data["account"]["phone"] == f"+86{PHONE}"
    assert data["personal_verifications"][0]["document_number"] == DEMO["document_number"]
    assert OTHER_NAME not in text and OTHER_NUMBER not in text

    # Withdraw face consent: the consequence is stated before the click.
    page.goto(f"{site.url}/accounts/data/")
    face = page.locator("[data-withdraw=face-rules]")
    expect(face).to_contain_text("No new face check")
    face.get_by_role("button").click()
    expect(page.locator("[data-withdraw=face-rules]")).to_have_count(0)

    # Close the account.
    page.locator("[data-action=close]").click()
    expect(page.get_by_role("heading", name="What stays, as the law requires")).to_be_visible()
    page.get_by_label("I understand that my account and my data are erased for good.").check()
    page.get_by_role("button", name="Close my account and erase my data").click()
    page.wait_for_url(f"{site.url}/")
    old = User.objects.get(pk=verification.user_id)
    assert old.erased_at is not None and old.phone is None
    verification.refresh_from_db()
    assert verification.name == "" and verification.document_number == ""
    # Their key is gone: a copy of their ciphertext taken before the closing (a backup) can no
    # longer be read.
    assert person_is_shredded(old.pk)
    with pytest.raises(DecryptionError):
        decrypt_str(sealed_before_closing, purpose=name_purpose)

    # The number is free: it signs up again as a new account.
    fresh = browser.new_context(locale="en-US").new_page()
    sign_up(fresh, site, sms_file, PHONE)
    assert User.objects.get(phone=f"+86{PHONE}").pk != old.pk

    # The desk shows the old record as erased.
    lead = StaffFactory.create(groups=["Support lead"])
    desk = browser.new_context(locale="en-US").new_page()
    staff_log_in(desk, site, sms_file, lead)
    desk.goto(f"{site.url}{detail_url(verification)}")
    expect(desk.locator("body")).to_contain_text("Erased at the person")
    expect(desk.locator("body")).not_to_contain_text(DEMO["name"])
