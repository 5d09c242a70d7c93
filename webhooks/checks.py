"""System checks of the webhooks settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from .app_settings import app_settings


@checks.register(checks.Tags.security, deploy=True)
def http_localhost_in_production(**kwargs: Any) -> list[checks.CheckMessage]:
    if app_settings.ALLOW_HTTP_LOCALHOST and not settings.DEBUG:
        return [
            checks.Warning(
                "WEBHOOKS_ALLOW_HTTP_LOCALHOST is on: API clients may register unencrypted "
                "endpoints on this host.",
                hint="Leave it off outside development and tests.",
                id="webhooks.W001",
            )
        ]
    return []
