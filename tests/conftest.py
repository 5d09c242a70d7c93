"""Fixtures shared by the whole suite: a real Celery worker process, the sandbox vendor service,
Debian's Chromium, and the people and clients most tests start from."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from accounts.models import User
from accounts.sms import SmsMessage, locmem
from tests.factories import MemberFactory
from tests.helpers import database_url
from tests.sandbox_harness import (
    InProcessSandbox,
    SandboxHandle,
    running_sandbox_in_process,
    running_sandbox_process,
    stop_process,
    vendor_environment,
)

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


# --- the outside world: the sandbox vendor ----------------------------------------------------


@pytest.fixture(scope="session")
def sandbox_provider() -> Iterator[SandboxHandle]:
    """``manage.py run_sandbox_provider --port 0`` as a real subprocess with a random secret;
    its log goes to a temporary file named in any start-up failure."""
    with running_sandbox_process() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox_settings_override(settings: Any, sandbox_provider: SandboxHandle) -> Iterator[Any]:
    """Point our client (``VERIFICATION_PROVIDERS`` and ``SANDBOX_PROVIDER_*``) at the running
    sandbox; its faults are cleared after the test."""
    settings.VERIFICATION_PROVIDERS = ["sandbox"]
    settings.SANDBOX_PROVIDER_URL = sandbox_provider.url
    settings.SANDBOX_PROVIDER_PUBLIC_URL = sandbox_provider.url
    settings.SANDBOX_PROVIDER_SECRET = sandbox_provider.secret
    settings.SANDBOX_PROVIDER_APP_ID = sandbox_provider.app_id
    try:
        yield sandbox_provider
    finally:
        sandbox_provider.clear_faults()


@pytest.fixture
def sandbox_in_process() -> Iterator[InProcessSandbox]:
    """The sandbox service in a thread of this process, with a clock the test moves (for what
    takes fifteen minutes otherwise) and the demo registries."""
    with running_sandbox_in_process() as sandbox:
        yield sandbox


# --- a real Celery worker ---------------------------------------------------------------------


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
    env["VERIFICATION_PROVIDERS"] = "sandbox"
    env["SANDBOX_PROVIDER_URL"] = env["SANDBOX_PROVIDER_PUBLIC_URL"] = sandbox_provider.url
    env["SANDBOX_PROVIDER_SECRET"] = sandbox_provider.secret
    env["SANDBOX_PROVIDER_APP_ID"] = sandbox_provider.app_id
    # Verifications routed to a vendor are checked by that vendor's adapter, against the
    # sandbox speaking its protocol: the worker builds any built-in provider by name.
    env.update(vendor_environment(sandbox_provider))
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
        stop_process(process, timeout=30)
        log.close()


@pytest.fixture
def worker(celery_worker_process, sandbox_settings_override):
    """The real worker, calling the sandbox: the sandbox's handle (to inject faults), which also
    knows the worker's log file (``worker_log``)."""
    sandbox = sandbox_settings_override
    sandbox.worker_log = Path(tempfile.gettempdir()) / (
        f"realname-{celery_worker_process.split('@')[0]}.log"
    )
    return sandbox


# --- the browser ------------------------------------------------------------------------------


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


# --- every test's starting point --------------------------------------------------------------


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


@pytest.fixture
def english() -> Iterator[None]:
    """Assertions read the English messages; the site's default language is Chinese. (Pages
    fetched through the test client follow their own Accept-Language instead.)"""
    with translation.override("en"):
        yield


@pytest.fixture
def outbox() -> Iterator[list[SmsMessage]]:
    """The texts the locmem SMS backend sent during the test, and only those."""
    locmem.outbox.clear()
    yield locmem.outbox
    locmem.outbox.clear()


@pytest.fixture
def member() -> User:
    """A user with a verified mobile number who accepted the documents verification needs."""
    return MemberFactory.create()


@pytest.fixture
def desk_client() -> Callable[[User], Client]:
    """``desk_client(user)``: a browser session of ``user`` signed in with phone code and TOTP,
    as allauth records it. (The log-in itself is driven through allauth in
    tests/support/test_access.py and the browser tests.)"""

    def signed_in(user: User) -> Client:
        client = Client(headers={"accept-language": "en"})
        client.force_login(user)
        session = client.session
        session["account_authentication_methods_user"] = str(user.pk)
        session["account_authentication_methods"] = [
            {"method": "code", "at": time.time(), "phone": "(test)"},
            {"method": "mfa", "at": time.time(), "type": "totp"},
        ]
        session.save()
        return client

    return signed_in


#: Names reserved for documentation and tests (RFC 2606, RFC 6761): never a real host.
_RESERVED_SUFFIXES = (".example", ".test", ".invalid", "example.com", "example.net", "example.org")


@pytest.fixture(autouse=True)
def _reserved_names_do_not_resolve(monkeypatch):
    """The tests register webhook endpoints at made-up names (``platform.example``): answer
    "no such name" at once, as a resolver with the internet would, instead of waiting on this
    machine's resolver (up to the registration's time-out per name, and whatever a resolver
    that rewrites failed lookups answers). Real names, ``localhost`` and address literals go to
    the system resolver; the rebinding tests replace the resolver themselves."""
    import socket

    from webhooks import addresses

    real_resolve = addresses.resolve

    def resolve(host: str, port: int):
        if host.lower().rstrip(".").endswith(_RESERVED_SUFFIXES):
            raise socket.gaierror(socket.EAI_NONAME, "a reserved name: it never resolves")
        return real_resolve(host, port)

    monkeypatch.setattr(addresses, "resolve", resolve)
