"""Where the time goes, for the bars not (or only just) met: pyinstrument profiles of the
status page's polled JSON answer (1,000 requests), the signed-in status page (200 requests),
the submission (200 new accounts, each its first), all in-process, and of the identity-check
task (300 runs in a real worker, CPU clock: bench/profile_task.py). Text reports go to
bench/profiles/, with each request's database statements counted.

    ./dev.sh bench profile [web|task]    (both by default)
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from pyinstrument import Profiler

from bench.common import bench_database, hold_queue, setup_django

PROFILES = Path(__file__).resolve().parent / "profiles"


def save(profiler: Profiler, name: str, title: str) -> None:
    PROFILES.mkdir(exist_ok=True)
    text = profiler.output_text(unicode=True, color=False, short_mode=True, show_all=False)
    (PROFILES / f"{name}.txt").write_text(f"{title}\n\n{text}")
    print(f"{title}\n{text}")


def profile_web(verification) -> None:
    """The status page's JSON answer, the full page and the submission, in-process."""
    from django.conf import settings
    from django.db import connection as db
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tests.factories import DEMO, MemberFactory, resident_id

    user = verification.user
    client = Client()
    client.force_login(user)
    url = f"/verification/personal/{verification.public_id}/"

    def statements(request) -> int:
        with CaptureQueriesContext(db) as queries:
            request()
        return len(queries)

    for name, title, request, count in (
        (
            "status-json",
            "The status page's polled JSON answer, 1,000 requests in-process",
            lambda: client.get(f"{url}status.json"),
            1000,
        ),
        (
            "status-page",
            "The signed-in status page, 200 requests in-process",
            lambda: client.get(url),
            200,
        ),
    ):
        for _ in range(10):
            request()
        queries = statements(request)
        profiler = Profiler(interval=0.0005)
        with profiler:
            for _ in range(count):
                request()
        save(profiler, name, f"{title}; {queries} database statements each")

    # As in the web benchmark: every request comes from one address, which the per-address
    # limit would stop after a few dozen submissions.
    settings.REALNAME_RATE_LIMITS = {"verification_submit": ""}
    submitters = []
    for _ in range(210):
        submitter = Client()
        submitter.force_login(MemberFactory.create())
        submitter.get("/verification/personal/")
        submitters.append(submitter)
    form = {"name": DEMO["name"], "document_type": "cn_resident_id"}

    def submit(submitter: Client) -> None:
        response = submitter.post(
            "/verification/personal/", {**form, "document_number": resident_id()}
        )
        if response.status_code != 302:
            raise SystemExit(f"submission answered {response.status_code}, not a redirect")

    for submitter in submitters[:9]:
        submit(submitter)
    queries = statements(lambda: submit(submitters[9]))
    profiler = Profiler(interval=0.0005)
    with profiler:
        for submitter in submitters[10:]:
            submit(submitter)
    save(
        profiler,
        "submit",
        "The submission (valid, each a new account's first), 200 requests in-process; "
        f"{queries} database statements each",
    )


def main() -> None:
    setup_django()
    from django.conf import settings

    from bench.pipeline import database_url, start_sandbox
    from tests.factories import MemberFactory, details
    from verification import services

    parts = sys.argv[1:] or ["web", "task"]

    with bench_database("profile") as connection:
        hold_queue()
        user = MemberFactory.create(face=True)
        verification = services.verification_submit(user=user, **details())
        if "web" in parts:
            profile_web(verification)
        if "task" not in parts:
            return
        env = os.environ.copy()
        env["DATABASE_URL"] = database_url(connection.settings_dict)
        env["SANDBOX_PROVIDER_SECRET"] = secrets.token_urlsafe(32)
        env["SANDBOX_PROVIDER_LATENCY_MS"] = "0"
        sandbox, sandbox_url = start_sandbox(env)
        try:
            settings.SANDBOX_PROVIDER_URL = sandbox_url
            settings.SANDBOX_PROVIDER_SECRET = env["SANDBOX_PROVIDER_SECRET"]
            from bench.profile_task import profile_identity_task

            env["SANDBOX_PROVIDER_URL"] = env["SANDBOX_PROVIDER_PUBLIC_URL"] = sandbox_url
            title = "The identity-check task in a real worker: CPU per task (bench/profile_task.py)"
            report = profile_identity_task(connection, env, title)
            PROFILES.mkdir(exist_ok=True)
            (PROFILES / "identity-task.txt").write_text(report)
            print(report)
        finally:
            sandbox.terminate()
            sandbox.wait(30)


if __name__ == "__main__":
    main()
