"""Real vendors' protocols in a real browser: the router sends a resident ID to Aliyun and a
travel permit to Alipay (each played by the sandbox speaking that vendor's wire protocol, each
called by the real adapter from the real worker), and a company to Aliyun's enterprise check.

The adapters are the ones that go live: only their endpoints and credentials point at the
sandbox (tests/sandbox_harness.vendor_environment)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from enterprise.models import EnterpriseVerification
from tests.e2e.pages import sign_up
from tests.e2e.test_verification import face_check
from tests.factories import DEMO_COMPANY, licence_png
from tests.sandbox_harness import vendor_environment
from verification.models import PersonalVerification

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# From the sandbox's demo registry (sandbox/README.md).
RESIDENT_ID = {"name": "测试乙", "document_type": "cn_resident_id", "number": "110101198512129021"}
TRAVEL_PERMIT = {
    "name": "测试丙",
    "document_type": "hk_mo_travel_permit",
    "number": "H90000001",
    "birth_date": "1988-05-20",
}


@pytest.fixture
def vendors(site, settings, sandbox_provider):
    """The web side routes to the vendors; the worker already has their settings."""
    for name, value in vendor_environment(sandbox_provider).items():
        setattr(settings, name, value)
    settings.VERIFICATION_PROVIDERS = ["aliyun", "alipay"]
    settings.VERIFICATION_ROUTES = {
        "cn_resident_id": ["aliyun"],
        "hk_mo_travel_permit": ["alipay"],
        "enterprise": ["aliyun"],
    }
    return site


def verify(page: Page, site, person: dict[str, str], tmp_path: Path, label: str) -> None:
    page.goto(f"{site.url}/recharge/")
    page.wait_for_url("**/accounts/consent/**")
    page.locator("input[name=consent_realname-service]").check()
    page.get_by_role("button", name="Accept and continue").click()
    page.locator("#verify-personal").click()
    # Only Aliyun and Alipay are configured: the foreign permanent resident ID is covered by
    # neither, so the form offers it greyed out and says why.
    foreign = page.locator("option[value=foreign_permanent_resident_id]")
    expect(foreign).to_be_disabled()
    expect(foreign).to_contain_text("(not available)")
    page.get_by_label("Name").fill(person["name"])
    page.get_by_label("Document type").select_option(person["document_type"])
    page.get_by_label("Document number").fill(person["number"])
    if "birth_date" in person:
        page.get_by_label("Date of birth").fill(person["birth_date"])
    page.screenshot(path=tmp_path / f"{label}-form.png", full_page=True)
    page.get_by_role("button", name="Submit").click()

    face_check(page, "pass", tmp_path)
    status = page.locator("[data-verification-status]")
    expect(status).to_have_attribute("data-verification-status", "passed", timeout=30_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Real-Name Authentication Completed")
    page.screenshot(path=tmp_path / f"{label}-passed.png", full_page=True)


def test_resident_id_at_aliyun_and_travel_permit_at_alipay(
    browser: Browser, vendors, settings, tmp_path
):
    sms = Path(settings.ACCOUNTS_SMS_FILE_PATH)

    first = browser.new_context(locale="en-US").new_page()
    sign_up(first, vendors, sms, "13700137001")
    verify(first, vendors, RESIDENT_ID, tmp_path, "aliyun")

    second = browser.new_context(locale="en-US").new_page()
    sign_up(second, vendors, sms, "13700137002")
    verify(second, vendors, TRAVEL_PERMIT, tmp_path, "alipay")

    at_aliyun, at_alipay = PersonalVerification.objects.order_by("created_at")
    assert (at_aliyun.provider, at_aliyun.document_type) == ("aliyun", "cn_resident_id")
    assert at_aliyun.identity_checked_at is not None and not at_aliyun.identity_deferred
    assert (at_alipay.provider, at_alipay.document_type) == ("alipay", "hk_mo_travel_permit")
    # Alipay checks name and number with the face: no separate identity answer.
    assert at_alipay.identity_deferred and at_alipay.identity_checked_at is None
    assert at_aliyun.status == at_alipay.status == "passed"


def test_enterprise_at_aliyun(browser: Browser, vendors, settings, tmp_path):
    page = browser.new_context(locale="en-US").new_page()
    sign_up(page, vendors, Path(settings.ACCOUNTS_SMS_FILE_PATH), "13700137003")
    page.goto(f"{vendors.url}/verification/")
    page.locator("#verify-enterprise").click()
    page.locator("input[name=consent_realname-service]").check()
    page.get_by_role("button", name="Accept and continue").click()
    licence = tmp_path / "licence.png"
    licence.write_bytes(licence_png())
    page.get_by_label("Company name").fill(DEMO_COMPANY["company_name"])
    page.get_by_label("Unified social credit code").fill(DEMO_COMPANY["credit_code"])
    page.get_by_label("Legal representative").fill(DEMO_COMPANY["legal_representative"])
    page.get_by_label("Business licence").set_input_files(licence)
    page.get_by_role("button", name="Submit").click()

    status = page.locator("[data-verification-status]")
    # The registry check passed at Aliyun's enterprise protocol; the licence waits for review.
    expect(status).to_have_attribute("data-verification-status", "pending_review", timeout=30_000)
    page.screenshot(path=tmp_path / "aliyun-enterprise-pending.png", full_page=True)
    verification = EnterpriseVerification.objects.get()
    assert verification.provider == "aliyun"
