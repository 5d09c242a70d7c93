"""The Prometheus endpoint: what the workers counted (``kernel.metrics``, kept in Redis), the
verifications by kind and state (read from the database at each scrape) and the Celery queue's
depth, in prometheus_client's text format.

Closed unless ``REALNAME_METRICS_TOKEN`` or ``REALNAME_METRICS_ALLOWED_IPS`` is configured; a
scrape that lacks what is configured is refused. Nothing reported names a person: labels are
kinds, states, provider and carrier names and outcomes."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry

from enterprise.models import EnterpriseVerification
from kernel import metrics
from kernel.app_settings import app_settings
from kernel.request import client_ip
from verification.models import PersonalVerification

logger = logging.getLogger(__name__)

#: Each kind of verification, counted with one GROUP BY on its own table.
KINDS: tuple[type[PersonalVerification] | type[EnterpriseVerification], ...] = (
    PersonalVerification,
    EnterpriseVerification,
)


def verification_counts() -> dict[tuple[str, str], int]:
    """``{(kind, state): count}`` for every kind and every state it has (zero included, so a
    state's series never disappears)."""
    counts: dict[tuple[str, str], int] = {}
    for model in KINDS:
        for state in model.Status.values:
            counts[(str(model.kind), str(state))] = 0
        rows = model._default_manager.order_by().values_list("status").annotate(n=Count("pk"))
        for status, n in rows:
            counts[(str(model.kind), str(status))] = n
    return counts


class RealnameCollector(Collector):
    """Reads every source at scrape time. A source that does not answer is left out, and
    ``realname_metrics_source_up`` says which one: the scrape itself still succeeds."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "realname_metrics_source_up",
            "1 when the source answered this scrape: database (verification states), counters "
            "(Redis, where every process records), queue (the Redis broker). 0 when it did not "
            "answer or is not configured (no REDIS_URL, the filesystem broker).",
            labels=["source"],
        )
        yield from self._verifications(up)
        yield from self._counters(up)
        yield from self._queue(up)
        yield up

    def _verifications(self, up: GaugeMetricFamily) -> Iterator[Metric]:
        try:
            counts = verification_counts()
        except Exception as exc:
            logger.warning("metrics: verification states unreadable (%s)", type(exc).__name__)
            up.add_metric(["database"], 0)
            return
        up.add_metric(["database"], 1)
        gauge = GaugeMetricFamily(
            "realname_verifications",
            "Verifications by kind (personal, enterprise) and current state.",
            labels=["kind", "state"],
        )
        for (kind, state), n in sorted(counts.items()):
            gauge.add_metric([kind, state], n)
        yield gauge

    def _counters(self, up: GaugeMetricFamily) -> Iterator[Metric]:
        try:
            families = metrics.collect()
        except Exception as exc:
            logger.warning("metrics: counters unreadable (%s)", type(exc).__name__)
            families = None
        up.add_metric(["counters"], 1 if families else 0)
        yield from families or []

    def _queue(self, up: GaugeMetricFamily) -> Iterator[Metric]:
        try:
            depth = metrics.queue_depth()
        except Exception as exc:
            logger.warning("metrics: queue depth unreadable (%s)", type(exc).__name__)
            depth = None
        up.add_metric(["queue"], 0 if depth is None else 1)
        if depth is None:
            return
        gauge = GaugeMetricFamily(
            "realname_celery_queue_depth",
            "Tasks waiting in the Celery queue for a worker (Redis broker only).",
            labels=["queue"],
        )
        gauge.add_metric([settings.CELERY_TASK_DEFAULT_QUEUE], depth)
        yield gauge


registry = CollectorRegistry(auto_describe=False)
registry.register(RealnameCollector())


def _address_allowed(request: HttpRequest, allowed: list[str]) -> bool:
    address = client_ip(request)
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in allowed:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            logger.warning("metrics: REALNAME_METRICS_ALLOWED_IPS has an entry that is no address")
    return False


def _token_given(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


def refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the request may read the metrics; otherwise the answer it gets: 404 when
    nothing is configured (the endpoint is closed), 401 without the token, 403 from an
    address not allowed."""
    token = app_settings.METRICS_TOKEN
    allowed = app_settings.METRICS_ALLOWED_IPS
    if not token and not allowed:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    if allowed and not _address_allowed(request, allowed):
        return HttpResponse("Forbidden.\n", status=403, content_type="text/plain")
    if token and not _token_given(request, token):
        response = HttpResponse("Unauthorized.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return None


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus scrapes this (docs: "Metrics" in the README)."""
    if (refused := refusal(request)) is not None:
        return refused
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(registry), content_type=content_type)
