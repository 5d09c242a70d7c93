from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """What real-name authentication is, the two kinds, and what each asks for."""
    return render(request, "verification/overview.html")
