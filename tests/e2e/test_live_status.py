"""The status page while a check runs, in a real browser: with JavaScript it asks the small JSON
endpoint and swaps the next state in without reloading (what was set on the window survives,
no navigation happens); without JavaScript it reloads itself and still gets there."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.factories import MemberFactory
from tests.helpers import submit_demo
from verification import services
from verification.models import PersonalVerification
from verification.providers.base import CheckResult, ReasonCode

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASS = CheckResult(passed=True, reason_code=ReasonCode.OK, provider_ref="r-1")


@pytest.fixture
def waiting(monkeypatch) -> PersonalVerification:
    """A submitted verification whose identity check nobody runs: the test answers it."""
    monkeypatch.setattr(services.personal, "enqueue", lambda task_name, verification_id: None)
    return submit_demo(MemberFactory.create(face=True))


def signed_in_context(
    browser: Browser, live_server, verification: PersonalVerification, **options
) -> BrowserContext:
    client = Client()
    client.force_login(verification.user)
    context = browser.new_context(locale="en-US", **options)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context


def open_status_page(context: BrowserContext, live_server, verification) -> Page:
    page = context.new_page()
    page.goto(f"{live_server.url}{verification.get_absolute_url()}")
    expect(page.locator("[data-verification-status]")).to_have_attribute(
        "data-verification-step", "identity_check"
    )
    return page


def test_the_page_swaps_in_the_next_state_without_reloading(browser: Browser, live_server, waiting):
    context = signed_in_context(browser, live_server, waiting)
    page = open_status_page(context, live_server, waiting)
    page.evaluate("window.stillTheSamePage = true")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    # The page is asking the JSON endpoint (and gets "still checking").
    with page.expect_response(lambda r: r.url.endswith("/status.json")) as first:
        pass
    assert first.value.json()["step"] == "identity_check"

    services.verification_record_identity_result(verification_id=waiting.pk, result=PASS)

    state = page.locator("[data-verification-status]")
    expect(state).to_have_attribute("data-verification-step", "face_consent", timeout=20_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Details confirmed: face check next")
    expect(page.get_by_role("button", name="Start the face check")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True
    assert navigations == []
    # The face consent step waits for the person: nothing asks any more.
    assert not state.get_attribute("data-status-url")
    context.close()


def test_without_javascript_the_page_reloads_itself(browser: Browser, live_server, waiting):
    context = signed_in_context(browser, live_server, waiting, java_script_enabled=False)
    page = open_status_page(context, live_server, waiting)

    services.verification_record_identity_result(verification_id=waiting.pk, result=PASS)

    expect(page.locator("[data-verification-status]")).to_have_attribute(
        "data-verification-step", "face_consent", timeout=20_000
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Details confirmed: face check next")
    context.close()
