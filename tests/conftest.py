"""Fixtures shared by the whole suite: a real Celery worker process and Debian's Chromium."""

from __future__ import annotations

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
from urllib.parse import quote

import pytest
from django.conf import settings

pytest_plugins = ["tests.sandbox_fixtures"]

BASE_DIR = Path(__file__).resolve().parent.parent
CHROMIUM_CANDIDATES = [
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
]
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def database_url(db: dict) -> str:
    """DATABASE_URL for another process, pointing at the database this test run uses."""
    host = db.get("HOST") or ""
    host = quote(host, safe="") if host.startswith("/") else host
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, sandbox_provider) -> Iterator[str]:
    """A real ``celery worker`` process on the test database and the test run's own queue,
    calling the sandbox provider service.

    Tests that use it must commit their data (``django_db(transaction=True)``): the worker is
    another process and sees only committed rows. Yields the worker's node name."""
    from realname.celery import app

    node = f"test-{uuid.uuid4().hex[:8]}@localhost"
    env = os.environ.copy()
    env["DJANGO_SETTINGS_MODULE"] = "realname.settings.test"
    env["DATABASE_URL"] = database_url(settings.DATABASES["default"])
    env["VERIFICATION_PROVIDER"] = "verification.providers.sandbox.SandboxProvider"
    env["SANDBOX_PROVIDER_URL"] = env["SANDBOX_PROVIDER_PUBLIC_URL"] = sandbox_provider.url
    env["SANDBOX_PROVIDER_SECRET"] = sandbox_provider.secret
    env["SANDBOX_PROVIDER_APP_ID"] = sandbox_provider.app_id
    log_path = Path(tempfile.gettempdir()) / f"realname-{node.split('@')[0]}.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "realname",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--pool=prefork",
            "-n",
            node,
            "--without-gossip",
            "--without-mingle",
            "-Q",
            settings.CELERY_TASK_DEFAULT_QUEUE,
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited at start-up; see {log_path}")
        if app.control.ping(destination=[node], timeout=0.5):
            break
    else:
        process.kill()
        raise RuntimeError(f"celery worker did not answer within 60 s; see {log_path}")
    try:
        yield node
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def find_chromium() -> str:
    configured = os.environ.get("CHROMIUM_PATH")
    for candidate in [configured, *CHROMIUM_CANDIDATES, shutil.which("chromium")]:
        if candidate and Path(candidate).is_file():
            return candidate
    raise RuntimeError(
        "Browser tests need Debian's Chromium: apt-get install chromium chromium-driver "
        "(or set CHROMIUM_PATH). Playwright's own browser download cannot work here."
    )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": find_chromium(),
        "args": CHROMIUM_FLAGS,
        "headless": True,
    }


@pytest.fixture(autouse=True)
def published_documents(request):
    """Version 1 of every document, as the data migration publishes it. Transactional tests
    truncate tables afterwards, so it is put back for each test that uses the database."""
    uses_db = request.node.get_closest_marker("django_db") or {
        "db",
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if not uses_db:
        return
    request.getfixturevalue("_django_db_helper")
    from django.utils import timezone

    from accounts import legal
    from accounts.models import LegalDocument
    from accounts.services import legal_document_publish

    for slug in legal.DOCUMENT_SLUGS:
        if not LegalDocument.objects.filter(slug=slug, version=1).exists():
            legal_document_publish(
                slug=slug, version=1, effective_at=timezone.now() - timedelta(days=1)
            )


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Rate-limit counters live in Redis; each test starts with none of this run's keys."""
    from django.core.cache import cache

    client = cache._cache.get_client()  # type: ignore[attr-defined]
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    yield
