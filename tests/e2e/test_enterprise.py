"""An enterprise admin verifies a company in a real browser: sign-up, the service description,
the form with the licence upload, the real worker's registry check at the sandbox, a support
reviewer approving in the Django admin, and "Identity Verified"."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from accounts.models import User
from tests.e2e.test_verification import sign_up
from tests.enterprise.conftest import DEMO_COMPANY, licence_png

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
STAFF_PASSWORD = "a long staff password for the test"


@pytest.fixture
def site(live_server, settings, tmp_path, celery_worker_process, sandbox_settings_override):
    settings.SMS_BACKEND = "accounts.sms.filebased.SmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    return live_server


def test_enterprise_verification_through_review(browser: Browser, site, settings, tmp_path):
    staff = User.objects.create_user(phone="+8613300133000", phone_verified=True)
    staff.set_password(STAFF_PASSWORD)
    staff.is_staff = staff.is_superuser = True
    staff.save()
    licence = tmp_path / "licence.png"
    licence.write_bytes(licence_png())

    page = browser.new_context(locale="en-US").new_page()
    sign_up(page, site, Path(settings.SMS_FILE_PATH), "13400134000")
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

    # A reviewer opens the queue in the admin, looks at the licence and approves it.
    admin = browser.new_context(locale="en-US").new_page()
    admin.goto(f"{site.url}/admin/login/")
    admin.locator("input[name=username]").fill("+8613300133000")
    admin.locator("input[name=password]").fill(STAFF_PASSWORD)
    admin.locator("input[type=submit]").click()
    admin.goto(f"{site.url}/admin/enterprise/enterpriseverification/?status__exact=pending_review")
    with admin.expect_popup() as popup:
        admin.get_by_role("link", name="View (watermarked; logged)").click()
    assert popup.value.evaluate("document.contentType") == "image/png"
    admin.locator("input[name=_selected_action]").check()
    admin.locator("select[name=action]").select_option("approve")
    admin.locator("button[name=index], input[name=index]").first.click()
    expect(admin.get_by_text("1 updated.")).to_be_visible()

    page.reload()
    expect(status).to_have_attribute("data-verification-status", "approved")
    expect(page.get_by_role("heading", level=1)).to_have_text("Identity Verified")
    page.goto(f"{site.url}/accounts/profile/")
    expect(page.locator("[data-identity-kind=enterprise]")).to_contain_text("Identity Verified")
    page.goto(f"{site.url}/recharge/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Recharge")
