"""Responses every app may return."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

#: What ``django.views.decorators.cache.never_cache`` writes (a test holds them to its
#: directives), as constants: a polled endpoint answers every few seconds for every waiting
#: person, and patching the headers (parsing and re-joining ``Cache-Control``, formatting the
#: date) was a tenth of its answer's CPU.
NEVER_CACHE_HEADERS = {
    "Cache-Control": "max-age=0, no-cache, no-store, must-revalidate, private",
    "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
}


def never_cached[R: HttpResponse](view: Callable[..., R]) -> Callable[..., R]:
    """``never_cache`` for the polled endpoints, with the headers written out."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> R:
        response = view(request, *args, **kwargs)
        for name, value in NEVER_CACHE_HEADERS.items():
            response.headers[name] = value
        return response

    return wrapper


def too_many_requests(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Rate limits (SMS codes, log-ins) answer with a page that says what to do."""
    return render(request, "429.html", status=429)
