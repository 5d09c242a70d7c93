"""Where the time goes, for the two bars not (or only just) met: pyinstrument profiles of the
signed-in status page (200 requests, in-process) and of the identity-check task (300 runs in a
real worker, CPU clock: bench/profile_task.py) against the sandbox without added latency. Text
reports go to bench/profiles/.

    ./dev.sh bench profile
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pyinstrument import Profiler

from bench.common import bench_database, hold_queue, setup_django

PROFILES = Path(__file__).resolve().parent / "profiles"


def save(profiler: Profiler, name: str, title: str) -> None:
    PROFILES.mkdir(exist_ok=True)
    text = profiler.output_text(unicode=True, color=False, short_mode=True, show_all=False)
    (PROFILES / f"{name}.txt").write_text(f"{title}\n\n{text}")
    print(f"{title}\n{text}")


def main() -> None:
    setup_django()
    from django.conf import settings
    from django.test import Client

    from bench.pipeline import database_url, start_sandbox
    from tests.factories import MemberFactory, details
    from verification import services

    with bench_database("profile") as connection:
        hold_queue()
        user = MemberFactory.create(face=True)
        verification = services.verification_submit(user=user, **details())
        client = Client()
        client.force_login(user)
        url = f"/verification/personal/{verification.public_id}/"
        for _ in range(10):
            client.get(url)
        profiler = Profiler(interval=0.0005)
        with profiler:
            for _ in range(200):
                client.get(url)
        save(profiler, "status-page", "The signed-in status page, 200 requests in-process")

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
