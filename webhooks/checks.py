"""System checks of the webhooks settings."""

from __future__ import annotations

import ipaddress
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


@checks.register()
def allowed_networks_are_networks(**kwargs: Any) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    for entry in app_settings.ALLOWED_NETWORKS:
        try:
            ipaddress.ip_network(str(entry).strip(), strict=False)
        except ValueError:
            messages.append(
                checks.Error(
                    f"WEBHOOKS_ALLOWED_NETWORKS has an entry that is not a network: {entry!r}.",
                    hint="Write each as an address or a CIDR network, e.g. 10.20.0.0/16.",
                    id="webhooks.E001",
                )
            )
    return messages


@checks.register(checks.Tags.security, deploy=True)
def private_networks_in_production(**kwargs: Any) -> list[checks.CheckMessage]:
    """Public addresses need no listing: any entry opens addresses the guard would refuse."""
    if app_settings.ALLOWED_NETWORKS and not settings.DEBUG:
        return [
            checks.Warning(
                "WEBHOOKS_ALLOWED_NETWORKS lets API clients' webhooks reach non-public "
                f"addresses ({', '.join(map(str, app_settings.ALLOWED_NETWORKS))}): a client "
                "could make the workers POST into this deployment's own network.",
                hint="Leave it empty outside development and tests.",
                id="webhooks.W002",
            )
        ]
    return []
