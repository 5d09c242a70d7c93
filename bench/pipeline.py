"""Benchmark 2 (and 5, worker memory): N verifications submitted at once against a vendor that
answers every call late (2 s by default, as real ones do); the time until all identity checks
are answered and each person's time to verdict, for each worker configuration.

Each configuration runs twice on the same machine: once with the vendor answering at once,
which measures the CPU ceiling (verifications per second when nothing waits), then with the
latency. The bar compares the second run with the better bound it could reach: the ideal at
the configured concurrency (N × latency ÷ threads) or the CPU ceiling, whichever is slower.

"Final" here is the end of what the workers do alone: the identity check answered (the face
step waits for a person). The bench also checks what must never happen under load: a
verification left waiting or stopped in ``error``, and PostgreSQL refusing connections ("too
many clients": counted in the worker's log and in the server's log, for this database).

    ./dev.sh bench pipeline [--n 1000] [--latency-ms 2000] [--configs threads:64x2]
                            [--db-pool 8] [--postgres-log PATH]

A config is POOL:CONCURRENCY[xWORKER_PROCESSES]. ``--db-pool 0`` runs the workers without the
connection pool (one connection per thread), as before issue #18.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from bench.common import bench_database, hold_queue, machine, record, setup_django

BASE_DIR = Path(__file__).resolve().parent.parent
SANDBOX: dict[str, str | int] = {}
TOO_MANY = "too many clients"
BUSY_RETRY = "database busy"
# A run that has not finished after this long is reported as it stands (the bar is not met).
RUN_DEADLINE_SECONDS = 900


def database_url(settings_dict: dict) -> str:
    # A socket directory (the dev stack's embedded server) is percent-encoded in the host.
    host = quote(settings_dict.get("HOST") or "127.0.0.1", safe="")
    port = settings_dict.get("PORT") or 5432
    user = settings_dict.get("USER") or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


def start_sandbox(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    from devstack.embedded import free_port

    port = free_port()
    env.setdefault("SANDBOX_PROVIDER_LATENCY_MS", "0")
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


def set_latency(url: str, secret: str, app_id: str, latency_ms: int) -> None:
    """The sandbox's fault ``latency_ms``: every vendor call waits this long before answering."""
    import httpx

    from sandbox import signing

    body = json.dumps({"latency_ms": latency_ms}).encode()
    headers = signing.signed_headers(
        secret=secret, app_id=app_id, method="POST", path="/_faults", body=body
    )
    headers["Content-Type"] = "application/json"
    httpx.post(f"{url}/_faults", content=body, headers=headers, timeout=10).raise_for_status()


def start_worker(
    env: dict[str, str], pool: str, concurrency: int, log_path: Path
) -> subprocess.Popen:
    from realname.celery import app

    node = f"bench-{secrets.token_hex(4)}@localhost"
    with log_path.open("ab") as log:
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
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.control.ping(destination=[node], timeout=0.5):
            return process
    process.kill()
    raise RuntimeError(f"the worker did not start; see {log_path}")


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


def postgres_log(option: str) -> Path | None:
    """The server's log, to count refused connections: ``--postgres-log``, else Debian's."""
    if option:
        return Path(option)
    found = sorted(glob.glob("/var/log/postgresql/postgresql-*-main.log"))
    return Path(found[-1]) if found else None


def refusals_in_log(path: Path | None, offset: int, database: str) -> int | None:
    """'too many clients' lines for ``database`` written to the server's log since ``offset``;
    None when the log cannot be read."""
    if path is None:
        return None
    try:
        with path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return None
    return sum(1 for line in text.splitlines() if TOO_MANY in line and f"@{database} " in line)


def log_size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path else 0
    except OSError:
        return 0


@dataclass
class Run:
    n: int
    seconds: float
    memory: float
    worker_cpu_ms: float  # per verification, all worker processes
    sandbox_cpu_ms: float
    verdict_p50: float
    verdict_p99: float
    waiting: int  # still submitted at the end (the bar: 0)
    errors: int  # in error (the bar: 0)
    refused_in_worker_log: int
    busy_retries: int
    refused_in_server_log: int | None


def run_once(
    n: int,
    pool: str,
    concurrency: int,
    processes: int,
    env: dict[str, str],
    database: str,
    server_log: Path | None,
) -> Run:
    """Submit ``n`` verifications (queue held), start the workers, send every task at once and
    wait until none is waiting any more."""
    from tests.factories import DEMO, MemberFactory
    from verification import services, tasks
    from verification.models import PersonalVerification

    queued: list[int] = []
    hold_queue(into=queued)
    for _ in range(n):
        services.verification_submit(user=MemberFactory.create(), **DEMO)
    log_path = Path(tempfile.gettempdir()) / f"realname-bench-worker-{secrets.token_hex(4)}.log"
    workers = [start_worker(env, pool, concurrency, log_path) for _ in range(processes)]
    server_log_offset = log_size(server_log)
    try:
        cpu_before = [cpu_seconds(each.pid) for each in workers]
        sandbox_before = cpu_seconds(int(SANDBOX["pid"]))
        started = time.perf_counter()
        sent_at = datetime.now().astimezone()
        for verification_id in queued:
            tasks.check_identity.delay(verification_id)
        waiting = PersonalVerification.objects.filter(
            pk__in=queued, status=PersonalVerification.Status.SUBMITTED
        )
        deadline = started + RUN_DEADLINE_SECONDS
        while waiting.exists() and time.perf_counter() < deadline:
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        memory = rss_mib(workers[0].pid)
        worker_cpu = sum(cpu_seconds(each.pid) for each in workers) - sum(cpu_before)
        sandbox_cpu = cpu_seconds(int(SANDBOX["pid"])) - sandbox_before
    finally:
        for each in workers:
            each.terminate()
            each.wait(60)
    answered = PersonalVerification.objects.filter(pk__in=queued, identity_checked_at__isnull=False)
    # Time to verdict: from the moment the task was sent (all within a fraction of a second)
    # to the recorded answer. A failed check records its completion instead.
    verdicts = sorted(
        (checked - sent_at).total_seconds()
        for checked in answered.values_list("identity_checked_at", flat=True)
        if checked is not None
    ) + sorted(
        (done - sent_at).total_seconds()
        for done in PersonalVerification.objects.filter(
            pk__in=queued, identity_checked_at__isnull=True, completed_at__isnull=False
        )
        .exclude(status=PersonalVerification.Status.ERROR)
        .values_list("completed_at", flat=True)
        if done is not None
    )
    verdicts.sort()
    worker_log = log_path.read_text(errors="replace")
    return Run(
        n=n,
        seconds=seconds,
        memory=memory,
        worker_cpu_ms=worker_cpu / n * 1000,
        sandbox_cpu_ms=sandbox_cpu / n * 1000,
        verdict_p50=statistics.median(verdicts) if verdicts else float("nan"),
        verdict_p99=verdicts[min(len(verdicts) - 1, int(len(verdicts) * 0.99))]
        if verdicts
        else float("nan"),
        waiting=waiting.count(),
        errors=PersonalVerification.objects.filter(
            pk__in=queued, status=PersonalVerification.Status.ERROR
        ).count(),
        refused_in_worker_log=worker_log.count(TOO_MANY),
        busy_retries=worker_log.count(BUSY_RETRY),
        refused_in_server_log=refusals_in_log(server_log, server_log_offset, database),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=2000)
    parser.add_argument("--configs", default="threads:64x2")
    parser.add_argument(
        "--db-pool", type=int, default=8, help="connections per worker process; 0: no pool"
    )
    parser.add_argument("--postgres-log", default="")
    parser.add_argument(
        "--no-ceiling", action="store_true", help="skip the run without latency (quicker)"
    )
    options = parser.parse_args()
    setup_django()
    from django.conf import settings

    server_log = postgres_log(options.postgres_log)
    latency = options.latency_ms
    with bench_database("pipeline") as connection:
        database = connection.settings_dict["NAME"]
        env = os.environ.copy()
        env["DATABASE_URL"] = database_url(connection.settings_dict)
        env["DATABASE_POOL_MAX_SIZE"] = str(options.db_pool)
        env["SANDBOX_PROVIDER_SECRET"] = secrets.token_urlsafe(32)
        sandbox, url = start_sandbox(env)
        SANDBOX["pid"] = sandbox.pid
        env["SANDBOX_PROVIDER_URL"] = env["SANDBOX_PROVIDER_PUBLIC_URL"] = url
        env["VERIFICATION_PROVIDER"] = "verification.providers.sandbox.SandboxProvider"
        # A worker must not give up on a vendor that answers in 2 s under load.
        env["SANDBOX_PROVIDER_TIMEOUT"] = str(max(10.0, latency / 1000 * 5))
        settings.SANDBOX_PROVIDER_URL = url
        settings.SANDBOX_PROVIDER_SECRET = env["SANDBOX_PROVIDER_SECRET"]
        from sandbox.app_settings import sandbox_settings

        app_id = sandbox_settings.APP_ID

        rows, checks = [], []
        load_before = os.getloadavg()
        try:
            for config in options.configs.split(","):
                pool, size = config.split(":")
                concurrency, _, count = size.partition("x")
                processes = int(count or 1)
                total = int(concurrency) * processes
                n = options.n
                ceiling = None
                if not options.no_ceiling:
                    set_latency(url, env["SANDBOX_PROVIDER_SECRET"], app_id, 0)
                    ceiling = run_once(
                        n, pool, int(concurrency), processes, env, database, server_log
                    )
                set_latency(url, env["SANDBOX_PROVIDER_SECRET"], app_id, latency)
                run = run_once(n, pool, int(concurrency), processes, env, database, server_log)
                ideal = n * latency / 1000 / total
                bound = max(ideal, ceiling.seconds if ceiling else 0.0)
                ratio = bound / run.seconds
                rows.append(
                    [
                        f"{processes} × {pool} × {concurrency}",
                        str(n),
                        f"{ideal:.1f} s",
                        f"{ceiling.seconds:.1f} s ({n / ceiling.seconds:.0f}/s)"
                        if ceiling
                        else "—",
                        f"{run.seconds:.1f} s",
                        f"{ratio:.2f}×",
                        "met" if ratio >= 0.8 else "NOT met",
                        f"{run.verdict_p50:.1f} / {run.verdict_p99:.1f} s",
                        f"{run.worker_cpu_ms:.1f} / {run.sandbox_cpu_ms:.1f} ms"
                        + (f" ({ceiling.worker_cpu_ms:.1f})" if ceiling else ""),
                        f"{run.memory:.0f} MiB",
                    ]
                )
                for label, each in (("ceiling", ceiling), (f"{latency} ms", run)):
                    if each is None:
                        continue
                    server = (
                        "unreadable"
                        if each.refused_in_server_log is None
                        else str(each.refused_in_server_log)
                    )
                    clean = (
                        each.waiting == 0
                        and each.errors == 0
                        and each.refused_in_worker_log == 0
                        and not each.refused_in_server_log
                    )
                    checks.append(
                        [
                            f"{processes} × {pool} × {concurrency}, {label}",
                            str(each.waiting),
                            str(each.errors),
                            f"{each.refused_in_worker_log} / {server}",
                            str(each.busy_retries),
                            "met" if clean else "NOT met",
                        ]
                    )
            facts = machine()
        finally:
            sandbox.terminate()
            sandbox.wait(30)
    load_after = os.getloadavg()
    header = [
        "workers × pool × threads",
        "N",
        "ideal (N × latency ÷ threads)",
        "CPU ceiling (no latency)",
        "measured",
        "× better bound",
        "bar",
        "time to verdict p50 / p99",
        "worker / sandbox CPU per verification (at no latency)",
        "memory per worker",
    ]
    check_header = [
        "run",
        "left waiting",
        "in error",
        "'too many clients' (worker log / server log)",
        "retries for a busy database",
        "bar",
    ]
    widths = [
        max(len(str(r[i])) for r in [check_header, *checks]) for i in range(len(check_header))
    ]
    check_table = "\n".join(
        [
            "| " + " | ".join(h.ljust(w) for h, w in zip(check_header, widths, strict=True)) + " |",
            "| " + " | ".join("-" * w for w in widths) + " |",
            *[
                "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
                for r in checks
            ],
        ]
    )
    record(
        "Verification pipeline",
        f"N verifications submitted at once; every sandbox call {latency} ms late. The bound a "
        "run can reach is the slower of the ideal at its concurrency and the CPU ceiling "
        "measured in the same run without latency; the figure is that bound ÷ measured "
        "(bar: ≥ 0.8×). Time to verdict: from the task's sending to the recorded answer. "
        f"Worker database pool: {options.db_pool or 'none'} connections per process. "
        f"Load average before / after: {load_before[0]:.1f} / {load_after[0]:.1f}.",
        rows,
        header,
        notes="Under load (bar: nothing left waiting, nothing in error, no connection refused):\n\n"
        + check_table,
        facts=facts,
    )


if __name__ == "__main__":
    main()
