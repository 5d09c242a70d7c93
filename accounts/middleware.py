"""Turns allauth's RateLimited into our 429 page.

allauth raises ``RateLimited`` from inside its login stages (for example when a second sign-up
with a number texts its owner within the per-number limit) where no view catches it; without
this it would be a 500."""

from __future__ import annotations

from collections.abc import Callable

from allauth.core.exceptions import RateLimited
from django.http import HttpRequest, HttpResponse

from kernel.views import too_many_requests


class RateLimitedMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RateLimited):
            return too_many_requests(request, exception)
        return None
