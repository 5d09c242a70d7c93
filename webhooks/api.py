"""The host platform's webhook operations (scope ``webhooks:manage``): list, create and delete
its endpoints, rotate an endpoint's signing secret. A secret is in the response that makes it,
and never again. A client sees only its own endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import translation
from ninja import Field, Path, Router, Schema, Status

from hostapi.api import ApiKeyAuth, ApiProblem, Error, responses
from hostapi.models import ApiClient, Scope

from . import services
from .models import WebhookEndpoint

MAX_OVERLAP = 7 * 24 * 3600
#: The endpoint id in the document's examples (the schemathesis test creates it).
EXAMPLE_ENDPOINT_ID = uuid.UUID("3c9a7e15-2b4d-4f6a-8e1c-5d7f9b0a2c4e")
ENDPOINT_ID = Path(..., example=str(EXAMPLE_ENDPOINT_ID))


router = Router(auth=ApiKeyAuth(Scope.MANAGE_WEBHOOKS), tags=["webhooks"])


class EndpointOut(Schema):
    id: uuid.UUID
    url: str
    enabled: bool
    disabled_reason: str = Field(description="'' while enabled; 'failing' or 'staff'.")
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the previous secret signs too (a second v1 in the signature)."
    )
    created_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="The signing secret: shown in this response only.")


class EndpointIn(Schema):
    url: str = Field(
        max_length=1000,
        description="https:// URL that receives the events.",
        examples=["https://platform.example/hooks/realname"],
    )


class RotateIn(Schema):
    overlap_seconds: int | None = Field(
        default=None,
        ge=0,
        le=MAX_OVERLAP,
        description="How long the current secret still signs beside the new one "
        "(default: the server's WEBHOOKS_SECRET_OVERLAP; 0 ends it now).",
    )


class SecretOut(Schema):
    id: uuid.UUID
    secret: str = Field(description="The new signing secret: shown in this response only.")
    previous_secret_expires_at: datetime | None


def _client(request: HttpRequest) -> ApiClient:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _out(endpoint: WebhookEndpoint, **extra: object) -> dict[str, object]:
    return {
        "id": endpoint.public_id,
        "url": endpoint.url,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "previous_secret_expires_at": endpoint.previous_secret_expires_at,
        "created_at": endpoint.created_at,
        **extra,
    }


def _endpoint(request: HttpRequest, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(
        client=_client(request), public_id=endpoint_id
    ).first()
    if endpoint is None:
        raise ApiProblem(404, "not_found", "No such endpoint.")
    return endpoint


@router.get(
    "/endpoints",
    response=responses({200: list[EndpointOut]}),
    operation_id="webhook_endpoints_list",
)
def endpoints_list(request: HttpRequest) -> list[dict[str, object]]:
    endpoints = WebhookEndpoint.objects.filter(client=_client(request)).order_by("created_at")
    return [_out(endpoint) for endpoint in endpoints]


@router.post(
    "/endpoints",
    response=responses({201: EndpointCreated, 409: Error}),
    operation_id="webhook_endpoints_create",
    description="409 `endpoint_limit_reached` when the client has its "
    "`WEBHOOKS_MAX_ENDPOINTS_PER_CLIENT` endpoints (10) already: delete one first. 400 "
    "`invalid_endpoint` for a URL that is not https://, holds credentials, or whose host is or "
    "resolves to a private, loopback, link-local or otherwise non-public address.",
)
def endpoints_create(request: HttpRequest, data: EndpointIn) -> Status[object]:
    try:
        # In English whatever the caller's Accept-Language, as every answer of the API.
        with translation.override("en"):
            issued = services.endpoint_create(client=_client(request), url=data.url)
    except ValidationError as error:
        errors = [
            {"loc": ["body", "data", field], "msg": message, "type": "value_error"}
            for field, messages in error.message_dict.items()
            for message in messages
        ]
        return Status(
            400, {"code": "invalid_endpoint", "detail": "Invalid endpoint.", "errors": errors}
        )
    except services.EndpointLimitReached as limit:
        raise ApiProblem(
            409,
            "endpoint_limit_reached",
            f"This API client has {limit.limit} webhook endpoints, the most it may have: "
            "delete one before creating another.",
        ) from None
    return Status(201, _out(issued.endpoint, secret=issued.secret))


@router.delete(
    "/endpoints/{endpoint_id}",
    response=responses({204: None}),
    operation_id="webhook_endpoints_delete",
)
def endpoints_delete(request: HttpRequest, endpoint_id: uuid.UUID = ENDPOINT_ID) -> Status[None]:
    services.endpoint_delete(endpoint=_endpoint(request, endpoint_id))
    return Status(204, None)


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    response=responses({200: SecretOut}),
    operation_id="webhook_endpoints_rotate_secret",
)
def endpoints_rotate_secret(
    request: HttpRequest, data: RotateIn, endpoint_id: uuid.UUID = ENDPOINT_ID
) -> dict[str, object]:
    overlap = None if data.overlap_seconds is None else timedelta(seconds=data.overlap_seconds)
    issued = services.endpoint_rotate_secret(
        endpoint=_endpoint(request, endpoint_id), overlap=overlap
    )
    return {
        "id": issued.endpoint.public_id,
        "secret": issued.secret,
        "previous_secret_expires_at": issued.endpoint.previous_secret_expires_at,
    }
