"""The sandbox identity provider run for the tests, and our side of its notifications.

:func:`running_sandbox_process` is the real service in its own process, as in production;
:func:`running_sandbox_in_process` serves it from a thread with a clock the test moves, for what
takes fifteen minutes otherwise. :func:`running_notification_receiver` listens where the vendor
sends its notifications. (The fixtures built on them are in tests/conftest.py.)"""

from __future__ import annotations

import json
import os
import queue
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
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from wsgiref.types import WSGIApplication

import httpx
import pytest

from sandbox import signing
from sandbox.registry import CompanyRegistry, Registry
from sandbox.server import make_sandbox_server
from sandbox.service import SandboxConfig, SandboxService
from sandbox.vendors import serve_vendors
from sandbox.vendors.alipay_signing import generate_key_pair

BASE_DIR = Path(__file__).resolve().parent.parent
SANDBOX_PROVIDER_CLASS = "verification.providers.sandbox.SandboxProvider"
_LISTENING = re.compile(r"sandbox provider listening on (http://\S+)")
NOTIFICATION_WAIT_SECONDS = 15
NO_FAULTS: dict[str, Any] = {
    "latency_ms": 0,
    "error_rate": 0.0,
    "timeout_rate": 0.0,
    "fail_next": 0,
    "callback_duplicates": 0,
    "result_delay_ms": 0,
    "vendor_code": "",
    "bad_signatures": 0,
}


def stop_process(process: subprocess.Popen, *, timeout: float) -> None:
    """Ask a service process to stop (SIGTERM); kill it if it has not within ``timeout``."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class SandboxHandle:
    """A running sandbox service: where it listens, its credentials, and its fault switches."""

    url: str
    secret: str
    app_id: str
    log_path: Path | None = None
    # Alipay signs with RSA: the app's private key (the sandbox was given its public key) and
    # the sandbox's own "Alipay public key", fetched from /_alipay/public-key.
    alipay_app_private_key: str = ""
    alipay_public_key: str = ""

    def signed_post(self, path: str, payload: dict[str, Any]) -> httpx.Response:
        body = json.dumps(payload).encode()
        headers = signing.signed_headers(
            secret=self.secret, app_id=self.app_id, method="POST", path=path, body=body
        )
        headers["Content-Type"] = "application/json"
        return httpx.post(self.url + path, content=body, headers=headers, timeout=10)

    def set_faults(self, **faults: float | str) -> dict[str, Any]:
        """E.g. ``set_faults(fail_next=2)`` or ``set_faults(timeout_rate=1, hang_seconds=5)``."""
        response = self.signed_post("/_faults", faults)
        response.raise_for_status()
        return response.json()

    def clear_faults(self) -> None:
        self.set_faults(**NO_FAULTS)

    def faults(self) -> dict[str, Any]:
        return httpx.get(self.url + "/_faults", timeout=10).json()


@cache
def alipay_app_key_pair() -> tuple[str, str]:
    """The app's RSA key pair for Alipay's protocol, made once per test session:
    (private PEM, public PEM)."""
    return generate_key_pair()


def _alipay_public_key(url: str) -> str:
    response = httpx.get(url + "/_alipay/public-key", timeout=10)
    response.raise_for_status()
    return response.text


def vendor_environment(sandbox: SandboxHandle) -> dict[str, str]:
    """Every vendor adapter's settings (and environment variables: the names are the same)
    pointed at ``sandbox``, which speaks each vendor's protocol with its own credentials, as
    ``./dev.sh serve`` sets them (devstack.stack._point_vendors_at_sandbox)."""
    return {
        "ALIYUN_ENDPOINT": sandbox.url,
        "ALIYUN_ACCESS_KEY_ID": sandbox.app_id,
        "ALIYUN_ACCESS_KEY_SECRET": sandbox.secret,
        "ALIYUN_FACE_SCENE_ID": "1000000001",
        "ALIYUN_ENTERPRISE_SCENE_CODE": "realname_test",
        "TENCENT_ENDPOINT": sandbox.url,
        "TENCENT_SECRET_ID": sandbox.app_id,
        "TENCENT_SECRET_KEY": sandbox.secret,
        "TENCENT_FACE_RULE_ID": "1",
        "ALIPAY_GATEWAY": f"{sandbox.url}/gateway.do",
        "ALIPAY_APP_ID": sandbox.app_id,
        "ALIPAY_APP_PRIVATE_KEY": sandbox.alipay_app_private_key,
        "ALIPAY_PUBLIC_KEY": sandbox.alipay_public_key,
    }


@contextmanager
def running_sandbox_process() -> Iterator[SandboxHandle]:
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
    app_private_key, app_public_key = alipay_app_key_pair()
    key_dir = tempfile.TemporaryDirectory(prefix="realname-alipay-")
    app_public_key_path = Path(key_dir.name) / "app-public-key.pem"
    app_public_key_path.write_text(app_public_key)
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
            "--alipay-app-public-key",
            str(app_public_key_path),
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    try:
        url = _wait_for_start(process, log_path)
        yield SandboxHandle(
            url=url,
            secret=secret,
            app_id=app_id,
            log_path=log_path,
            alipay_app_private_key=app_private_key,
            alipay_public_key=_alipay_public_key(url),
        )
    finally:
        stop_process(process, timeout=10)
        log_file.close()
        key_dir.cleanup()


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
    alipay_app_public_key: str = "",
) -> SandboxService:
    """The service as ``run_sandbox_provider`` builds it; ``company_registry`` is a CSV path,
    empty for the built-in demo."""
    return serve_vendors(
        SandboxService(
            SandboxConfig(
                app_id=app_id,
                secret=secret,
                public_url=public_url,
                registry=Registry.from_csv(),
                companies=CompanyRegistry.from_csv(company_registry),
                notify_retry_delays=(0.1, 0.2),
                alipay_app_public_key=alipay_app_public_key,
            ),
            clock=clock,
        )
    )


@contextmanager
def running_sandbox_in_process(*, company_registry: str | Path = "") -> Iterator[InProcessSandbox]:
    """The sandbox service in a thread of the test process, whose sessions age by a
    :class:`FakeClock` (signatures still follow the wall clock)."""
    clock = FakeClock()
    secret = secrets.token_urlsafe(32)
    app_private_key, app_public_key = alipay_app_key_pair()
    service = build_sandbox_service(
        secret=secret,
        app_id="realname-test",
        clock=clock,
        company_registry=company_registry,
        alipay_app_public_key=app_public_key,
    )
    with serve_in_thread(service) as url:
        service.config = replace(service.config, public_url=url)
        yield InProcessSandbox(
            url=url,
            secret=secret,
            app_id="realname-test",
            alipay_app_private_key=app_private_key,
            alipay_public_key=_alipay_public_key(url),
            clock=clock,
            service=service,
        )


@dataclass(frozen=True)
class Notification:
    path: str  # with the query string (Aliyun's callback is a GET with its fields there)
    body: bytes
    headers: dict[str, str]
    method: str = "POST"

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))


class NotificationReceiver:
    """Where ``notify_url`` points in tests of notifications: records every POST (and GET:
    Aliyun's callbacks), answering 503 to the first ``fail_first`` of them (to see the vendor
    retry) and 200 or 204 afterwards."""

    def __init__(self, url: str, received: queue.Queue[Notification]) -> None:
        self.url = url
        self._received = received

    def wait(self, timeout: float = NOTIFICATION_WAIT_SECONDS) -> Notification:
        """The next notification; fails the test if none comes within ``timeout`` seconds."""
        try:
            return self._received.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no notification arrived within {timeout} s")


@contextmanager
def running_notification_receiver(*, fail_first: int = 0) -> Iterator[NotificationReceiver]:
    received: queue.Queue[Notification] = queue.Queue()
    failures_left = [fail_first]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                failing = failures_left[0] > 0
                failures_left[0] -= 1
            received.put(Notification(self.path, body, dict(self.headers.items())))
            self.send_response(503 if failing else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            with lock:
                failing = failures_left[0] > 0
                failures_left[0] -= 1
            received.put(Notification(self.path, b"", dict(self.headers.items()), method="GET"))
            self.send_response(503 if failing else 200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield NotificationReceiver(
            f"http://127.0.0.1:{server.server_address[1]}/verification/notify/", received
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
