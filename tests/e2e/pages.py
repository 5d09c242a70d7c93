"""Steps several browser tests take: reading the texted code, signing up, starting a
verification from Recharge, and a staff member's log-in with the second factor."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from accounts.models import User
from tests.factories import DEMO
from tests.helpers import totp_code


def read_code(path: Path, phone: str, timeout: float = 10) -> str:
    """The code the file SMS backend wrote for ``phone`` (the last one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            for line in reversed(path.read_text(encoding="utf-8").splitlines()):
                message = json.loads(line)
                if message["to"] == phone and message["code"]:
                    return message["code"]
        time.sleep(0.1)
    raise AssertionError(f"no code texted to {phone}")


def sign_up(page: Page, site: Any, sms_file: Path, phone: str) -> None:
    page.goto(f"{site.url}/accounts/signup/")
    page.locator("input[name=phone]").fill(phone)
    page.locator("input[name=consent_user-agreement]").check()
    page.locator("input[name=consent_privacy-policy]").check()
    page.get_by_role("main").get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/accounts/phone/verify/")
    page.locator("input[name=code]").fill(read_code(sms_file, f"+86{phone}"))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")


def start_verification_from_recharge(page: Page, site: Any, name: str) -> None:
    """The gate: Recharge → the service description → the verification page → the form."""
    page.goto(f"{site.url}/recharge/")
    page.wait_for_url("**/accounts/consent/**")
    page.locator("input[name=consent_realname-service]").check()
    page.get_by_role("button", name="Accept and continue").click()
    page.wait_for_url("**/verification/?next=%2Frecharge%2F")
    page.locator("#verify-personal").click()

    page.get_by_label("Name").fill(name)
    page.get_by_label("Document type").select_option(DEMO["document_type"])
    page.get_by_label("Document number").fill(DEMO["document_number"])
    page.get_by_role("button", name="Submit").click()


def staff_log_in(page: Page, site: Any, sms_file: Path, staff: User) -> None:
    """The admin sends staff to the site's log-in: SMS code, then the authenticator code."""
    page.goto(f"{site.url}/admin/")
    page.wait_for_url("**/accounts/login/**")
    page.locator("input[name=login]").fill(str(staff.phone))
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    page.wait_for_url("**/accounts/login/code/confirm/**")  # the code has been texted
    page.locator("input[name=code]").fill(read_code(sms_file, str(staff.phone)))
    page.get_by_role("main").get_by_role("button").first.click()
    page.wait_for_url("**/accounts/2fa/authenticate/**")
    # A browser round trip under load can outlast the last seconds of a code's period.
    page.locator("input[name=code]").fill(totp_code(valid_for=10))
    page.get_by_role("main").get_by_role("button").first.click()
    page.wait_for_url(f"{site.url}/admin/")
