"""A person opens the site in a real browser: the home page in their language, and the switcher."""

import pytest
from playwright.sync_api import Browser, expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_home_page_in_chinese_then_english(browser: Browser, live_server, tmp_path):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()

    page.goto(live_server.url)

    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_contain_text("实名认证")
    nav = page.get_by_role("navigation")
    expect(nav.get_by_role("link", name="注册")).to_be_visible()
    expect(nav.get_by_role("link", name="登录")).to_be_visible()
    expect(nav.get_by_role("link", name="实名认证")).to_be_visible()
    page.screenshot(path=tmp_path / "home-zh.png", full_page=True)

    page.get_by_label("语言").select_option("en")
    page.get_by_role("button", name="切换").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Verify your identity once, then pay, publish and recharge"
    )
    page.get_by_role("navigation").get_by_role("link", name="Verification").click()
    expect(page).to_have_url(f"{live_server.url}/verification/")
    expect(page.get_by_role("heading", level=2, name="Enterprise verification")).to_be_visible()
    context.close()
