"""The identity-check task's CPU, as a real worker spends it: a ``celery worker --pool=solo``
(every task in its main thread, so one profile sees them all) under cProfile with the process's
CPU clock, on the pooled database connections production uses, against the sandbox without
added latency. Writes bench/profiles/identity-task.txt: per task, the CPU of each function
(cumulative, its callees included), Celery's own message handling included.

Called by ``./dev.sh bench profile`` (bench/profile.py)."""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import hold_queue

BASE_DIR = Path(__file__).resolve().parent.parent
WARM_UP = 20
RUNS = 300
# A frame shown in the report is called about once per task or more (not start-up work).
SHOWN = 60


def _profiled_worker(argv: list[str], out: str) -> None:
    """Run ``celery`` in this process under cProfile (CPU clock), dump the stats at exit."""
    profile = cProfile.Profile(time.process_time)
    from celery.bin.celery import main as celery_main

    sys.argv = ["celery", *argv]
    profile.enable()
    try:
        celery_main()
    except SystemExit:
        pass
    finally:
        profile.disable()
        profile.dump_stats(out)


def profile_identity_task(connection, env: dict[str, str], title: str) -> str:
    """Profile ``RUNS`` identity checks in a solo worker; return the report's text."""
    from bench.pipeline import cpu_seconds
    from realname.celery import app
    from tests.factories import DEMO, MemberFactory
    from verification import services, tasks
    from verification.models import PersonalVerification

    ids: list[int] = []
    hold_queue(into=ids)
    for _ in range(WARM_UP + RUNS):
        services.verification_submit(user=MemberFactory.create(), **DEMO)
    stats_path = Path(tempfile.gettempdir()) / f"realname-task-{secrets.token_hex(4)}.prof"
    node = f"profile-{secrets.token_hex(4)}@localhost"
    worker_env = {**env, "DATABASE_POOL_MAX_SIZE": env.get("DATABASE_POOL_MAX_SIZE", "2")}
    code = (
        "import sys; from bench.profile_task import _profiled_worker; "
        f"_profiled_worker(sys.argv[1:], {str(stats_path)!r})"
    )
    worker = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
        [
            sys.executable,
            "-c",
            code,
            "-A",
            "realname",
            "worker",
            "--pool=solo",
            "-n",
            node,
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
            "-Q",
            env["CELERY_TASK_DEFAULT_QUEUE"],
        ],
        cwd=BASE_DIR,
        env=worker_env,
    )
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[node], timeout=0.5):
            if time.monotonic() > deadline:
                raise RuntimeError("the profiled worker did not start")

        def run(batch: list[int]) -> None:
            for verification_id in batch:
                tasks.check_identity.delay(verification_id)
            waiting = PersonalVerification.objects.filter(
                pk__in=batch, status=PersonalVerification.Status.SUBMITTED
            )
            while waiting.exists():
                time.sleep(0.05)

        run(ids[:WARM_UP])
        before = cpu_seconds(worker.pid)
        run(ids[WARM_UP:])
        profiled_ms = (cpu_seconds(worker.pid) - before) / RUNS * 1000
    finally:
        worker.terminate()
        worker.wait(60)
    stats = pstats.Stats(str(stats_path))
    if keep := os.environ.get("PROFILE_TASK_STATS"):  # the raw stats, for pstats' callers view
        stats.dump_stats(keep)
    stats_path.unlink(missing_ok=True)
    rows = []
    for (filename, line, function), (_, calls, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if calls >= RUNS * 0.9:
            where = filename.split("site-packages/")[-1].removeprefix(str(BASE_DIR) + "/")
            rows.append((cumulative, calls, f"{where}:{line}({function})"))
    rows.sort(reverse=True)
    # The tasks' CPU under the profiler: the scale the figures below are on. Frames above it
    # (the consumer's loop) or that count the worker's start-up (imports, Celery's signals,
    # which include Django's set-up) say nothing per task.
    total = max(
        (cumulative for cumulative, _, name in rows if "on_task_received" in name), default=0
    )
    start_up = ("importlib", "<frozen", "builtins.exec", "builtins.compile", "__import__")
    rows = [
        row
        for row in rows
        if row[0] <= total * 1.001
        and not any(part in row[2] for part in start_up)
        and "dispatch/signal.py" not in row[2]
    ]
    output = io.StringIO()
    output.write(
        f"{title}\n\nCPU per task under the profiler: {total / RUNS * 1000:.1f} ms (the "
        f"worker's own measure of the same run: {profiled_ms:.1f} ms; without the profiler "
        "see bench/results.md). Per task, cumulative (callees included), frames called about "
        "once per task or more:\n\n"
    )
    output.write(f"{'ms/task':>8}  {'share':>6}  {'calls':>6}  function\n")
    for cumulative, calls, name in rows[:SHOWN]:
        share = cumulative / total if total else 0
        output.write(f"{cumulative / RUNS * 1000:8.2f}  {share:6.0%}  {calls:6d}  {name}\n")
    return output.getvalue()


if __name__ == "__main__":  # pragma: no cover - run through bench/profile.py
    raise SystemExit("run ./dev.sh bench profile")
