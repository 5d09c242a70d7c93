"""Responses every app may return."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def too_many_requests(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Rate limits (SMS codes, log-ins) answer with a page that says what to do."""
    return render(request, "429.html", status=429)
