"""The README's run command with nothing configured: a private PostgreSQL, the filesystem broker,
a real worker and the web server come up, /healthz is green, and Ctrl-C stops everything."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
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


def test_serve_runs_the_whole_service_and_stops_cleanly(workdir):
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
        try:
            deadline = time.monotonic() + 120
            while "realname is running" not in log_path.read_text() and process.poll() is None:
                assert time.monotonic() < deadline, log_path.read_text()[-3000:]
                time.sleep(0.5)
            assert process.poll() is None, log_path.read_text()[-3000:]
            assert f"open http://127.0.0.1:{port}/" in log_path.read_text()

            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/healthz?deep=1", timeout=30
            ) as response:
                body = response.read().decode()
            assert response.status == 200
            assert '"task_round_trip": {"ok": true' in body

            # The sandbox identity provider runs beside them, on its own port.
            sandbox = re.search(r"identity provider: sandbox on (http://\S+)", log_path.read_text())
            assert sandbox, log_path.read_text()[-3000:]
            with urllib.request.urlopen(f"{sandbox.group(1)}/healthz", timeout=10) as response:  # noqa: S310
                assert response.status == 200
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(60)
    output = log_path.read_text()
    assert process.returncode == 0, output[-3000:]
    assert "database stopped" in output
    assert not (workdir / "local" / "postgres" / "data" / "postmaster.pid").exists()
