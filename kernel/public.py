"""Our own public address, from configuration only.

URLs handed to an outside party (a vendor's return and notification URLs) are built from
``REALNAME_PUBLIC_URL``, never from the request: the Host header is the client's to choose
(another port of an allowed host passes ``ALLOWED_HOSTS``), and a vendor's signed callbacks
must come to us."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from .app_settings import app_settings


def public_base_url() -> str:
    """``REALNAME_PUBLIC_URL`` without a trailing slash; refuses an empty or malformed one."""
    base = app_settings.PUBLIC_URL.strip().rstrip("/")
    problem = public_url_problem(base)
    if problem:
        raise ImproperlyConfigured(f"REALNAME_PUBLIC_URL (environment: PUBLIC_URL) {problem}.")
    return base


def public_url_problem(base: str) -> str:
    """What is wrong with a public base URL, in words ('' when nothing is)."""
    if not base:
        return "is not set"
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute http(s) URL such as https://realname.example.com"
    if parts.path.strip("/") or parts.query or parts.fragment or parts.username:
        return "must be only scheme, host and port: no path, query, fragment or user"
    return ""


def public_url(path: str) -> str:
    """The absolute URL of ``path`` (a path from ``reverse()``, starting with ``/``) on our
    public address."""
    if not path.startswith("/"):
        raise ValueError("public_url takes an absolute path such as reverse() returns")
    return public_base_url() + path
