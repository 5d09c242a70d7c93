"""System checks for the host platform API: a rate it cannot read, or a session lifetime that
ends before it starts, is reported at start-up, not at the platform's first call."""

from __future__ import annotations

from typing import Any

from django.core import checks

from kernel.ratelimit import parse_rate

from .app_settings import app_settings


@checks.register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    try:
        parse_rate(app_settings.RATE_LIMIT)
    except ValueError as error:
        errors.append(
            checks.Error(
                f"HOSTAPI_RATE_LIMIT: {error}.",
                hint="Calls per client and window, e.g. 600/m, 100/10s or 20000/h.",
                id="hostapi.E001",
            )
        )
    if app_settings.SESSION_LIFETIME < 60:
        errors.append(
            checks.Error(
                "HOSTAPI_SESSION_LIFETIME is under a minute: nobody can finish a session.",
                hint="Seconds a session link stays usable; the default is 86400 (24 h).",
                id="hostapi.E002",
            )
        )
    return errors
