"""schemathesis against the live test server (real Postgres, the served OpenAPI document):
every operation, positive and negative cases, no 5xx and no answer the document does not
declare. Deterministic (``deterministic``, a fixed seed) and modest in examples."""

from __future__ import annotations

import pytest
import schemathesis
import schemathesis.engine
from schemathesis.engine import Status, events

from hostapi.api import EXAMPLE_ACCOUNT_ID, EXAMPLE_REFERENCE, EXAMPLE_SESSION_ID
from hostapi.models import AccountLink, ApiCall, Scope, VerificationSession
from hostapi.services import api_client_create, session_create
from tests.factories import MemberFactory
from webhooks.api import EXAMPLE_ENDPOINT_ID
from webhooks.models import WebhookEndpoint
from webhooks.services import endpoint_create

from .conftest import RETURN_BASE, pass_verification

MAX_EXAMPLES = 10


@pytest.fixture
def api_schema(live_server, transactional_db, settings):
    settings.HOSTAPI_RATE_LIMIT = "100000/m"  # the generated calls are one client's
    settings.REALNAME_PUBLIC_URL = live_server.url
    client, issued = api_client_create(
        name="Fuzzer",
        scopes=[Scope.READ_STATUS, Scope.CREATE_SESSIONS, Scope.MANAGE_WEBHOOKS],
        return_urls=[RETURN_BASE],
    )
    # Something to find: a linked, verified account and a session.
    member = MemberFactory.create(public_id=EXAMPLE_ACCOUNT_ID)
    pass_verification(member)
    AccountLink.objects.create(client=client, reference=EXAMPLE_REFERENCE, user=member)
    session = session_create(
        client=client, reference=EXAMPLE_REFERENCE, return_url=RETURN_BASE, kind="personal"
    )
    VerificationSession.objects.filter(pk=session.pk).update(public_id=EXAMPLE_SESSION_ID)
    endpoint = endpoint_create(client=client, url="https://platform.example/hooks").endpoint
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(public_id=EXAMPLE_ENDPOINT_ID)

    config = schemathesis.Config.from_dict(
        {
            "seed": 19,
            "headers": {"Authorization": f"Bearer {issued.key}"},
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
            },
        }
    )
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json", config=config)

    @schema.hook
    def map_case(context, case):
        """The allow-list is the client's data, which no schema can state: a valid request
        names an allowed return URL (invalid ones stay as generated)."""
        meta = case.meta
        positive = meta is not None and meta.generation.mode.is_positive
        if (
            positive
            and case.operation.label == "POST /api/v1/sessions"
            and isinstance(case.body, dict)
        ):
            case.body["return_url"] = f"{RETURN_BASE}done"
        if (
            positive
            and case.operation.label == "POST /api/v1/webhooks/endpoints"
            and isinstance(case.body, dict)
        ):
            # Likewise the endpoint URL rules (https, no credentials) are the server's.
            case.body["url"] = "https://platform.example/hooks/realname"
        return case

    return schema


def problems_of(schema) -> tuple[list[str], set[str]]:
    """Run every phase (examples, coverage, fuzzing, stateful) as the CLI would; the failed
    checks and errors in words, and the operations that were exercised."""
    problems: list[str] = []
    operations: set[str] = set()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            if event.label and event.status != Status.SKIP:
                operations.add(event.label)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info:
                        failure = check.failure_info.failure
                        problems.append(
                            f"{event.label}: {check.name}: {failure.title} {failure.message} "
                            f"({check.failure_info.code_sample})"
                        )
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            problems.append(f"{type(event).__name__}: {event}")
    return problems, operations


def test_the_api_keeps_its_document(api_schema):
    problems, operations = problems_of(api_schema)
    assert problems == []
    assert operations == {
        "POST /api/v1/sessions",
        "GET /api/v1/sessions/{session_id}",
        "GET /api/v1/accounts/by-reference/{reference}",
        "GET /api/v1/accounts/{account_id}",
        "GET /api/v1/webhooks/endpoints",
        "POST /api/v1/webhooks/endpoints",
        "DELETE /api/v1/webhooks/endpoints/{endpoint_id}",
        "POST /api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret",
    }
    # Valid and invalid requests both reached each operation (the call log has them).
    calls = set(ApiCall.objects.values_list("operation", "status_code"))
    for operation in (
        "session_create",
        "session_read",
        "account_status",
        "account_status_by_reference",
        "webhook_endpoints_create",
    ):
        assert {code for name, code in calls if name == operation} & {200, 201}, operation
        assert {code for name, code in calls if name == operation} & {400, 404}, operation
    # The example endpoint is rotated or deleted (whichever comes first), unknown ids are not.
    for operation in ("webhook_endpoints_delete", "webhook_endpoints_rotate_secret"):
        assert {code for name, code in calls if name == operation} & {400, 404}, operation
    assert {code for name, code in calls if name.startswith("webhook_endpoints_")} & {200, 204}
