"""The host platform API (django-ninja): verification sessions and the status of linked
accounts. ``realname.api`` mounts ``router`` on the project's NinjaAPI and calls
:func:`api_setup` on it (error bodies, the call log); docs/api.md describes the API.

Every operation authenticates with ``Authorization: Bearer <key>`` (:class:`ApiKeyAuth`), is
rate-limited per client and recorded in the call log; a client only ever sees its own sessions
and the accounts linked to it, and any other id answers 404, as an unknown one does."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from ninja import Field, NinjaAPI, Path, Router, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from kernel.public import public_url
from kernel.ratelimit import consume_for

from . import selectors, services
from .app_settings import app_settings
from .models import AccountLink, ApiClient, Scope, VerificationSession

#: Ids in the document's examples (the schemathesis test finds them). A parameter's example is
#: given as ``example``: ninja copies a list of ``examples`` to the parameter, where OpenAPI 3.1
#: wants a map.
EXAMPLE_SESSION_ID = uuid.UUID("5f0c6a52-9a1e-4f4e-8d43-0d5d2b4f1c19")
EXAMPLE_ACCOUNT_ID = uuid.UUID("0b8f3c1e-6a7d-4e2b-9c5f-1d2e3f4a5b6c")
EXAMPLE_REFERENCE = "user-1"

#: An opaque user id of the platform: no e-mail addresses or phone numbers (personal data).
REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


# --- errors --------------------------------------------------------------------------------------


class Error(Schema):
    """Every error answer: a stable ``code`` to act on and a ``detail`` to read."""

    code: str = Field(examples=["not_found"])
    detail: str


class FieldError(Schema):
    loc: list[str | int]
    msg: str
    type: str


class InvalidRequest(Error):
    errors: list[FieldError] = Field(default_factory=list)


class ApiProblem(Exception):
    """An error answer from a view or the authentication: status, code, detail, headers."""

    def __init__(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.headers = headers or {}


#: The error answers every operation may give (declared in the OpenAPI document).
COMMON_ERRORS: dict[int, type[Schema]] = {
    400: InvalidRequest,
    401: Error,
    403: Error,
    404: Error,
    429: Error,
}


def responses(ok: dict[int, Any]) -> dict[int, Any]:
    return {**ok, **COMMON_ERRORS}


def api_setup(api: NinjaAPI) -> None:
    """Error bodies of one shape (``Error``) and the call log, for every router on ``api``."""

    def problem(request: HttpRequest, exc: ApiProblem) -> HttpResponse:
        response = api.create_response(
            request, {"code": exc.code, "detail": exc.detail}, status=exc.status
        )
        for name, value in exc.headers.items():
            response[name] = value
        return response

    def unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
        return problem(
            request,
            ApiProblem(
                401,
                "unauthorized",
                "Missing, unknown, expired or revoked API key: send "
                "'Authorization: Bearer <key>' with an active key.",
                {"WWW-Authenticate": 'Bearer realm="realname"'},
            ),
        )

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        codes = {400: "invalid_request", 403: "forbidden", 404: "not_found", 429: "rate_limited"}
        return problem(
            request, ApiProblem(exc.status_code, codes.get(exc.status_code, "error"), str(exc))
        )

    def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        return problem(request, ApiProblem(404, "not_found", "Not found."))

    def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = [
            {
                "loc": [str(part) if not isinstance(part, int) else part for part in e["loc"]],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors
        ]
        response = api.create_response(
            request,
            {
                "code": "invalid_request",
                "detail": "The request does not match the API's schema: see errors.",
                "errors": errors,
            },
            status=400,
        )
        return response

    api.exception_handler(ApiProblem)(problem)
    api.exception_handler(AuthenticationError)(unauthenticated)
    api.exception_handler(HttpError)(http_error)
    api.exception_handler(Http404)(not_found)
    api.exception_handler(ValidationError)(invalid)
    api.add_decorator(record_calls, mode="view")


def record_calls(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap an operation: once it answered, one row in the call log for the client that was
    authenticated (a call with no valid key has no client to record)."""
    operation = getattr(run, "__self__", None)

    @functools.wraps(run)
    def recorded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        status = 500
        try:
            response = run(request, *args, **kwargs)
            status = response.status_code
            return response
        finally:
            client = getattr(request, "api_client", None)
            if client is not None:
                name = (
                    getattr(operation, "operation_id", None)
                    or getattr(request.resolver_match, "url_name", None)
                    or "unknown"
                )
                services.api_call_record(
                    client=client,
                    operation=name,
                    method=request.method or "",
                    status_code=status,
                )

    return recorded


# --- authentication ------------------------------------------------------------------------------


class ApiKeyAuth(HttpBearer):
    """``Authorization: Bearer <key>``: the key's active client, counted against the rate
    limit, with the scope the operation needs (401, 429, 403 otherwise)."""

    def __init__(self, scope: Scope) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiClient | None:
        client = services.api_key_authenticate(token)
        if client is None:
            return None
        request.api_client = client  # type: ignore[attr-defined]  # for the call log
        wait = consume_for("hostapi", str(client.pk), app_settings.RATE_LIMIT)
        if wait:
            raise ApiProblem(
                429,
                "rate_limited",
                f"Too many calls: this client may make {app_settings.RATE_LIMIT}. "
                f"Retry after {wait} s.",
                {"Retry-After": str(wait)},
            )
        if not client.has_scope(self.scope):
            raise ApiProblem(
                403,
                "missing_scope",
                f"This API client lacks the scope '{self.scope.value}' this operation needs.",
            )
        return client


def _client(request: HttpRequest) -> ApiClient:
    client = request.auth  # type: ignore[attr-defined]
    assert isinstance(client, ApiClient)  # noqa: S101 - guaranteed by ApiKeyAuth
    return client


# --- schemas -------------------------------------------------------------------------------------

State = Literal[
    "none",
    "erased",
    # personal verification
    "submitted",
    "in_progress",
    "passed",
    "failed",
    "error",
    # enterprise verification
    "pending_review",
    "approved",
    "rejected",
]


class AccountStatusOut(Schema):
    """Where the account's verification stands: never a name, number, birth date, phone or
    licence."""

    account_id: uuid.UUID = Field(description="The realname account's public id.")
    reference: str = Field(description="The platform's own user reference, as linked.")
    verified: bool
    kind: Literal["personal", "enterprise"] | None
    document_type: str | None = Field(
        description="cn_resident_id, tw_travel_permit or tw_residence_permit; business_licence for "
        "an enterprise."
    )
    provider: str | None = Field(description="The identity provider that checked it.")
    verified_at: datetime | None
    state: State = Field(
        description="The verification's status; none before any, erased once the account "
        "was closed."
    )
    reason_code: str | None = Field(description="Why it failed or stopped (docs/api.md).")


class SessionIn(Schema):
    reference: str = Field(
        pattern=REFERENCE_PATTERN,
        examples=[EXAMPLE_REFERENCE],
        description="The platform's opaque user id (letters, digits, . _ : -; at most 128).",
    )
    return_url: str = Field(
        max_length=1000,
        examples=["https://platform.example/realname/done"],
        description="Where the person is sent back: on the allow-list.",
    )
    kind: Literal["personal", "enterprise"] = "personal"


class SessionOut(Schema):
    id: uuid.UUID
    url: str = Field(description="Send the person here.")
    status: Literal["created", "opened", "completed", "expired"]
    kind: Literal["personal", "enterprise"]
    reference: str
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None
    outcome: AccountStatusOut | None = Field(
        description="The linked account's status, once the person took the session."
    )


def _account_out(*, reference: str, user: Any) -> dict[str, Any]:
    return {
        "account_id": user.public_id,
        "reference": reference,
        **selectors.account_status(user=user).as_dict(),
    }


def _linked_status(link: AccountLink | None) -> dict[str, Any]:
    """The status of the account a link of the calling client names; 404 when there is none
    (a client cannot probe accounts not linked to it)."""
    if link is None:
        raise Http404
    return _account_out(reference=link.reference, user=link.user)


def _session_out(session: VerificationSession) -> dict[str, Any]:
    return {
        "id": session.public_id,
        "url": public_url(reverse("hostapi:session", args=[session.public_id])),
        "status": session.effective_status(),
        "kind": session.kind,
        "reference": session.reference,
        "created_at": session.created_at,
        "expires_at": session.expires_at,
        "completed_at": session.completed_at,
        "outcome": _account_out(reference=session.reference, user=session.user)
        if session.user is not None
        else None,
    }


# --- operations ----------------------------------------------------------------------------------

router = Router(tags=["verification"])


@router.post(
    "/sessions",
    auth=ApiKeyAuth(Scope.CREATE_SESSIONS),
    response=responses({201: SessionOut}),
    operation_id="session_create",
    summary="Create a verification session",
)
def session_create(request: HttpRequest, body: SessionIn) -> Status[dict[str, Any]]:
    """Send the person to ``url``; they come back to ``return_url?session_id=<id>``."""
    try:
        # The API answers in English whatever the caller's Accept-Language: its texts are for
        # the platform's developers and logs, and stay the same in every deployment.
        with translation.override("en"):
            session = services.session_create(
                client=_client(request),
                reference=body.reference,
                return_url=body.return_url,
                kind=body.kind,
            )
    except DjangoValidationError as error:
        raise ApiProblem(400, error.code or "invalid_request", error.messages[0]) from None
    return Status(201, _session_out(session))


@router.get(
    "/sessions/{session_id}",
    auth=ApiKeyAuth(Scope.CREATE_SESSIONS),
    response=responses({200: SessionOut}),
    operation_id="session_read",
    summary="Read a verification session and its outcome",
)
def session_read(
    request: HttpRequest,
    session_id: uuid.UUID = Path(..., example=str(EXAMPLE_SESSION_ID)),  # noqa: B008
) -> dict[str, Any]:
    session = selectors.session_of(client=_client(request), public_id=session_id)
    if session is None:
        raise Http404
    return _session_out(session)


@router.get(
    "/accounts/by-reference/{reference}",
    auth=ApiKeyAuth(Scope.READ_STATUS),
    response=responses({200: AccountStatusOut}),
    operation_id="account_status_by_reference",
    summary="Status of the account linked to a platform user reference",
)
def account_by_reference(
    request: HttpRequest,
    reference: str = Path(..., example=str(EXAMPLE_REFERENCE)),
) -> dict[str, Any]:
    return _linked_status(selectors.account_link(client=_client(request), reference=reference))


@router.get(
    "/accounts/{account_id}",
    auth=ApiKeyAuth(Scope.READ_STATUS),
    response=responses({200: AccountStatusOut}),
    operation_id="account_status",
    summary="Status of a linked account by its realname id",
)
def account_by_id(
    request: HttpRequest,
    account_id: uuid.UUID = Path(..., example=str(EXAMPLE_ACCOUNT_ID)),  # noqa: B008
) -> dict[str, Any]:
    return _linked_status(selectors.account_link(client=_client(request), public_id=account_id))
