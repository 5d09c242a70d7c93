from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from hostapi.models import ApiClient, Scope
from hostapi.services import api_client_create
from tests.factories import PersonalVerificationFactory

RETURN_BASE = "https://platform.example/realname/"
ALL_SCOPES: list[str] = [Scope.READ_STATUS, Scope.CREATE_SESSIONS]


@dataclass
class Platform:
    """An API client as the platform holds it: its record, its key and an HTTP client sending
    the key."""

    client: ApiClient
    key: str
    http: Client

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.http.get(f"/api/v1{path}", headers=self.headers, **kwargs)

    def post(self, path: str, data: dict[str, Any]) -> Any:
        return self.http.post(
            f"/api/v1{path}", data=data, content_type="application/json", headers=self.headers
        )

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.key}"}

    def create_session(self, reference: str = "user-1", **overrides: Any) -> Any:
        return self.post(
            "/sessions",
            {"reference": reference, "return_url": f"{RETURN_BASE}done", **overrides},
        )


@pytest.fixture
def make_platform(db) -> Callable[..., Platform]:
    def make(
        name: str = "Game server",
        scopes: list[str] | None = None,
        return_urls: list[str] | None = None,
    ) -> Platform:
        client, issued = api_client_create(
            name=name,
            scopes=ALL_SCOPES if scopes is None else scopes,
            return_urls=[RETURN_BASE] if return_urls is None else return_urls,
        )
        return Platform(client=client, key=issued.key, http=Client())

    return make


@pytest.fixture
def platform(make_platform) -> Platform:
    return make_platform()


def pass_verification(user: User) -> Any:
    """A passed personal verification of the demo identity, written as a row."""
    now = timezone.now()
    return PersonalVerificationFactory.create(
        user=user,
        status="passed",
        reason_code="ok",
        provider="sandbox",
        completed_at=now,
        identity_checked_at=now,
        liveness_started_at=now,
    )
