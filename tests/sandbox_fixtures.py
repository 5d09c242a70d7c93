"""Fixtures for the sandbox identity provider, registered by tests/conftest.py.

``sandbox_provider`` is the real service in its own process, as in production; the in-process
``sandbox_in_process`` has a clock the test moves, for what takes fifteen minutes otherwise."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from wsgiref.types import WSGIApplication

import httpx
import pytest

from sandbox import signing
from sandbox.registry import CompanyRegistry, Registry
from sandbox.server import make_sandbox_server
from sandbox.service import SandboxConfig, SandboxService

BASE_DIR = Path(__file__).resolve().parent.parent
SANDBOX_PROVIDER_CLASS = "verification.providers.sandbox.SandboxProvider"
_LISTENING = re.compile(r"sandbox provider listening on (http://\S+)")
NO_FAULTS = {"latency_ms": 0, "error_rate": 0.0, "timeout_rate": 0.0, "fail_next": 0}


@dataclass
class SandboxHandle:
    """A running sandbox service: where it listens, its credentials, and its fault switches."""

    url: str
    secret: str
    app_id: str
    log_path: Path | None = None

    def signed_post(self, path: str, payload: dict[str, Any]) -> httpx.Response:
        body = json.dumps(payload).encode()
        headers = signing.signed_headers(
            secret=self.secret, app_id=self.app_id, method="POST", path=path, body=body
        )
        headers["Content-Type"] = "application/json"
        return httpx.post(self.url + path, content=body, headers=headers, timeout=10)

    def set_faults(self, **faults: float) -> dict[str, Any]:
        """E.g. ``set_faults(fail_next=2)`` or ``set_faults(timeout_rate=1, hang_seconds=5)``."""
        response = self.signed_post("/_faults", faults)
        response.raise_for_status()
        return response.json()

    def clear_faults(self) -> None:
        self.set_faults(**NO_FAULTS)

    def faults(self) -> dict[str, Any]:
        return httpx.get(self.url + "/_faults", timeout=10).json()


@pytest.fixture(scope="session")
def sandbox_provider() -> Iterator[SandboxHandle]:
    """``manage.py run_sandbox_provider --port 0`` as a real subprocess with a random secret;
    its log goes to a temporary file named in any start-up failure."""
    secret = secrets.token_urlsafe(32)
    app_id = "realname-test"
    env = {key: value for key, value in os.environ.items() if not key.startswith("SANDBOX_")}
    env.update(
        DJANGO_SETTINGS_MODULE="realname.settings.test",
        SANDBOX_PROVIDER_SECRET=secret,
        PYTHONUNBUFFERED="1",
    )
    log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed at teardown
        "w+", prefix="realname-sandbox-", suffix=".log", delete=False
    )
    log_path = Path(log_file.name)
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "run_sandbox_provider",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--app-id",
            app_id,
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    try:
        url = _wait_for_start(process, log_path)
        yield SandboxHandle(url=url, secret=secret, app_id=app_id, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_file.close()


def _wait_for_start(process: subprocess.Popen[bytes], log_path: Path) -> str:
    deadline = time.monotonic() + 30
    url = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the sandbox provider exited at start-up; see {log_path}")
        if url is None:
            found = _LISTENING.search(log_path.read_text(errors="replace"))
            url = found.group(1) if found else None
        if url is not None:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the sandbox provider did not start within 30 s; see {log_path}")


@pytest.fixture
def sandbox_settings_override(settings: Any, sandbox_provider: SandboxHandle) -> Iterator[Any]:
    """Point our client (``VERIFICATION_PROVIDER`` and ``SANDBOX_PROVIDER_*``) at the running
    sandbox; its faults are cleared after the test."""
    settings.VERIFICATION_PROVIDER = SANDBOX_PROVIDER_CLASS
    settings.SANDBOX_PROVIDER_URL = sandbox_provider.url
    settings.SANDBOX_PROVIDER_PUBLIC_URL = sandbox_provider.url
    settings.SANDBOX_PROVIDER_SECRET = sandbox_provider.secret
    settings.SANDBOX_PROVIDER_APP_ID = sandbox_provider.app_id
    try:
        yield sandbox_provider
    finally:
        sandbox_provider.clear_faults()


class FakeClock:
    """The in-process sandbox's idea of now: starts at the real time, moves when told."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class InProcessSandbox(SandboxHandle):
    clock: FakeClock = field(default_factory=FakeClock)
    service: SandboxService | None = None


@contextmanager
def serve_in_thread(app: WSGIApplication) -> Iterator[str]:
    """Serve a WSGI app (the sandbox, or a wrapper around it) on a free port; yields its URL."""
    server = make_sandbox_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        close = getattr(app, "close", None)
        if callable(close):
            close()
        server.shutdown()
        server.server_close()
        thread.join(10)


def build_sandbox_service(
    *,
    secret: str,
    app_id: str,
    clock: Callable[[], float],
    public_url: str = "",
    company_registry: str | Path = "",
) -> SandboxService:
    """The service as ``run_sandbox_provider`` builds it; ``company_registry`` is a CSV path,
    empty for the built-in demo."""
    return SandboxService(
        SandboxConfig(
            app_id=app_id,
            secret=secret,
            public_url=public_url,
            registry=Registry.from_csv(),
            companies=CompanyRegistry.from_csv(company_registry),
            notify_retry_delays=(0.1, 0.2),
        ),
        clock=clock,
    )


@contextmanager
def running_sandbox_in_process(*, company_registry: str | Path = "") -> Iterator[InProcessSandbox]:
    """The sandbox service in a thread of the test process, whose sessions age by a
    :class:`FakeClock` (signatures still follow the wall clock)."""
    clock = FakeClock()
    secret = secrets.token_urlsafe(32)
    service = build_sandbox_service(
        secret=secret, app_id="realname-test", clock=clock, company_registry=company_registry
    )
    with serve_in_thread(service) as url:
        service.config = replace(service.config, public_url=url)
        yield InProcessSandbox(
            url=url, secret=secret, app_id="realname-test", clock=clock, service=service
        )


@pytest.fixture
def sandbox_in_process() -> Iterator[InProcessSandbox]:
    """:func:`running_sandbox_in_process` with the demo registries."""
    with running_sandbox_in_process() as sandbox:
        yield sandbox
