"""Support staff in a real browser: a Support lead with an authenticator app logs in (SMS code,
then TOTP), finds a person's failed verification by document number, reveals the details with
a reason, resets the attempt counter, and the person — locked out until then — can try again."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from support.models import AuditEntry
from tests.e2e.pages import sign_up, staff_log_in, start_verification_from_recharge
from tests.factories import DEMO, StaffFactory

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
README_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "review-desk.png"


def test_a_lead_reveals_with_a_reason_and_resets_attempts(
    browser: Browser, site, settings, tmp_path
):
    settings.VERIFICATION_MAX_ATTEMPTS_PER_DAY = 1
    sms_file = Path(settings.ACCOUNTS_SMS_FILE_PATH)

    # A person's only attempt of the day fails: the name does not match the document.
    person = browser.new_context(locale="en-US").new_page()
    sign_up(person, site, sms_file, "13700137000")
    start_verification_from_recharge(person, site, "测试乙")
    status = person.locator("[data-verification-status]")
    expect(status).to_have_attribute("data-verification-status", "failed", timeout=30_000)
    person.goto(f"{site.url}/verification/personal/")
    expect(person.locator("[data-verification-status]")).to_have_attribute(
        "data-verification-status", "locked"
    )

    # A Support lead logs in with the second factor and finds it by the document number.
    lead = StaffFactory.create(groups=["Support lead"])
    desk = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}).new_page()
    staff_log_in(desk, site, sms_file, lead)
    desk.get_by_role("link", name="Review desk").click()
    desk.locator("#searchbar").fill(DEMO["document_number"].lower())
    desk.locator("#searchbar").press("Enter")
    desk.wait_for_url(re.compile(r"[?&]q="))  # the queue as searched, not as it was
    rows = desk.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    desk.screenshot(path=tmp_path / "review-queue.png", full_page=True)
    rows.first.get_by_role("link").first.click()

    # Masked until revealed, and a reveal needs a reason.
    facts = desk.locator(".review-facts")
    expect(facts).to_contain_text("测*")
    expect(facts).not_to_contain_text(DEMO["document_number"])
    desk.get_by_label("Why do you need the full data?").fill("Ticket 8812: the person disputes")
    desk.get_by_role("button", name="Reveal").click()
    expect(desk.locator("[data-revealed-field=document_number]")).to_have_text(
        DEMO["document_number"]
    )
    desk.screenshot(path=tmp_path / "review-detail-revealed.png", full_page=True)

    desk.get_by_role("button", name="Reset attempt counter").click()
    expect(desk.get_by_text("Attempt counter reset: the user can retry.")).to_be_visible()
    expect(desk.locator(".review-timeline")).to_contain_text("Reset the attempt counter")
    desk.screenshot(path=tmp_path / "review-detail.png", full_page=True)
    if os.environ.get("REALNAME_UPDATE_SCREENSHOTS"):  # refresh the README's picture
        desk.screenshot(path=README_SCREENSHOT, full_page=True)

    # The person is no longer locked out and can start again.
    person.goto(f"{site.url}/verification/personal/")
    expect(person.get_by_label("Document number")).to_be_visible()
    assert list(AuditEntry.objects.order_by("at").values_list("action", "reason")) == [
        ("reveal", "Ticket 8812: the person disputes"),
        ("attempts_reset", ""),
    ]
