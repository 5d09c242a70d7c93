"""The host platform API, /api/v1/ (django-ninja). Each app adds its router here."""

from ninja import NinjaAPI

from webhooks.api import router as webhooks_router

api = NinjaAPI(title="realname host platform API", version="1", urls_namespace="api")
api.add_router("/webhooks/", webhooks_router)
