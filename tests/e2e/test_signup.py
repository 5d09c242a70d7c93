"""A person signs up in a real browser, reading the SMS code from the file backend, in
Simplified Chinese and in English."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from accounts.models import ConsentRecord, User
from tests.e2e.pages import read_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TEXT = {
    "zh-CN": {
        "phone": "手机号",
        "agreement": "用户协议",
        "privacy": "隐私政策",
        "signup": "注册",
        "confirm": "确认",
        "account": "您的账户",
        "consent_error": "请阅读并接受此文件后继续。",
    },
    "en-US": {
        "phone": "Mobile number",
        "agreement": "User Agreement",
        "privacy": "Privacy Policy",
        "signup": "Sign up",
        "confirm": "Confirm",
        "account": "Your account",
        "consent_error": "Please read and accept this document to continue.",
    },
}


@pytest.mark.parametrize(("locale", "phone"), [("zh-CN", "13800138000"), ("en-US", "13900139000")])
def test_sign_up_by_phone_with_the_code_from_the_sms_file(
    browser: Browser, live_server, settings, tmp_path, locale, phone
):
    sms_file = tmp_path / "sms.jsonl"
    settings.ACCOUNTS_SMS_BACKEND = "accounts.sms.filebased.SmsBackend"
    settings.ACCOUNTS_SMS_FILE_PATH = str(sms_file)
    text = TEXT[locale]
    context = browser.new_context(locale=locale)
    page = context.new_page()

    page.goto(f"{live_server.url}/accounts/signup/")
    page.get_by_label(text["phone"]).fill(phone)
    page.get_by_role("main").get_by_role("button", name=text["signup"]).click()

    # Without the boxes ticked: a message next to each, nothing created, nothing sent.
    expect(page.get_by_text(text["consent_error"])).to_have_count(2)
    assert not sms_file.exists()
    assert not User.objects.exists()

    page.get_by_role("checkbox", name=text["agreement"]).check()
    page.get_by_role("checkbox", name=text["privacy"]).check()
    page.screenshot(path=tmp_path / f"signup-{locale}.png", full_page=True)
    page.get_by_role("main").get_by_role("button", name=text["signup"]).click()

    page.wait_for_url("**/accounts/phone/verify/")
    page.locator("input[name=code]").fill(read_code(sms_file, f"+86{phone}"))
    page.get_by_role("button", name=text["confirm"]).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(text["account"])
    expect(page.get_by_text(f"+86 {phone[:3]}****{phone[-4:]}", exact=True)).to_be_visible()
    user = User.objects.get(phone=f"+86{phone}")
    assert user.phone_verified
    assert ConsentRecord.objects.filter(user=user, action="accepted").count() == 2
    context.close()
