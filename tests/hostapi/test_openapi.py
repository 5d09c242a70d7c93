"""The OpenAPI document: served at a stable URL, OpenAPI 3.1, and the checked-in copy
(docs/openapi.json) is what the site serves."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import Client

from hostapi.management.commands.openapi_document import DEFAULT_PATH

pytestmark = pytest.mark.django_db


def test_the_checked_in_document_is_the_served_one():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    served = response.json()
    assert served["openapi"].startswith("3.1")
    assert json.loads(DEFAULT_PATH.read_text(encoding="utf-8")) == served, (
        "docs/openapi.json is out of date: run manage.py openapi_document"
    )
    call_command("openapi_document", "--check")


def test_every_operation_declares_its_errors_and_needs_a_key():
    served = Client().get("/api/v1/openapi.json").json()
    operations = [op for item in served["paths"].values() for op in item.values()]
    assert {op["operationId"] for op in operations} == {
        "session_create",
        "session_read",
        "account_status_by_reference",
        "account_status",
        "webhook_endpoints_list",
        "webhook_endpoints_create",
        "webhook_endpoints_delete",
        "webhook_endpoints_rotate_secret",
    }
    for op in operations:
        assert {"400", "401", "403", "404", "429"} <= set(op["responses"]), op["operationId"]
        assert op["security"] == [{"ApiKeyAuth": []}]
    assert served["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
