"""Redis itself stops under the whole site (the cache and the broker, as in docker-compose, where
one Redis is both): people still sign up, log in and submit, the limits still hold, /healthz
says what is wrong, and when Redis is back the sweeper gets the waiting submission to a worker.

The site runs on a private redis-server made for the test, so stopping it disturbs no other test;
a worker of its own listens there."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from devstack.embedded import EmbeddedRedis
from realname.celery import app
from tests.factories import DEMO, MemberFactory
from tests.helpers import database_url, last_code, wait_for
from tests.sandbox_harness import SandboxHandle, stop_process, vendor_environment
from verification import services
from verification.models import PersonalVerification

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
BASE_DIR = Path(__file__).resolve().parents[2]
Status = PersonalVerification.Status
CONSENTS = {"consent_user-agreement": "on", "consent_privacy-policy": "on"}
NEW_PHONE = "+8613900139001"


def _reset_broker_connections() -> None:
    """Forget the web side's broker pools, so the next publish uses the URL now set."""
    app._pool = None
    app.amqp._producer_pool = None


def _answers(node: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if app.control.ping(destination=[node], timeout=0.5):
                return True
        except Exception:  # Redis still coming back: ask again
            time.sleep(0.2)
    return False


@pytest.fixture
def private_redis() -> Iterator[EmbeddedRedis]:
    work_dir = Path(tempfile.mkdtemp(prefix="realname-redis-down-"))
    redis = EmbeddedRedis(work_dir)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()
        shutil.rmtree(work_dir, ignore_errors=True)


@pytest.fixture
def cache_and_broker_on_private_redis(settings, private_redis: EmbeddedRedis) -> Iterator[None]:
    """This process's cache and broker (the site's) on the private Redis."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": private_redis.url},
    }
    original_broker = app.conf.broker_url
    app.conf.broker_url = private_redis.url
    _reset_broker_connections()
    try:
        yield
    finally:
        app.conf.broker_url = original_broker
        _reset_broker_connections()


@pytest.fixture
def site_on_private_redis(
    settings,
    private_redis: EmbeddedRedis,
    cache_and_broker_on_private_redis: None,
    sandbox_settings_override: SandboxHandle,
) -> Iterator[str]:
    """The site's cache and broker on the private Redis, and a real worker listening there and
    calling the sandbox. Yields the worker's node name."""
    node = f"redis-down-{uuid.uuid4().hex[:8]}@localhost"
    env = os.environ.copy()
    env.update(vendor_environment(sandbox_settings_override))
    env.update(
        DJANGO_SETTINGS_MODULE="realname.settings.test",
        DATABASE_URL=database_url(settings.DATABASES["default"]),
        REDIS_URL=private_redis.url,
        VERIFICATION_PROVIDERS="sandbox",
        SANDBOX_PROVIDER_URL=sandbox_settings_override.url,
        SANDBOX_PROVIDER_PUBLIC_URL=sandbox_settings_override.url,
        SANDBOX_PROVIDER_SECRET=sandbox_settings_override.secret,
        SANDBOX_PROVIDER_APP_ID=sandbox_settings_override.app_id,
    )
    log_path = Path(tempfile.gettempdir()) / f"realname-{node.split('@')[0]}.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                *("-m", "celery", "-A", "realname", "worker", "--loglevel=INFO"),
                *("--concurrency=1", "--pool=prefork", "-n", node),
                *("--without-gossip", "--without-mingle"),
                *("-Q", settings.CELERY_TASK_DEFAULT_QUEUE),
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            assert _answers(node, timeout=60), f"the worker did not start; see {log_path}"
            yield node
        finally:
            stop_process(worker, timeout=30)


def test_the_site_works_while_redis_is_stopped_and_catches_up_after(
    site_on_private_redis, private_redis, outbox, caplog
):
    worker_node = site_on_private_redis
    member = MemberFactory.create()
    returning_phone = str(MemberFactory.create().phone)  # someone logging in while Redis is down

    private_redis.stop()  # the real process: cache and broker are gone together

    with caplog.at_level(logging.WARNING):
        # Sign-up, with the code texted and confirmed.
        newcomer = Client(headers={"accept-language": "en"})
        response = newcomer.post(reverse("account_signup"), {"phone": NEW_PHONE, **CONSENTS})
        assert response.status_code == 302, response.content[:500]
        assert response["Location"] == reverse("account_verify_phone")
        response = newcomer.post(
            reverse("account_verify_phone"), {"code": last_code(outbox, NEW_PHONE)}
        )
        assert response.status_code == 302
        assert User.objects.get(phone=NEW_PHONE).phone_verified

        # Log-in by code.
        visitor = Client(headers={"accept-language": "en"})
        response = visitor.post(reverse("account_login"), {"login": returning_phone})
        assert response.status_code == 302
        assert response["Location"] == reverse("account_confirm_login_code")
        response = visitor.post(
            reverse("account_confirm_login_code"), {"code": last_code(outbox, returning_phone)}
        )
        assert response.status_code == 302
        assert visitor.get(reverse("accounts:profile")).status_code == 200

        # The limits still hold (in this process's memory): a second code to the same number
        # within the minute is refused next to the field, and nothing is texted.
        texts = len(outbox)
        response = Client(headers={"accept-language": "en"}).post(
            reverse("account_login"), {"login": returning_phone}
        )
        assert response.status_code == 200
        assert response.context["form"].errors["login"]
        assert len(outbox) == texts

        # A submission is stored and waits for the sweeper.
        client = Client(headers={"accept-language": "en"})
        client.force_login(member)
        response = client.post(
            "/verification/personal/",
            {k: DEMO[k] for k in ("name", "document_type", "document_number")},
        )
        verification = PersonalVerification.objects.get(user=member)
        assert response.status_code == 302
        assert response["Location"] == f"/verification/personal/{verification.public_id}/"
        page = client.get(response["Location"]).content.decode()
        assert 'data-verification-status="submitted"' in page

        # /healthz says what is wrong, as a 503 with its reasons, not an error page.
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["checks"]["broker"]["ok"] is False
        assert health.json()["checks"]["database"]["ok"] is True

    assert "cache unavailable" in caplog.text
    assert "waits for the sweeper" in caplog.text
    for secret in (DEMO["document_number"], DEMO["name"], NEW_PHONE, returning_phone):
        assert secret not in caplog.text

    # Redis is back (empty: whatever it held is gone). The worker reconnects by itself; the
    # sweeper (every minute in production) sends the waiting submission again.
    private_redis.start()
    assert _answers(worker_node, timeout=60), "the worker did not reconnect to Redis"
    counts = services.verification_sweep(now=timezone.now() + timedelta(minutes=5))

    assert counts["check_identity"] >= 1
    wait_for(verification, lambda v: v.status == Status.IN_PROGRESS, timeout=60)
    assert client.get("/healthz").status_code == 200


def test_a_full_redis_is_no_error_page_either(
    cache_and_broker_on_private_redis, private_redis, caplog
):
    """Redis at its memory limit (maxmemory with the default noeviction policy) refuses every
    write: the submission is stored all the same and sent by the sweeper once there is room."""
    member = MemberFactory.create()
    server = redis.Redis.from_url(private_redis.url)
    server.config_set("maxmemory", "1")
    try:
        client = Client(headers={"accept-language": "en"})
        client.force_login(member)
        response = client.post(
            "/verification/personal/",
            {k: DEMO[k] for k in ("name", "document_type", "document_number")},
        )
        verification = PersonalVerification.objects.get(user=member)
        assert response.status_code == 302
        assert verification.status == Status.SUBMITTED
        assert _queued(server) == 0
        assert "cache unavailable (OutOfMemoryError)" in caplog.text
        assert "waits for the sweeper" in caplog.text
    finally:
        server.config_set("maxmemory", "0")

    counts = services.verification_sweep(now=timezone.now() + timedelta(minutes=5))

    assert counts["check_identity"] == 1
    assert _queued(server) == 1
    server.close()


def _queued(server: redis.Redis) -> int:
    return int(server.llen(settings.CELERY_TASK_DEFAULT_QUEUE))  # type: ignore[arg-type]
