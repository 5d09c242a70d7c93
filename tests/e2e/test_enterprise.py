"""An enterprise admin verifies a company in a real browser: sign-up, the service description,
the form with the licence upload, the real worker's registry check at the sandbox, a support
reviewer approving in the support desk, and "Identity Verified"."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.pages import sign_up, staff_log_in
from tests.factories import DEMO_COMPANY, StaffFactory, licence_png

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_enterprise_verification_through_review(browser: Browser, site, settings, tmp_path):
    staff = StaffFactory.create()
    licence = tmp_path / "licence.png"
    licence.write_bytes(licence_png())

    page = browser.new_context(locale="en-US").new_page()
    sign_up(page, site, Path(settings.ACCOUNTS_SMS_FILE_PATH), "13400134000")
    page.goto(f"{site.url}/verification/")
    page.locator("#verify-enterprise").click()
    page.locator("input[name=consent_realname-service]").check()
    page.get_by_role("button", name="Accept and continue").click()

    page.get_by_label("Company name").fill(DEMO_COMPANY["company_name"])
    page.get_by_label("Unified social credit code").fill(DEMO_COMPANY["credit_code"].lower())
    page.get_by_label("Legal representative").fill(DEMO_COMPANY["legal_representative"])
    page.get_by_label("Business licence").set_input_files(licence)
    page.screenshot(path=tmp_path / "enterprise-form.png", full_page=True)
    page.get_by_role("button", name="Submit").click()

    status = page.locator("[data-verification-status]")
    expect(status).to_have_attribute("data-verification-status", "pending_review", timeout=30_000)
    page.screenshot(path=tmp_path / "enterprise-pending.png", full_page=True)

    # A reviewer (Support, with TOTP) opens the desk, looks at the licence and approves it.
    admin = browser.new_context(locale="en-US").new_page()
    staff_log_in(admin, site, Path(settings.ACCOUNTS_SMS_FILE_PATH), staff)
    admin.goto(f"{site.url}/admin/support/reviewqueue/?status__exact=pending_review")
    admin.locator("#result_list tbody tr").first.get_by_role("link").first.click()
    licence_image = admin.locator("#licence-image")
    expect(licence_image).to_be_visible()
    # Shown does not mean loaded: wait until the image has settled (loaded or broken).
    admin.wait_for_function("image => image.complete", arg=licence_image.element_handle())
    assert licence_image.evaluate("image => image.complete && image.naturalWidth > 0")
    admin.screenshot(path=tmp_path / "review-enterprise.png", full_page=True)
    with admin.expect_popup() as popup:
        admin.get_by_role("link", name="Open the licence").click()
    popup.value.wait_for_load_state()
    assert popup.value.evaluate("document.contentType") == "image/png"
    admin.get_by_role("button", name="Approve licence: Identity Verified").click()
    expect(admin.get_by_text("Licence approved.")).to_be_visible()

    page.reload()
    expect(status).to_have_attribute("data-verification-status", "approved")
    expect(page.get_by_role("heading", level=1)).to_have_text("Identity Verified")
    page.goto(f"{site.url}/accounts/profile/")
    expect(page.locator("[data-identity-kind=enterprise]")).to_contain_text("Identity Verified")
    page.goto(f"{site.url}/recharge/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Recharge")
