"""A person verifies in a real browser: sign-up, the gate in front of Recharge, the service
description, the form, the real worker and sandbox provider, the separate face consent, the
sandbox's face page, and back to the result."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.pages import sign_up, start_verification_from_recharge
from tests.factories import DEMO

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def face_check(page: Page, outcome: str, tmp_path) -> None:
    status = page.locator("[data-verification-status]")
    expect(status).to_have_attribute("data-verification-step", "face_consent", timeout=30_000)
    page.get_by_role("button", name="Start the face check").click()
    # Not without the separate face consent: a message next to the box, nothing started.
    expect(page.get_by_text("Please read and accept this document to continue.")).to_be_visible()
    page.locator("input[name=consent_face-rules]").check()
    page.get_by_role("button", name="Start the face check").click()

    page.locator("#continue-to-face-check").click(timeout=30_000)
    page.screenshot(path=tmp_path / "sandbox-face-page.png", full_page=True)
    page.locator(f"#sandbox-{outcome}").click()


def test_verification_passes_and_recharge_opens(browser: Browser, site, settings, tmp_path):
    page = browser.new_context(locale="en-US").new_page()
    sign_up(page, site, Path(settings.ACCOUNTS_SMS_FILE_PATH), "13600136000")

    start_verification_from_recharge(page, site, DEMO["name"])
    face_check(page, "pass", tmp_path)

    status = page.locator("[data-verification-status]")
    expect(status).to_have_attribute("data-verification-status", "passed", timeout=30_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Real-Name Authentication Completed")
    page.screenshot(path=tmp_path / "passed.png", full_page=True)

    page.locator("#continue-after-verification").click()
    page.wait_for_url("**/recharge/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Recharge")
    page.goto(f"{site.url}/accounts/profile/")
    expect(page.locator("[data-identity-verified=true]")).to_contain_text(
        "Real-Name Authentication Completed"
    )


def test_a_mismatch_fails_with_guidance(browser: Browser, site, settings, tmp_path):
    page = browser.new_context(locale="en-US").new_page()
    sign_up(page, site, Path(settings.ACCOUNTS_SMS_FILE_PATH), "13500135000")

    start_verification_from_recharge(page, site, "测试乙")

    status = page.locator("[data-verification-status]")
    expect(status).to_have_attribute("data-verification-status", "failed", timeout=30_000)
    expect(page.locator("[data-reason=name_number_mismatch]")).to_contain_text(
        "The name does not match the document number"
    )
    expect(page.get_by_role("link", name="Try again")).to_be_visible()
    page.screenshot(path=tmp_path / "failed.png", full_page=True)
