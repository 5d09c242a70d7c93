"""Benchmark 2 (and 5, worker memory): N verifications submitted at once, the sandbox provider
answering every call 200 ms late; the time until all identity checks are answered, against the
ideal N × 0.2 s ÷ worker concurrency. Several worker pools are run on the same machine, so the
choice of pool rests on figures.

"Final" here is the end of what the workers do alone: the identity check answered (the face
step waits for a person).

    ./dev.sh bench pipeline [--n 1000] [--configs prefork:2,threads:8x2,threads:16x2,threads:32]

A config is POOL:CONCURRENCY[xWORKER_PROCESSES].
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from bench.common import bench_database, hold_queue, machine, record, setup_django

BASE_DIR = Path(__file__).resolve().parent.parent
LATENCY_MS = 200
SANDBOX_PID: list[int] = []
CPU_PER_TASK: list[tuple[float, float]] = []  # (worker ms, sandbox ms) per verification


def database_url(settings_dict: dict) -> str:
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    user = settings_dict.get("USER") or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


def start_sandbox(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    from devstack.embedded import free_port

    port = free_port()
    env.setdefault("SANDBOX_PROVIDER_LATENCY_MS", str(LATENCY_MS))
    process = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
        [sys.executable, "manage.py", "run_sandbox_provider", "--port", str(port)],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(100):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the sandbox provider did not start")


def start_worker(env: dict[str, str], pool: str, concurrency: int) -> subprocess.Popen:
    from realname.celery import app

    node = f"bench-{secrets.token_hex(4)}@localhost"
    process = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "realname",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "-n",
            node,
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
            "-Q",
            env["CELERY_TASK_DEFAULT_QUEUE"],
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.control.ping(destination=[node], timeout=0.5):
            return process
    process.kill()
    raise RuntimeError("the worker did not start")


def _family(pid: int) -> list[int]:
    """A process and its children (the processes of a prefork pool)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [pid, *(int(child) for child in children.read_text().split())]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process and its children have used so far."""
    total = 0
    for each in _family(pid):
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (a prefork pool), in MiB."""
    total_kb = 0
    for each in _family(pid):
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


def run_once(
    n: int, pool: str, concurrency: int, processes: int, env: dict[str, str]
) -> tuple[float, float]:
    """Seconds until ``n`` submitted verifications are all checked, and the memory of one
    worker (main process and pool)."""
    from tests.factories import DEMO, MemberFactory
    from verification import services, tasks
    from verification.models import PersonalVerification

    queued: list[int] = []
    hold_queue(into=queued)
    for _ in range(n):
        services.verification_submit(user=MemberFactory.create(), **DEMO)
    workers = [start_worker(env, pool, concurrency) for _ in range(processes)]
    worker = workers[0]
    try:
        cpu_before = [cpu_seconds(each.pid) for each in workers]
        sandbox_before = cpu_seconds(SANDBOX_PID[0])
        started = time.perf_counter()
        for verification_id in queued:
            tasks.check_identity.delay(verification_id)
        waiting = PersonalVerification.objects.filter(
            pk__in=queued, status=PersonalVerification.Status.SUBMITTED
        )
        while waiting.exists():
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        memory = rss_mib(worker.pid)
        worker_cpu = sum(cpu_seconds(each.pid) for each in workers) - sum(cpu_before)
        sandbox_cpu = cpu_seconds(SANDBOX_PID[0]) - sandbox_before
        CPU_PER_TASK.append((worker_cpu / n * 1000, sandbox_cpu / n * 1000))
    finally:
        for each in workers:
            each.terminate()
            each.wait(30)
    errors = PersonalVerification.objects.filter(
        pk__in=queued, status=PersonalVerification.Status.ERROR
    ).count()
    if errors:
        print(f"warning: {errors} of {n} ended in error", file=sys.stderr)
    return seconds, memory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--configs", default="prefork:2,threads:8x2,threads:16x2,threads:32")
    options = parser.parse_args()
    setup_django()
    from django.conf import settings

    with bench_database("pipeline") as connection:
        env = os.environ.copy()
        env["DATABASE_URL"] = database_url(connection.settings_dict)
        env["SANDBOX_PROVIDER_SECRET"] = secrets.token_urlsafe(32)
        sandbox, url = start_sandbox(env)
        SANDBOX_PID.append(sandbox.pid)
        env["SANDBOX_PROVIDER_URL"] = env["SANDBOX_PROVIDER_PUBLIC_URL"] = url
        env["VERIFICATION_PROVIDER"] = "verification.providers.sandbox.SandboxProvider"
        settings.SANDBOX_PROVIDER_URL = url
        settings.SANDBOX_PROVIDER_SECRET = env["SANDBOX_PROVIDER_SECRET"]
        rows = []
        try:
            for config in options.configs.split(","):
                pool, size = config.split(":")
                concurrency, _, count = size.partition("x")
                processes = int(count or 1)
                total = int(concurrency) * processes
                n = options.n if total >= 8 else min(options.n, 50 * total)
                seconds, memory = run_once(n, pool, int(concurrency), processes, env)
                ideal = n * LATENCY_MS / 1000 / total
                rows.append(
                    [
                        f"{processes} × {pool} × {concurrency}",
                        str(n),
                        f"{ideal:.1f} s",
                        f"{seconds:.1f} s",
                        f"{ideal / seconds:.2f}×",
                        "met" if ideal / seconds >= 0.8 else "NOT met",
                        f"{memory:.0f} MiB",
                        f"{CPU_PER_TASK[-1][0]:.1f} / {CPU_PER_TASK[-1][1]:.1f} ms",
                    ]
                )
            facts = machine()
        finally:
            sandbox.terminate()
            sandbox.wait(30)
    record(
        "Verification pipeline",
        f"N verifications submitted at once; every sandbox call {LATENCY_MS} ms late. Ideal = "
        "N × 0.2 s ÷ concurrency; the figure is ideal ÷ measured (bar: ≥ 0.8×). Memory: the "
        "worker's resident set (all its processes) after the run.",
        rows,
        [
            "workers × pool × concurrency",
            "N",
            "ideal",
            "measured",
            "× ideal",
            "bar",
            "memory per worker",
            "CPU per verification (worker / sandbox)",
        ],
        facts=facts,
    )


if __name__ == "__main__":
    main()
