"""A host platform sends a new person to verify: the platform (an HTTP client with its API key)
registers a webhook endpoint and creates a session, the person signs up and verifies in
Chromium with the sandbox vendor, is sent back to the platform's page with the session id, the
platform's receiver gets the signed ``passed`` webhook (checked with the README's receiver
code), and the status API agrees."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, expect

from hostapi.models import Scope
from hostapi.services import api_client_create
from tests.e2e.pages import read_code
from tests.e2e.test_verification import face_check
from tests.factories import DEMO
from tests.webhooks.receiver import receiver_snippet

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


class PlatformPage(BaseHTTPRequestHandler):
    """The platform's own page the person comes back to, and its webhook receiver; it
    remembers what it was given."""

    visits: list[str] = []
    webhooks: list[tuple[bytes, str]] = []
    arrived = threading.Condition()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        with PlatformPage.arrived:
            PlatformPage.webhooks.append((body, self.headers.get("realname-signature", "")))
            PlatformPage.arrived.notify_all()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        PlatformPage.visits.append(self.path)
        body = b"<!doctype html><title>Platform</title><h1>Back at the platform</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def platform_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), PlatformPage)
    PlatformPage.visits = []
    PlatformPage.webhooks = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_platform_sends_a_new_person_to_verify_and_gets_the_outcome(
    browser: Browser, site, settings, tmp_path, platform_site
):
    _client, issued = api_client_create(
        name="Game server",
        scopes=[Scope.READ_STATUS, Scope.CREATE_SESSIONS, Scope.MANAGE_WEBHOOKS],
        return_urls=[f"{platform_site}/realname/"],
    )
    api = httpx.Client(
        base_url=f"{site.url}/api/v1", headers={"Authorization": f"Bearer {issued.key}"}
    )
    endpoint = api.post("/webhooks/endpoints", json={"url": f"{platform_site}/webhooks"})
    assert endpoint.status_code == 201
    secret = endpoint.json()["secret"]
    created = api.post(
        "/sessions",
        json={"reference": "player-1001", "return_url": f"{platform_site}/realname/back"},
    )
    assert created.status_code == 201
    session = created.json()

    page = browser.new_context(locale="en-US").new_page()
    page.goto(session["url"])
    # Not signed in: the log-in page, and from it the sign-up, which keeps where to go next.
    page.wait_for_url("**/accounts/login/**")
    page.get_by_role("main").get_by_role("link", name="Sign up").click()
    page.locator("input[name=phone]").fill("13700137000")
    page.locator("input[name=consent_user-agreement]").check()
    page.locator("input[name=consent_privacy-policy]").check()
    page.get_by_role("main").get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/accounts/phone/verify/")
    page.locator("input[name=code]").fill(
        read_code(Path(settings.ACCOUNTS_SMS_FILE_PATH), "+8613700137000")
    )
    page.get_by_role("button", name="Confirm").click()

    # Back at the session: who asks, and on to verify.
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Game server asks you to verify your identity"
    )
    assert api.get(f"/sessions/{session['id']}").json()["status"] == "opened"
    page.screenshot(path=tmp_path / "session.png", full_page=True)
    page.locator("#continue-to-verification").click()
    page.wait_for_url("**/accounts/consent/**")
    page.locator("input[name=consent_realname-service]").check()
    page.get_by_role("button", name="Accept and continue").click()
    page.get_by_label("Name").fill(DEMO["name"])
    page.get_by_label("Document type").select_option(DEMO["document_type"])
    page.get_by_label("Document number").fill(DEMO["document_number"])
    page.get_by_role("button", name="Submit").click()
    face_check(page, "pass", tmp_path)
    status = page.locator("[data-verification-status]")
    expect(status).to_have_attribute("data-verification-status", "passed", timeout=30_000)

    # Continue: the session again, now with the way back to the platform.
    page.locator("#continue-after-verification").click()
    expect(page.locator("[data-account-verified]")).to_have_attribute(
        "data-account-verified", "true"
    )
    page.locator("#return-to-platform").click()
    page.wait_for_url(f"{platform_site}/realname/back?**")
    expect(page.get_by_role("heading", level=1)).to_have_text("Back at the platform")
    back = [visit for visit in PlatformPage.visits if visit.startswith("/realname/back")]
    assert len(back) == 1
    returned = parse_qs(urlsplit(back[0]).query)
    assert returned == {"session_id": [session["id"]]}

    # The platform's receiver hears it: the signed `passed` event, checked with the README's code.
    namespace: dict = {}
    exec(receiver_snippet(), namespace)  # noqa: S102 - the README's own receiver
    verified_event = namespace["verified_event"]

    def verified_events() -> list[dict]:
        events = [
            verified_event(secret, body, signature) for body, signature in PlatformPage.webhooks
        ]
        assert None not in events, "a webhook whose signature the README's code refuses"
        return events

    def every_step_arrived() -> bool:
        return {"submitted", "progressed", "passed"} <= {e["type"] for e in verified_events()}

    with PlatformPage.arrived:
        assert PlatformPage.arrived.wait_for(every_step_arrived, timeout=60), "webhooks missing"
        events = sorted(verified_events(), key=lambda event: event["sequence"])
    # One event per state change, numbered in the order they happened.
    assert [event["type"] for event in events] == ["submitted", "progressed", "passed"]
    passed = events[-1]
    assert passed["account"]["reference"] == "player-1001"
    assert (passed["kind"], passed["state"]) == ("personal", "passed")

    # The platform reads the outcome: by session, by its reference, by account.
    outcome = api.get(f"/sessions/{returned['session_id'][0]}").json()
    assert outcome["status"] == "completed"
    assert outcome["outcome"]["verified"] is True
    assert outcome["outcome"]["state"] == "passed"
    assert outcome["outcome"]["kind"] == "personal"
    assert outcome["outcome"]["provider"] == "sandbox"
    by_reference = api.get("/accounts/by-reference/player-1001").json()
    by_account = api.get(f"/accounts/{by_reference['account_id']}").json()
    assert by_reference == by_account == outcome["outcome"]
    assert by_account["account_id"] == passed["account"]["id"]
    for response in (outcome, by_reference):
        text = str(response)
        assert DEMO["name"] not in text
        assert DEMO["document_number"] not in text
        assert "13700137000" not in text
