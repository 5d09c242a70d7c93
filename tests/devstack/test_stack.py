"""The README's run command with nothing configured: a private PostgreSQL, the filesystem broker,
a real worker and the web server come up, /healthz is green, and Ctrl-C stops everything. A
worker or sandbox that crashes is started again."""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from devstack.embedded import EmbeddedPostgres, free_port

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir():
    """A scratch folder the postgres OS user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="realname-stack-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_embedded_postgres_starts_serves_and_stops(workdir):
    cluster = EmbeddedPostgres(workdir / "pg", durable=False)
    url = cluster.start()
    try:
        with psycopg.connect(
            host=str(cluster.socket_dir), user="realname", dbname="realname"
        ) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("realname",)
        assert "%2F" in url  # a Unix socket, no TCP port
    finally:
        cluster.stop()
    assert not (cluster.data_dir / "postmaster.pid").exists()


@dataclass
class Stack:
    """``./dev.sh serve`` running in a test: its process, its port and its console."""

    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def console(self) -> str:
        return self.log_path.read_text()

    def wait_for_console(self, pattern: str, *, after: int = 0, timeout: float = 120) -> re.Match:
        """The first match of ``pattern`` in the console past character ``after``."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.compile(pattern).search(self.console, after)
            if found:
                return found
            assert self.process.poll() is None, self.console[-3000:]
            assert time.monotonic() < deadline, f"no {pattern!r} in:\n{self.console[-3000:]}"
            time.sleep(0.2)

    def healthz(self, query: str = "") -> tuple[int, str]:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/healthz{query}", timeout=30
            ) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


def process_group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@contextlib.contextmanager
def serving(workdir: Path) -> Iterator[Stack]:
    """``./dev.sh serve`` with nothing configured, until it says it is running; stopped with
    Ctrl-C (SIGINT) at the end."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "VERIFICATION_PROVIDERS"}
        and not k.startswith("SANDBOX_PROVIDER_")
    }
    env["DJANGO_SETTINGS_MODULE"] = "realname.settings.dev"
    env["REALNAME_LOCAL_DIR"] = str(workdir / "local")
    env["CELERY_TASK_DEFAULT_QUEUE"] = "realname"
    log_path = workdir / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack.stack", "serve", "--port", str(port)],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        stack = Stack(process, port, log_path)
        try:
            stack.wait_for_console("realname is running")
            yield stack
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(60)


def test_serve_runs_the_whole_service_and_stops_cleanly(workdir):
    with serving(workdir) as stack:
        assert f"open http://127.0.0.1:{stack.port}/" in stack.console

        status, body = stack.healthz("?deep=1")
        assert status == 200
        assert '"task_round_trip": {"ok": true' in body

        # The sandbox identity provider runs beside them, on its own port.
        sandbox = re.search(r"identity provider: sandbox on (http://\S+)", stack.console)
        assert sandbox, stack.console[-3000:]
        with urllib.request.urlopen(f"{sandbox.group(1)}/healthz", timeout=10) as response:  # noqa: S310
            assert response.status == 200
    output = stack.console
    assert stack.process.returncode == 0, output[-3000:]
    assert "database stopped" in output
    assert not (workdir / "local" / "postgres" / "data" / "postmaster.pid").exists()


def test_a_crashed_worker_or_sandbox_is_started_again(workdir):
    with serving(workdir) as stack:
        sandbox_url = re.search(r"identity provider: sandbox on (http://\S+)", stack.console)
        assert sandbox_url, stack.console[-3000:]
        for name in ("worker", "sandbox provider"):
            started = stack.wait_for_console(rf"{name} started \(pid (\d+)\)")
            old_pid = int(started.group(1))
            mark = len(stack.console)

            os.kill(old_pid, signal.SIGKILL)

            stack.wait_for_console(
                rf"{name} exited with code -9; restarting it in 1 s \(restart 1\)", after=mark
            )
            new_pid = int(
                stack.wait_for_console(rf"{name} started again \(pid (\d+)\)", after=mark).group(1)
            )
            assert new_pid != old_pid
            # Nothing of the crashed one is left (the worker's pool and beat): one beat only.
            deadline = time.monotonic() + 10
            while process_group_alive(old_pid):
                assert time.monotonic() < deadline, f"{name}'s processes outlived it"
                time.sleep(0.1)

        # The new worker answers, the new sandbox too: the site is healthy again, by itself.
        deadline = time.monotonic() + 90
        while (status := stack.healthz("?deep=1"))[0] != 200:
            assert time.monotonic() < deadline, status
            time.sleep(1)
        assert '"task_round_trip": {"ok": true' in status[1]
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{sandbox_url.group(1)}/healthz", timeout=5) as answer:  # noqa: S310
                    assert answer.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, stack.console[-3000:]
                time.sleep(0.3)
        assert stack.process.poll() is None  # nothing else was stopped
    assert stack.process.returncode == 0, stack.console[-3000:]
