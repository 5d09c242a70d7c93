"""The HTTP API for host platforms, version 1, mounted at /api/v1/ (docs/api.md): each app adds
its router here. The OpenAPI document is served at /api/v1/openapi.json and checked in as
docs/openapi.json (``manage.py openapi_document`` writes it)."""

from ninja import NinjaAPI

from hostapi.api import api_setup
from hostapi.api import router as hostapi_router
from webhooks.api import router as webhooks_router

api = NinjaAPI(
    title="realname host platform API",
    version="1",
    description="Verification sessions and the verification status of linked accounts. "
    "See docs/api.md.",
    urls_namespace="api",
    docs_url=None,
)
api_setup(api)
api.add_router("/", hostapi_router)
api.add_router("/webhooks/", webhooks_router)
