"""Settings of the host platform API: ``HOSTAPI_<NAME>`` (how they are read: ``kernel.app_settings``)."""

from __future__ import annotations

from kernel.app_settings import AppSettings, Setting


class HostApiSettings(AppSettings):
    prefix = "HOSTAPI_"

    RATE_LIMIT = Setting(
        str,
        "600/m",
        "Calls one API client may make in a fixed window (``<count>/<period>``, the period "
        "``s``, ``m``, ``h`` or ``d``, optionally with a multiplier: ``100/10s``); over it, 429 "
        "with Retry-After. Environment: ``HOSTAPI_RATE_LIMIT``.",
    )
    SESSION_LIFETIME = Setting(
        int,
        24 * 3600,
        "Seconds a verification session's link can be opened and completed after the platform "
        "created it. Environment: ``HOSTAPI_SESSION_LIFETIME``.",
    )
    CALL_LOG_RETENTION_DAYS = Setting(
        int,
        90,
        "Days the record of each API call (client, operation, method, status code, time) is "
        "kept. Environment: ``HOSTAPI_CALL_LOG_RETENTION_DAYS``.",
    )
    SESSION_RETENTION_DAYS = Setting(
        int,
        90,
        "Days a verification session is kept after it expired or completed (the link between "
        "the platform's reference and the account is kept while both exist). Environment: "
        "``HOSTAPI_SESSION_RETENTION_DAYS``.",
    )


app_settings = HostApiSettings()
