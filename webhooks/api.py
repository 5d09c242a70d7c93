"""The host platform's webhook operations (scope ``webhooks:manage``): list, create and delete
its endpoints, rotate an endpoint's signing secret. A secret is in the response that makes it,
and never again. A client sees only its own endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from ninja.security import HttpBearer

from hostapi.models import ApiClient, Scope
from hostapi.services import api_key_authenticate

from . import services
from .models import WebhookEndpoint

MAX_OVERLAP = 7 * 24 * 3600


class ManageWebhooksKey(HttpBearer):
    """``Authorization: Bearer <key>`` of an active client holding ``webhooks:manage``."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiClient | None:
        client = api_key_authenticate(token)
        if client is not None and not client.has_scope(Scope.MANAGE_WEBHOOKS):
            raise HttpError(403, "This key's client lacks the webhooks:manage scope.")
        return client


router = Router(auth=ManageWebhooksKey(), tags=["webhooks"])


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
    url: str = Field(max_length=1000, description="https:// URL that receives the events.")


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


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = Field(default_factory=dict)


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
        raise HttpError(404, "No such endpoint.")
    return endpoint


@router.get("/endpoints", response=list[EndpointOut], operation_id="webhook_endpoints_list")
def endpoints_list(request: HttpRequest) -> list[dict[str, object]]:
    endpoints = WebhookEndpoint.objects.filter(client=_client(request)).order_by("created_at")
    return [_out(endpoint) for endpoint in endpoints]


@router.post(
    "/endpoints",
    response={201: EndpointCreated, 400: ErrorOut},
    operation_id="webhook_endpoints_create",
)
def endpoints_create(request: HttpRequest, data: EndpointIn) -> tuple[int, object]:
    try:
        issued = services.endpoint_create(client=_client(request), url=data.url)
    except ValidationError as error:
        return 400, {"detail": "Invalid endpoint.", "errors": error.message_dict}
    return 201, _out(issued.endpoint, secret=issued.secret)


@router.delete(
    "/endpoints/{endpoint_id}",
    response={204: None, 404: ErrorOut},
    operation_id="webhook_endpoints_delete",
)
def endpoints_delete(request: HttpRequest, endpoint_id: uuid.UUID) -> tuple[int, None]:
    services.endpoint_delete(endpoint=_endpoint(request, endpoint_id))
    return 204, None


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    response={200: SecretOut, 404: ErrorOut},
    operation_id="webhook_endpoints_rotate_secret",
)
def endpoints_rotate_secret(
    request: HttpRequest, endpoint_id: uuid.UUID, data: RotateIn
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
