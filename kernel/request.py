"""Helpers about the request itself."""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the account adapter sees it, so that allauth's limits, ours and
    the audit agree. Behind ``TRUSTED_PROXY_COUNT`` proxies (``ALLAUTH_TRUSTED_PROXY_COUNT``)
    it is the N-th address from the right of X-Forwarded-For: each proxy of ours appends the
    peer it saw, so whatever a client wrote into the header itself stays to the left and is
    never read. With a count of 0 the header is ignored and the peer's address is used;
    ``TRUSTED_CLIENT_IP_HEADER`` names a header a proxy overwrites instead (``X-Real-IP``)."""
    return get_adapter(request).get_client_ip(request)
