"""Helpers about the request itself."""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the account adapter sees it: behind a proxy, the address the
    trusted proxies report (``ALLAUTH_TRUSTED_PROXY_COUNT``), never a spoofable header."""
    return get_adapter(request).get_client_ip(request)
