"""The Prometheus endpoint as an operator meets it: closed until configured, the metric names
and labels a dashboard needs, numbers that move when the real worker calls the provider, and
never a person's data in a label."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import yaml
from django.conf import settings
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.sms import send_sms
from enterprise.models import EnterpriseVerification
from kernel import metrics
from tests.factories import DEMO, MemberFactory
from tests.helpers import submit_demo, wait_for
from verification import services
from verification.models import PersonalVerification
from verification.tasks import sweep

TOKEN = "a-long-random-scrape-token-for-tests"
Status = PersonalVerification.Status
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def token(settings) -> str:
    settings.REALNAME_METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(**headers: str) -> str:
    response = Client(headers={"authorization": f"Bearer {TOKEN}", **headers}).get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    assert response["Cache-Control"].startswith("max-age=0")
    return response.content.decode()


def samples(text: str) -> Samples:
    """``{(sample name, sorted labels): value}`` of every sample in an exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_for_metric(name: str, labels: dict[str, str], moved: Callable[[float], bool]) -> float:
    """Scrape until the sample ``name{labels}`` satisfies ``moved``; fail with its last value."""
    deadline = time.monotonic() + 30
    last = 0.0
    while time.monotonic() < deadline:
        last = value(samples(scrape()), name, **labels)
        if moved(last):
            return last
        time.sleep(0.1)
    raise AssertionError(f"{name}{labels} stayed at {last}")


# --- access ----------------------------------------------------------------------------------


def test_the_endpoint_is_closed_until_a_token_or_addresses_are_configured(settings):
    settings.REALNAME_METRICS_TOKEN = ""
    settings.REALNAME_METRICS_ALLOWED_IPS = []

    response = Client(headers={"authorization": f"Bearer {TOKEN}"}).get("/metrics")

    assert response.status_code == 404
    assert b"realname_" not in response.content


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer ", "Bearer wrong-token", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x"],
)
def test_a_scrape_without_the_right_bearer_token_is_refused(token, authorization):
    headers = {"authorization": authorization} if authorization else {}

    response = Client(headers=headers).get("/metrics")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"realname_" not in response.content


@pytest.mark.django_db
def test_the_right_bearer_token_reads_the_metrics(token):
    assert "realname_verifications" in scrape()


def test_an_address_outside_the_allowed_networks_is_refused_and_cannot_claim_another(settings):
    settings.REALNAME_METRICS_ALLOWED_IPS = ["10.0.0.0/8"]

    direct = Client().get("/metrics")  # the test client comes from 127.0.0.1
    spoofed = Client(headers={"x-forwarded-for": "10.1.2.3"}).get("/metrics")

    assert direct.status_code == 403
    assert spoofed.status_code == 403  # no trusted proxy is configured: the header is ignored


@pytest.mark.django_db
def test_an_allowed_address_reads_the_metrics_without_a_token(settings):
    settings.REALNAME_METRICS_ALLOWED_IPS = ["192.0.2.7", "127.0.0.0/8"]

    response = Client().get("/metrics")

    assert response.status_code == 200
    assert b"realname_verifications" in response.content


@pytest.mark.django_db
def test_with_both_configured_a_scrape_needs_both(token, settings):
    settings.REALNAME_METRICS_ALLOWED_IPS = ["127.0.0.1"]
    with_token = {"authorization": f"Bearer {TOKEN}"}

    assert Client(headers=with_token).get("/metrics", REMOTE_ADDR="192.0.2.1").status_code == 403
    assert Client().get("/metrics").status_code == 401
    assert Client(headers=with_token).get("/metrics").status_code == 200


# --- names and labels ------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_metric_is_there_with_its_labels_before_anything_happened(token):
    families = {family.name: family for family in text_string_to_metric_families(scrape())}

    assert {
        "realname_verifications": "gauge",
        "realname_provider_calls": "counter",
        "realname_provider_call_duration_seconds": "histogram",
        "realname_sms_calls": "counter",
        "realname_sms_call_duration_seconds": "histogram",
        "realname_provider_retries": "counter",
        "realname_sweep_runs": "counter",
        "realname_sweep_requeued": "counter",
        "realname_celery_queue_depth": "gauge",
        "realname_metrics_source_up": "gauge",
    }.items() <= {name: family.type for name, family in families.items()}.items()
    states = {
        (s.labels["kind"], s.labels["state"]) for s in families["realname_verifications"].samples
    }
    assert states == {("personal", state) for state in PersonalVerification.Status.values} | {
        ("enterprise", state) for state in EnterpriseVerification.Status.values
    }
    assert {
        s.labels["source"]: s.value for s in families["realname_metrics_source_up"].samples
    } == {
        "database": 1,
        "counters": 1,
        "queue": 1,
    }
    (queue,) = families["realname_celery_queue_depth"].samples
    assert queue.labels == {"queue": settings.CELERY_TASK_DEFAULT_QUEUE}


@pytest.mark.django_db
def test_verifications_are_counted_by_kind_and_state(token):
    before = value(
        samples(scrape()), "realname_verifications", kind="personal", state=Status.SUBMITTED
    )

    submit_demo(MemberFactory.create())  # queued on commit: this test never commits

    after = samples(scrape())
    assert value(after, "realname_verifications", kind="personal", state="submitted") == before + 1
    assert value(after, "realname_verifications", kind="enterprise", state="submitted") == 0


@pytest.mark.django_db
def test_texts_handed_to_the_carrier_are_counted_without_the_number(token, outbox):
    labels = {"carrier": "locmem", "outcome": "ok"}
    before = value(samples(scrape()), "realname_sms_calls_total", **labels)
    phone = "+8613700139000"

    send_sms(to=phone, body="code 246810", code="246810")

    assert outbox[-1].to == phone
    text = scrape()
    assert value(samples(text), "realname_sms_calls_total", **labels) == before + 1
    assert value(samples(text), "realname_sms_call_duration_seconds_count", **labels) >= 1
    assert phone[1:] not in text and phone[-8:] not in text


@pytest.mark.django_db
def test_the_sweeper_counts_its_runs_and_what_it_requeued(token):
    found = samples(scrape())
    runs = value(found, "realname_sweep_runs_total", kind="personal")
    requeued = value(found, "realname_sweep_requeued_total", kind="personal", task="check_identity")
    stuck = submit_demo(
        MemberFactory.create()
    )  # its message is never sent: this test never commits
    PersonalVerification.objects.filter(pk=stuck.pk).update(
        updated_at=timezone.now() - timedelta(hours=1)
    )

    services.verification_sweep()

    found = samples(scrape())
    assert value(found, "realname_sweep_runs_total", kind="personal") == runs + 1
    assert (
        value(found, "realname_sweep_requeued_total", kind="personal", task="check_identity")
        >= requeued + 1
    )


@pytest.mark.django_db
def test_the_queue_depth_is_read_from_the_redis_broker(token, settings):
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-metrics-probe"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(queue)
    try:
        broker.lpush(queue, "one", "two", "three")
        assert value(samples(scrape()), "realname_celery_queue_depth", queue=queue) == 3
    finally:
        broker.delete(queue)
        broker.close()


@pytest.mark.django_db
def test_with_the_filesystem_broker_the_queue_depth_is_absent_and_said_unknown(token, settings):
    settings.CELERY_BROKER_URL = "filesystem://localhost/"

    found = samples(scrape())

    assert not any(name == "realname_celery_queue_depth" for name, _ in found)
    assert value(found, "realname_metrics_source_up", source="queue") == 0


@pytest.mark.django_db
def test_redis_down_drops_counts_but_never_the_work_or_the_scrape(token, settings, outbox):
    settings.REALNAME_METRICS_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    metrics.observe_call(kind="provider", name="sandbox", outcome="ok", seconds=0.1)
    send_sms(to="+8613700139001", body="code 135790", code="135790")

    assert outbox  # the text still went out
    found = samples(scrape())
    assert value(found, "realname_metrics_source_up", source="counters") == 0
    assert value(found, "realname_metrics_source_up", source="database") == 1
    assert ("realname_verifications", (("kind", "personal"), ("state", "submitted"))) in found


@pytest.mark.django_db
def test_a_call_of_an_unknown_kind_is_not_counted_and_does_not_fail(token):
    def calls() -> Samples:
        return {key: n for key, n in samples(scrape()).items() if "_call" in key[0]}

    before = calls()

    metrics.observe_call(kind="fax", name="aliyun", outcome="ok", seconds=0.1)

    assert calls() == before


@pytest.mark.parametrize(
    "name", ["13800138000", "+8613800138000", DEMO["name"], DEMO["document_number"], "Aliyun SMS"]
)
def test_a_label_value_that_is_not_a_chosen_word_is_recorded_as_other(name):
    assert metrics.label(name) == "other"


@pytest.mark.parametrize("name", ["aliyun", "tencent", "sandbox", "locmem", "check_identity"])
def test_the_names_we_chose_are_kept(name):
    assert metrics.label(name) == name


# --- through the real worker -------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_verification_through_the_worker_moves_the_provider_counters(worker, token):
    ok = {"provider": "sandbox", "outcome": "ok"}
    before = samples(scrape())

    verification = submit_demo(MemberFactory.create())
    wait_for(verification, lambda v: v.status == Status.IN_PROGRESS)

    calls = before.get(("realname_provider_calls_total", tuple(sorted(ok.items()))), 0.0)
    wait_for_metric("realname_provider_calls_total", ok, lambda n: n >= calls + 1)
    after = samples(scrape())
    assert (
        value(after, "realname_provider_call_duration_seconds_count", **ok)
        >= value(before, "realname_provider_call_duration_seconds_count", **ok) + 1
    )
    assert value(after, "realname_provider_call_duration_seconds_bucket", **ok, le="+Inf") == value(
        after, "realname_provider_call_duration_seconds_count", **ok
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_transient_failures_count_as_errors_and_retries(worker, token):
    transient = {"provider": "sandbox", "outcome": "transient"}
    before = samples(scrape())
    worker.set_faults(fail_next=2)

    verification = submit_demo(MemberFactory.create())
    wait_for(verification, lambda v: v.status == Status.IN_PROGRESS)

    failed = value(before, "realname_provider_calls_total", **transient)
    retried = value(before, "realname_provider_retries_total", provider="sandbox")
    wait_for_metric("realname_provider_calls_total", transient, lambda n: n >= failed + 2)
    wait_for_metric(
        "realname_provider_retries_total", {"provider": "sandbox"}, lambda n: n >= retried + 2
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_beat_sweep_in_the_worker_is_counted(worker, token):
    runs = value(samples(scrape()), "realname_sweep_runs_total", kind="personal")

    sweep.delay()  # no result to wait for (CELERY_TASK_IGNORE_RESULT): the counter says it ran

    wait_for_metric("realname_sweep_runs_total", {"kind": "personal"}, lambda n: n >= runs + 1)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_no_personal_data_in_any_label(worker, token, outbox):
    member = MemberFactory.create()
    verification = submit_demo(member)
    wait_for(verification, lambda v: v.status == Status.IN_PROGRESS)
    send_sms(to=str(member.phone), body="code 112233", code="112233")
    wait_for_metric(
        "realname_sms_calls_total", {"carrier": "locmem", "outcome": "ok"}, lambda n: n >= 1
    )

    text = scrape()

    assert member.phone
    for secret in (DEMO["name"], DEMO["document_number"], member.phone, member.phone[3:]):
        assert secret not in text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for name, label_value in sample.labels.items():
                if name == "le":
                    continue
                if name == "queue":
                    assert label_value == settings.CELERY_TASK_DEFAULT_QUEUE
                    continue
                assert metrics.LABEL_VALUE.fullmatch(label_value), (sample.name, name)


# --- configuration -----------------------------------------------------------------------------


def test_the_environment_variables_configure_access():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "realname.settings.test",
        "METRICS_TOKEN": "from-the-environment",
        "METRICS_ALLOWED_IPS": "10.0.0.0/8,127.0.0.1",
    }
    program = (
        "import django; django.setup(); from kernel.app_settings import app_settings as s; "
        "print(s.METRICS_TOKEN, ' '.join(s.METRICS_ALLOWED_IPS))"
    )

    result = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
    )

    assert result.stdout.split() == ["from-the-environment", "10.0.0.0/8", "127.0.0.1"]


def test_compose_passes_the_access_settings_to_the_app_without_a_default_token():
    compose = yaml.safe_load((Path(settings.BASE_DIR) / "docker-compose.yml").read_text())

    for service in ("web", "worker"):
        env = compose["services"][service]["environment"]
        assert env["METRICS_TOKEN"] == "${METRICS_TOKEN:-}"
        assert env["METRICS_ALLOWED_IPS"] == "${METRICS_ALLOWED_IPS:-}"
