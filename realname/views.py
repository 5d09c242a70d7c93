"""Site-wide pages: the home page and the health endpoint."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.decorators import realname_required
from kernel import health

RECHARGE_AMOUNTS = (50, 100, 500)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 only when the database, the broker and a worker all answer; 503 otherwise.

    ``?deep=1`` also sends a task through the worker and waits for its result."""
    checks = {
        "database": health.check_database(),
        "broker": health.check_broker(),
    }
    checks["worker"] = health.check_worker() if checks["broker"][0] else (False, "broker down")
    if request.GET.get("deep") == "1" and all(ok for ok, _ in checks.values()):
        checks["task_round_trip"] = health.check_task_round_trip()
    healthy = all(ok for ok, _ in checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()},
    }
    return JsonResponse(body, status=200 if healthy else 503)


@realname_required
@require_http_methods(["GET", "POST"])
def recharge(request: HttpRequest) -> HttpResponse:
    """A demonstration of a guarded action: only verified users reach it. No payment is taken."""
    if request.method == "POST":
        messages.info(request, _("Demonstration only: no payment was taken."))
        return HttpResponseRedirect(reverse("recharge"))
    return render(request, "recharge.html", {"amounts": RECHARGE_AMOUNTS})
