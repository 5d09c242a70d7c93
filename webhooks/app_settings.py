"""Settings of the webhooks app: ``WEBHOOKS_<NAME>`` (how they are read: ``kernel.app_settings``)."""

from __future__ import annotations

from kernel.app_settings import AppSettings, Setting


class WebhooksSettings(AppSettings):
    prefix = "WEBHOOKS_"

    ALLOW_HTTP_LOCALHOST = Setting(
        bool,
        False,
        "Accept ``http://`` endpoint URLs on localhost (127.0.0.1, ::1, localhost): for "
        "development and tests only. Every other endpoint URL must be ``https://``.",
    )
    ALLOWED_NETWORKS: Setting[list[str]] = Setting(
        list,
        list,
        "Networks (CIDR, e.g. ``127.0.0.0/8``) webhooks may reach although they are not public "
        "internet addresses. Every other loopback, private, link-local, shared (CGNAT), "
        "multicast, unspecified or reserved address is refused, at registration and at each "
        "delivery. Empty in production (webhooks.W002 warns otherwise); development and tests "
        "allow this host's loopback for their local receivers.",
    )
    TIMEOUT = Setting(
        float,
        10.0,
        "Seconds a receiver has to answer one delivery, in all: resolving its name, connecting, "
        "TLS, sending and the answer's status line and headers. Then the attempt counts as a "
        "time-out and is retried.",
    )
    RETRY_BACKOFF = Setting(
        float,
        30.0,
        "Base, in seconds, of the exponential backoff (with jitter) between attempts of one "
        "delivery: about 1, 2, 4... times it, up to ``RETRY_BACKOFF_MAX``.",
    )
    RETRY_BACKOFF_MAX = Setting(
        float, 6 * 3600.0, "Cap, in seconds, of the wait between two attempts of one delivery."
    )
    RETRY_WINDOW = Setting(
        int,
        3 * 24 * 3600,
        "Seconds a delivery is retried (after receiver 5xx, 408, 429, time-outs and connection "
        "errors), counted from its first attempt; then it is marked failed (staff can redeliver).",
    )
    DISABLE_AFTER = Setting(
        int,
        3 * 24 * 3600,
        "An endpoint is disabled (and support alerted) when its attempts have failed without a "
        "single success for this many seconds and at least ``DISABLE_AFTER_FAILURES`` times.",
    )
    DISABLE_AFTER_FAILURES = Setting(
        int, 10, "Failed attempts in a row, at least, before an endpoint is disabled."
    )
    SECRET_OVERLAP = Setting(
        int,
        24 * 3600,
        "Seconds the previous signing secret still signs (beside the new one) after a rotation, "
        "unless the rotation asks for another overlap.",
    )
    STUCK_AFTER = Setting(
        int,
        300,
        "Seconds past its due time after which the sweeper sends a pending delivery again "
        "(its task was lost by the broker or a killed worker).",
    )
    MAX_ENDPOINTS_PER_CLIENT = Setting(
        int, 10, "Endpoints one API client may have at a time; creating one more is refused."
    )
    RETENTION_DAYS = Setting(
        int,
        90,
        "Days an event of an open account (with its deliveries and their attempt logs) is kept "
        "once every delivery of it was delivered or failed, counted from its last attempt "
        "(retention job ``webhooks.events``). Pending deliveries are never deleted.",
    )


app_settings = WebhooksSettings()
