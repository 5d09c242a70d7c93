"""The sandbox identity provider service, over HTTP, as a vendor's integrator would test it.

Requests are signed here from the README's description, independently of our client's code, so
a mistake shared by both sides of ``sandbox.signing`` would still show."""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import CommandError, call_command
from stdnum.cn import uscc
from stdnum.iso7064 import mod_11_2

from sandbox.faults import Faults, InvalidRequest
from sandbox.registry import (
    DEMO_COMPANY_REGISTRY,
    DEMO_REGISTRY,
    DOCUMENT_TYPES,
    CompanyRegistry,
    Registry,
    RegistryError,
)
from tests.factories import DEMO, DEMO_BIRTH_DATE, DEMO_COMPANY
from tests.sandbox_harness import (
    InProcessSandbox,
    SandboxHandle,
    running_notification_receiver,
    running_sandbox_in_process,
)

KNOWN = {**DEMO, "birth_date": DEMO_BIRTH_DATE.isoformat()}
KNOWN_COMPANY = dict(DEMO_COMPANY)
# A valid check character, but no demo company holds it.
UNKNOWN_CREDIT_CODE = "91110108MA0000999J"
CHECK = "/api/v1/identity/check"
ENTERPRISE = "/api/v1/enterprise/check"
START = "/api/v1/liveness/start"
QUERY = "/api/v1/liveness/query"
RETURN_URL = "https://realname.example/verification/return?attempt=7"


def signature(secret: str, *parts: str) -> str:
    return hmac.new(secret.encode(), "\n".join(parts).encode(), hashlib.sha256).hexdigest()


def answer_signature(
    sandbox: SandboxHandle, request_headers: dict, response: httpx.Response
) -> str:
    """What the sandbox must sign an answer with: bound to the request's nonce and the body."""
    return signature(
        sandbox.secret,
        "200",
        request_headers["X-Sandbox-Nonce"],
        response.headers["X-Sandbox-Timestamp"],
        response.headers["X-Sandbox-Nonce"],
        hashlib.sha256(response.content).hexdigest(),
    )


def signed(
    sandbox: SandboxHandle,
    path: str,
    body: bytes,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
    app_id: str | None = None,
    secret: str | None = None,
) -> dict[str, str]:
    timestamp_text = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    digest = hashlib.sha256(body).hexdigest()
    return {
        "X-Sandbox-App-Id": sandbox.app_id if app_id is None else app_id,
        "X-Sandbox-Timestamp": timestamp_text,
        "X-Sandbox-Nonce": nonce,
        "X-Sandbox-Signature": signature(
            secret or sandbox.secret, "POST", path, timestamp_text, nonce, digest
        ),
        "Content-Type": "application/json",
    }


def call(
    sandbox: SandboxHandle,
    path: str,
    payload: dict[str, Any],
    *,
    timeout: float = 10,
    **signing: Any,
) -> httpx.Response:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = signed(sandbox, path, body, **signing)
    return httpx.post(sandbox.url + path, content=body, headers=headers, timeout=timeout)


def request_id() -> str:
    return f"svc-{secrets.token_hex(8)}"


def start_session(sandbox: SandboxHandle, notify_url: str, **identity: Any) -> dict[str, str]:
    payload = {
        "request_id": request_id(),
        **KNOWN,
        **identity,
        "return_url": RETURN_URL,
        "notify_url": notify_url,
    }
    response = call(sandbox, START, payload)
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def sandbox(sandbox_provider: SandboxHandle) -> Iterator[SandboxHandle]:
    yield sandbox_provider
    sandbox_provider.clear_faults()


# -- the demo registry ---------------------------------------------------------------------


def demo_rows() -> list[dict[str, str]]:
    with DEMO_REGISTRY.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_demo_registry_covers_every_document_type_with_valid_numbers() -> None:
    rows = demo_rows()
    assert {row["document_type"] for row in rows} == DOCUMENT_TYPES
    for row in rows:
        number = row["document_number"]
        if len(number) == 18:
            assert mod_11_2.is_valid(number), row["name"]
        if row["document_type"] == "hk_mo_travel_permit":
            assert re.fullmatch(r"[HM]\d{8}(\d{2})?", number)
        if row["document_type"] == "tw_travel_permit":
            assert re.fullmatch(r"\d{8}", number)
        if row["document_type"] == "foreign_permanent_resident_id":
            assert number.startswith("9")
            assert number[6:14] == row["birth_date"].replace("-", "")


def test_demo_registry_holds_exactly_one_minor() -> None:
    today = date.today()

    def age(born: date) -> int:
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    minors = [
        row
        for row in demo_rows()
        if row["birth_date"] and age(date.fromisoformat(row["birth_date"])) < 18
    ]
    assert [row["name"] for row in minors] == ["测试辛"]


def test_registry_error_names_the_line_not_its_content(tmp_path: Path) -> None:
    registry = tmp_path / "registry.csv"
    registry.write_text(
        "name,document_type,document_number,birth_date\n"
        "某人,cn_resident_id,110101199003079016,not-a-date\n",
        encoding="utf-8",
    )
    with pytest.raises(RegistryError) as raised:
        Registry.from_csv(registry)
    assert "line 2" in str(raised.value)
    assert "某人" not in str(raised.value)
    assert "110101199003079016" not in str(raised.value)


def demo_company_rows() -> list[dict[str, str]]:
    with DEMO_COMPANY_REGISTRY.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_demo_company_registry_holds_fictional_companies_with_valid_credit_codes() -> None:
    rows = demo_company_rows()
    assert len(rows) >= 4
    assert KNOWN_COMPANY in rows
    for row in rows:
        assert uscc.validate(row["credit_code"]) == row["credit_code"]
        assert row["legal_representative"]
    assert any("（" in row["company_name"] for row in rows)  # for the parentheses rule
    assert uscc.is_valid(UNKNOWN_CREDIT_CODE)
    assert UNKNOWN_CREDIT_CODE not in {row["credit_code"] for row in rows}


def write_company_registry(path: Path, *rows: str) -> Path:
    path.write_text("company_name,credit_code,legal_representative\n" + "".join(rows))
    return path


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("某某有限公司,91110108MA0000901H,某人\n", "credit_code is not a valid"),
        ("某某有限公司,,某人\n", "are required"),
        ("某某有限公司,91110108MA0000901G,\n", "are required"),
        (
            "某某有限公司,91110108MA0000901G,某人\n其他有限公司,91110108ma0000901g,他人\n",
            "appears twice",
        ),
    ],
    ids=["check-character", "no-code", "no-representative", "duplicate"],
)
def test_company_registry_error_names_the_line_not_its_content(
    tmp_path: Path, row: str, problem: str
) -> None:
    registry = write_company_registry(tmp_path / "companies.csv", row)
    with pytest.raises(RegistryError) as raised:
        CompanyRegistry.from_csv(registry)
    message = str(raised.value)
    assert problem in message
    assert "line " in message
    assert "某某" not in message and "某人" not in message and "91110108" not in message


def test_company_registry_with_the_wrong_columns_is_refused(tmp_path: Path) -> None:
    registry = tmp_path / "companies.csv"
    registry.write_text("name,credit_code\n某某有限公司,91110108MA0000901G\n")
    with pytest.raises(RegistryError, match="company_name,credit_code,legal_representative"):
        CompanyRegistry.from_csv(registry)


# -- signed requests -----------------------------------------------------------------------


def test_healthz_needs_no_signature(sandbox: SandboxHandle) -> None:
    response = httpx.get(sandbox.url + "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("row", demo_rows(), ids=lambda row: row["document_type"])
def test_every_demo_identity_passes(sandbox: SandboxHandle, row: dict[str, str]) -> None:
    payload = {"request_id": request_id(), **row, "birth_date": row["birth_date"] or None}
    response = call(sandbox, CHECK, payload)
    assert response.status_code == 200
    assert response.json()["result"] == "pass"
    assert response.json()["reason"] == "ok"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"name": "测试乙"}, "name_number_mismatch"),
        ({"document_number": "110101199001019992"}, "no_such_record"),
        ({"document_type": "tw_residence_permit"}, "no_such_record"),
        ({"birth_date": "1990-03-08"}, "birth_date_mismatch"),
    ],
)
def test_identity_check_failures(
    sandbox: SandboxHandle, change: dict[str, str], reason: str
) -> None:
    response = call(sandbox, CHECK, {"request_id": request_id(), **KNOWN, **change})
    assert response.status_code == 200
    assert response.json()["result"] == "fail"
    assert response.json()["reason"] == reason


def test_identity_check_without_birth_date_is_decided_by_name_and_number(
    sandbox: SandboxHandle,
) -> None:
    response = call(sandbox, CHECK, {"request_id": request_id(), **KNOWN, "birth_date": None})
    assert response.json()["result"] == "pass"


def test_answer_is_signed_and_bound_to_the_request(sandbox: SandboxHandle) -> None:
    body = json.dumps({"request_id": request_id(), **KNOWN}).encode()
    headers = signed(sandbox, CHECK, body)
    response = httpx.post(sandbox.url + CHECK, content=body, headers=headers)
    assert response.headers["X-Sandbox-Signature"] == answer_signature(sandbox, headers, response)


def test_same_request_id_gives_the_stored_answer(sandbox: SandboxHandle) -> None:
    payload = {"request_id": request_id(), **KNOWN}
    first = call(sandbox, CHECK, payload)
    again = call(sandbox, CHECK, payload)
    assert again.json() == first.json()
    reused = call(sandbox, CHECK, {**payload, "name": "测试乙"})
    assert reused.status_code == 409
    assert reused.json() == {"error": "request_id_reused"}


def test_wrong_signature_is_refused(sandbox: SandboxHandle) -> None:
    response = call(sandbox, CHECK, {"request_id": request_id(), **KNOWN}, secret="wrong")
    assert response.status_code == 401
    assert response.json() == {"error": "bad_signature"}


def test_body_changed_after_signing_is_refused(sandbox: SandboxHandle) -> None:
    body = json.dumps({"request_id": request_id(), **KNOWN}, ensure_ascii=False).encode()
    headers = signed(sandbox, CHECK, body)
    tampered = body.replace("测试甲".encode(), "测试乙".encode())
    assert tampered != body
    response = httpx.post(sandbox.url + CHECK, content=tampered, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "bad_signature"}


def test_short_nonce_is_refused(sandbox: SandboxHandle) -> None:
    response = call(sandbox, CHECK, {"request_id": request_id(), **KNOWN}, nonce="abc123")
    assert response.status_code == 401
    assert response.json() == {"error": "bad_signature"}


def test_unknown_app_is_refused(sandbox: SandboxHandle) -> None:
    response = call(sandbox, CHECK, {"request_id": request_id(), **KNOWN}, app_id="stranger")
    assert response.status_code == 401
    assert response.json() == {"error": "unknown_app"}


@pytest.mark.parametrize("offset", [-310, 310])
def test_stale_timestamp_is_refused(sandbox: SandboxHandle, offset: int) -> None:
    payload = {"request_id": request_id(), **KNOWN}
    response = call(sandbox, CHECK, payload, timestamp=int(time.time()) + offset)
    assert response.status_code == 401
    assert response.json() == {"error": "stale_timestamp"}


def test_replayed_nonce_is_refused(sandbox: SandboxHandle) -> None:
    body = json.dumps({"request_id": request_id(), **KNOWN}).encode()
    headers = signed(sandbox, CHECK, body)
    assert httpx.post(sandbox.url + CHECK, content=body, headers=headers).status_code == 200
    replay = httpx.post(sandbox.url + CHECK, content=body, headers=headers)
    assert replay.status_code == 401
    assert replay.json() == {"error": "replayed_nonce"}


def test_malformed_request_names_the_field(sandbox: SandboxHandle) -> None:
    payload = {"request_id": request_id(), **KNOWN, "document_type": "passport"}
    response = call(sandbox, CHECK, payload)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "field": "document_type"}


def test_access_log_holds_method_path_and_status_only(sandbox: SandboxHandle) -> None:
    assert sandbox.log_path is not None
    call(sandbox, CHECK, {"request_id": request_id(), **KNOWN})
    httpx.get(sandbox.url + "/healthz?name=测试甲&number=110101199003079016")
    # Each request is logged by its own server thread once answered: wait for both lines.
    expected = ("POST /api/v1/identity/check 200", "GET /healthz 200")
    deadline = time.monotonic() + 10
    log = ""
    while not all(line in log for line in expected) and time.monotonic() < deadline:
        time.sleep(0.05)
        log = sandbox.log_path.read_text(encoding="utf-8", errors="replace")
    assert "POST /api/v1/identity/check 200" in log
    assert "GET /healthz 200" in log
    assert "测试甲" not in log
    assert "110101199003079016" not in log
    assert "name=" not in log


# -- enterprise checks ---------------------------------------------------------------------


@pytest.mark.parametrize("row", demo_company_rows(), ids=lambda row: row["credit_code"])
def test_every_demo_company_passes(sandbox: SandboxHandle, row: dict[str, str]) -> None:
    response = call(sandbox, ENTERPRISE, {"request_id": request_id(), **row})
    assert response.status_code == 200
    assert response.json()["result"] == "pass"
    assert response.json()["reason"] == "ok"
    assert response.json()["ref"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"company_name": "沙箱演示（北京）信息服务有限公司"}, "company_mismatch"),
        ({"company_name": "沙箱演示科技公司"}, "company_mismatch"),
        ({"legal_representative": "测试乙"}, "legal_representative_mismatch"),
        ({"credit_code": UNKNOWN_CREDIT_CODE}, "no_such_company"),
        # The code decides the record before anything else is compared.
        ({"credit_code": UNKNOWN_CREDIT_CODE, "company_name": "别的公司"}, "no_such_company"),
        ({"company_name": "别的公司", "legal_representative": "测试乙"}, "company_mismatch"),
    ],
)
def test_enterprise_check_failures(
    sandbox: SandboxHandle, change: dict[str, str], reason: str
) -> None:
    payload = {"request_id": request_id(), **KNOWN_COMPANY, **change}
    response = call(sandbox, ENTERPRISE, payload)
    assert response.status_code == 200
    assert response.json()["result"] == "fail"
    assert response.json()["reason"] == reason


BEIJING_COMPANY = {
    "company_name": "沙箱演示（北京）信息服务有限公司",
    "credit_code": "91110108MA0000902K",
    "legal_representative": "测试乙",
}


@pytest.mark.parametrize(
    "payload",
    [
        {**KNOWN_COMPANY, "credit_code": "91110108ma0000901g"},
        {**KNOWN_COMPANY, "company_name": " 沙箱演示科技有限公司　"},
        {**BEIJING_COMPANY, "company_name": "沙箱演示(北京)信息服务有限公司"},
        {**BEIJING_COMPANY, "company_name": "沙箱演示（北京)信息服务有限公司"},
    ],
    ids=["lower-case-code", "surrounding-spaces", "half-width-parentheses", "mixed-parentheses"],
)
def test_enterprise_check_ignores_case_of_the_code_spacing_and_width_of_parentheses(
    sandbox: SandboxHandle, payload: dict[str, str]
) -> None:
    response = call(sandbox, ENTERPRISE, {"request_id": request_id(), **payload})
    assert response.json()["result"] == "pass"


def test_enterprise_check_same_request_id_gives_the_stored_answer(sandbox: SandboxHandle) -> None:
    payload = {"request_id": request_id(), **KNOWN_COMPANY}
    first = call(sandbox, ENTERPRISE, payload)
    again = call(sandbox, ENTERPRISE, payload)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    reused = call(sandbox, ENTERPRISE, {**payload, "legal_representative": "测试乙"})
    assert reused.status_code == 409
    assert reused.json() == {"error": "request_id_reused"}


def test_enterprise_check_needs_a_valid_signature(sandbox: SandboxHandle) -> None:
    payload = {"request_id": request_id(), **KNOWN_COMPANY}
    wrong = call(sandbox, ENTERPRISE, payload, secret="wrong")
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "bad_signature"}
    unsigned = httpx.post(sandbox.url + ENTERPRISE, json=payload, timeout=10)
    assert unsigned.status_code == 401
    assert unsigned.json() == {"error": "unknown_app"}  # no headers at all: no app id either
    # A refused request is not remembered: the id still gets a genuine answer.
    assert call(sandbox, ENTERPRISE, payload).json()["result"] == "pass"


def test_enterprise_answer_is_signed_and_bound_to_the_request(sandbox: SandboxHandle) -> None:
    body = json.dumps({"request_id": request_id(), **KNOWN_COMPANY}).encode()
    headers = signed(sandbox, ENTERPRISE, body)
    response = httpx.post(sandbox.url + ENTERPRISE, content=body, headers=headers)
    assert response.status_code == 200
    assert response.headers["X-Sandbox-Signature"] == answer_signature(sandbox, headers, response)


def test_malformed_enterprise_request_names_the_field(sandbox: SandboxHandle) -> None:
    payload = {"request_id": request_id(), **KNOWN_COMPANY, "legal_representative": ""}
    response = call(sandbox, ENTERPRISE, payload)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "field": "legal_representative"}


def test_enterprise_check_is_subject_to_faults(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(fail_next=1)
    payload = {"request_id": request_id(), **KNOWN_COMPANY}
    failed = call(sandbox, ENTERPRISE, payload)
    assert failed.status_code == 503
    assert failed.json() == {"error": "unavailable"}
    assert call(sandbox, ENTERPRISE, payload).json()["result"] == "pass"


def test_enterprise_check_answers_from_a_custom_company_registry(tmp_path: Path) -> None:
    registry = write_company_registry(
        tmp_path / "companies.csv", "自备样例（上海）有限公司,91310115MA0000904B,自备代表\n"
    )
    with running_sandbox_in_process(company_registry=registry) as sandbox:
        own = {
            "company_name": "自备样例(上海)有限公司",
            "credit_code": "91310115MA0000904B",
            "legal_representative": "自备代表",
        }
        passed = call(sandbox, ENTERPRISE, {"request_id": request_id(), **own})
        renamed = call(
            sandbox,
            ENTERPRISE,
            {"request_id": request_id(), **own, "company_name": "沙箱示范制造有限公司"},
        )
        demo = call(sandbox, ENTERPRISE, {"request_id": request_id(), **KNOWN_COMPANY})
    assert passed.json()["result"] == "pass"
    # The custom file replaces the demo registry; it does not add to it.
    assert renamed.json()["reason"] == "company_mismatch"
    assert demo.json()["reason"] == "no_such_company"


# -- face sessions -------------------------------------------------------------------------


def test_face_page_shows_the_masked_name_and_two_buttons(sandbox: SandboxHandle) -> None:
    session = start_session(sandbox, "http://127.0.0.1:9/notify")
    assert session["url"] == f"{sandbox.url}/face/{session['ref']}"
    page = httpx.get(session["url"])
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert '<html lang="zh-Hans">' in html
    assert "沙箱人脸核验 / Sandbox face check" in html
    assert "测**" in html
    assert "测试甲" not in html
    assert KNOWN["document_number"] not in html
    assert KNOWN["birth_date"] not in html
    assert html.count(f'<form method="post" action="/face/{session["ref"]}">') == 2
    assert 'name="outcome" value="pass" id="sandbox-pass"' in html
    assert 'name="outcome" value="fail" id="sandbox-fail"' in html
    assert "<script" not in html
    assert "http" not in html.split("<body>")[1]  # nothing loaded from elsewhere
    assert "script-src" not in page.headers["Content-Security-Policy"]


def test_face_outcome_is_recorded_once_and_the_browser_goes_back(sandbox: SandboxHandle) -> None:
    session = start_session(sandbox, "http://127.0.0.1:9/notify")
    assert call(sandbox, QUERY, {"ref": session["ref"]}).json() == {
        "status": "pending",
        "reason": None,
    }
    pressed = httpx.post(session["url"], data={"outcome": "pass"})
    assert pressed.status_code == 303
    assert pressed.headers["Location"] == RETURN_URL
    again = httpx.post(session["url"], data={"outcome": "fail"})
    assert again.status_code == 303
    assert call(sandbox, QUERY, {"ref": session["ref"]}).json() == {
        "status": "pass",
        "reason": "ok",
    }
    finished = httpx.get(session["url"])
    assert finished.status_code == 200
    assert 'id="sandbox-pass"' not in finished.text


def test_face_page_refuses_other_outcomes(sandbox: SandboxHandle) -> None:
    session = start_session(sandbox, "http://127.0.0.1:9/notify")
    response = httpx.post(session["url"], data={"outcome": "maybe"})
    assert response.status_code == 400
    assert call(sandbox, QUERY, {"ref": session["ref"]}).json()["status"] == "pending"


def test_liveness_start_is_idempotent(sandbox: SandboxHandle) -> None:
    payload = {
        "request_id": request_id(),
        **KNOWN,
        "return_url": RETURN_URL,
        "notify_url": "http://127.0.0.1:9/notify",
    }
    assert call(sandbox, START, payload).json() == call(sandbox, START, payload).json()


def test_unknown_session(sandbox: SandboxHandle) -> None:
    assert httpx.get(sandbox.url + "/face/lv_nobody").status_code == 404
    response = call(sandbox, QUERY, {"ref": "lv_nobody"})
    assert response.status_code == 404
    assert response.json() == {"error": "unknown_ref"}


def test_notification_arrives_signed(sandbox: SandboxHandle) -> None:
    with running_notification_receiver() as receiver:
        session = start_session(sandbox, receiver.url)
        httpx.post(session["url"], data={"outcome": "fail"})
        notification = receiver.wait()
    assert notification.path == "/verification/notify/"
    assert json.loads(notification.body) == {"ref": session["ref"], "status": "fail"}
    headers = {name.lower(): value for name, value in notification.headers.items()}
    assert headers["x-sandbox-app-id"] == sandbox.app_id
    assert abs(int(headers["x-sandbox-timestamp"]) - time.time()) < 300
    expected = signature(
        sandbox.secret,
        "POST",
        "notify",
        headers["x-sandbox-timestamp"],
        headers["x-sandbox-nonce"],
        hashlib.sha256(notification.body).hexdigest(),
    )
    assert headers["x-sandbox-signature"] == expected


def test_notification_is_retried_until_accepted(sandbox_in_process: InProcessSandbox) -> None:
    with running_notification_receiver(fail_first=2) as receiver:
        session = start_session(sandbox_in_process, receiver.url)
        httpx.post(session["url"], data={"outcome": "pass"})
        attempts = [receiver.wait() for _ in range(3)]
    assert {json.loads(a.body)["ref"] for a in attempts} == {session["ref"]}
    nonces = {dict(a.headers)["X-Sandbox-Nonce"] for a in attempts}
    assert len(nonces) == 3  # each attempt is signed afresh, so none looks like a replay


def test_session_expires_after_fifteen_minutes(sandbox_in_process: InProcessSandbox) -> None:
    session = start_session(sandbox_in_process, "http://127.0.0.1:9/notify")
    sandbox_in_process.clock.advance(14 * 60)
    assert call(sandbox_in_process, QUERY, {"ref": session["ref"]}).json()["status"] == "pending"
    sandbox_in_process.clock.advance(60 + 1)
    assert call(sandbox_in_process, QUERY, {"ref": session["ref"]}).json() == {
        "status": "expired",
        "reason": "liveness_expired",
    }
    page = httpx.get(session["url"])
    assert page.status_code == 410
    assert "过期" in page.text and "expired" in page.text
    pressed = httpx.post(session["url"], data={"outcome": "pass"})
    assert pressed.status_code == 410
    assert call(sandbox_in_process, QUERY, {"ref": session["ref"]}).json()["status"] == "expired"


def test_finished_session_does_not_expire(sandbox_in_process: InProcessSandbox) -> None:
    session = start_session(sandbox_in_process, "http://127.0.0.1:9/notify")
    httpx.post(session["url"], data={"outcome": "pass"})
    sandbox_in_process.clock.advance(60 * 60)
    assert call(sandbox_in_process, QUERY, {"ref": session["ref"]}).json()["status"] == "pass"


# -- faults --------------------------------------------------------------------------------


def test_fail_next_answers_503_that_many_times(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(fail_next=2)
    assert sandbox.faults()["fail_next"] == 2
    payload = {"request_id": request_id(), **KNOWN}
    statuses = [call(sandbox, CHECK, payload).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert sandbox.faults()["fail_next"] == 0


def test_error_rate_one_answers_every_call_503(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(error_rate=1)
    response = call(sandbox, CHECK, {"request_id": request_id(), **KNOWN})
    assert response.status_code == 503
    assert response.json() == {"error": "unavailable"}
    # Only the API is affected: the health check and the face page still answer.
    assert httpx.get(sandbox.url + "/healthz").status_code == 200


def test_timeout_rate_one_makes_every_call_hang(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(timeout_rate=1, hang_seconds=3)
    with pytest.raises(httpx.ReadTimeout):
        call(sandbox, CHECK, {"request_id": request_id(), **KNOWN}, timeout=0.5)


def test_faults_can_be_cleared(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(error_rate=1, latency_ms=5)
    sandbox.clear_faults()
    assert call(sandbox, CHECK, {"request_id": request_id(), **KNOWN}).status_code == 200
    assert sandbox.faults()["error_rate"] == 0


def test_faults_need_a_signature_and_sane_values(sandbox: SandboxHandle) -> None:
    unsigned = httpx.post(sandbox.url + "/_faults", json={"error_rate": 1})
    assert unsigned.status_code == 401
    out_of_range = call(sandbox, "/_faults", {"error_rate": 2})
    assert out_of_range.status_code == 400
    assert out_of_range.json() == {"error": "invalid_request", "field": "error_rate"}
    assert sandbox.faults()["error_rate"] == 0


def test_initial_faults_come_from_the_environment() -> None:
    faults = Faults.from_environ(
        {
            "SANDBOX_PROVIDER_LATENCY_MS": "250",
            "SANDBOX_PROVIDER_ERROR_RATE": "0.1",
            "SANDBOX_PROVIDER_TIMEOUT_RATE": "0.05",
            "SANDBOX_PROVIDER_HANG_SECONDS": "12",
        }
    )
    assert faults == Faults(latency_ms=250, error_rate=0.1, timeout_rate=0.05, hang_seconds=12)
    with pytest.raises(InvalidRequest):
        Faults.from_environ({"SANDBOX_PROVIDER_ERROR_RATE": "1.5"})


# -- the command ---------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["option", "environment", "setting"])
def test_command_reads_the_company_registry_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any, source: str
) -> None:
    """An unusable file stops the command before it listens, naming the file it was given."""
    registry = write_company_registry(tmp_path / "companies.csv", "某某有限公司,123,某人\n")
    monkeypatch.delenv("SANDBOX_PROVIDER_COMPANY_REGISTRY", raising=False)
    settings.SANDBOX_PROVIDER_COMPANY_REGISTRY = ""
    options = ["--secret", "s3cret", "--port", "0"]
    if source == "option":
        options += ["--company-registry", str(registry)]
    elif source == "environment":
        monkeypatch.setenv("SANDBOX_PROVIDER_COMPANY_REGISTRY", str(registry))
    else:
        settings.SANDBOX_PROVIDER_COMPANY_REGISTRY = str(registry)
    with pytest.raises(CommandError, match=re.escape(f"{registry}, line 2: credit_code")):
        call_command("run_sandbox_provider", *options)


def test_command_refuses_to_start_without_a_secret(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    monkeypatch.delenv("SANDBOX_PROVIDER_SECRET", raising=False)
    settings.SANDBOX_PROVIDER_SECRET = ""
    with pytest.raises(CommandError, match="SANDBOX_PROVIDER_SECRET"):
        call_command("run_sandbox_provider", "--port", "0")
