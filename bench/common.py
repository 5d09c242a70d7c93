"""What every benchmark shares: a database of its own, the machine's description, timing by
repetition, and appending a section to bench/results.md.

Benchmarks are not tests: they report ratios against a baseline measured in the same run on the
same machine, so a figure means the same on a fast laptop and a noisy CI box."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.md"


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "realname.settings.bench")
    import django

    django.setup()


@contextmanager
def bench_database(label: str):
    """A fresh, migrated database (``test_<name>_<label>``), dropped afterwards."""
    from django.db import connection

    connection.settings_dict["TEST"] = {
        **connection.settings_dict.get("TEST", {}),
        "NAME": f"bench_{label}",
    }
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        yield connection
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)


def machine() -> dict[str, str]:
    from django.db import connection

    memory_kb = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    import celery
    import django

    try:
        revision = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH, as a developer runs it
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        revision = "unknown"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {memory_kb / 1024 / 1024:.1f} GiB, {platform.machine()}",
        "versions": (
            f"Python {platform.python_version()}, Django {django.get_version()}, "
            f"Celery {celery.__version__}, PostgreSQL {postgres.split()[0]}"
        ),
        "revision": revision,
    }


def timed(run: Callable[[], Any], *, repeat: int = 30, warmup: int = 3) -> float:
    """Median wall time of ``run`` in seconds (median: robust to the odd slow run)."""
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def record(
    title: str,
    about: str,
    rows: list[list[str]],
    header: list[str],
    notes: str = "",
    *,
    facts: dict[str, str],
) -> None:
    """Print the table and append it, with the machine (``machine()``), to bench/results.md."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        f"## {title}",
        "",
        f"{facts['date']} · {facts['machine']} · {facts['versions']} · commit {facts['revision']}",
        "",
        about,
        "",
        "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |",
        "| " + " | ".join("-" * w for w in widths) + " |",
        *[
            "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
            for row in rows
        ],
    ]
    if notes:
        lines += ["", notes]
    text = "\n".join(lines) + "\n"
    print(text)
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Benchmark results\n\nAppended by the scripts in bench/ (see README.md).\n\n"
        )
    with RESULTS.open("a", encoding="utf-8") as results:
        results.write(text + "\n")


def hold_queue(into: list[int] | None = None) -> None:
    """For benchmarks without a broker, or that send the work themselves: personal verification
    services queue nothing (or append the verification's id to ``into``)."""
    from verification import services

    def enqueue(task_name: str, verification_id: int) -> None:
        if into is not None:
            into.append(verification_id)

    services.personal.enqueue = enqueue  # type: ignore[method-assign]
