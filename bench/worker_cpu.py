"""Worker CPU per verification, part by part (issue #18: where the ≤ 5 ms goes).

The same identity check measured three ways in one run, each as CPU time (``process_time`` in
this process, ``/proc`` for a worker), against the sandbox answering at once, on psycopg's
pool as production runs:

1. each part of the task body alone, in this process: reading the verification (its person key
   not yet cached, as for every new person), the vendor's HTTP call, recording the answer, the
   provider's Redis counters;
2. the whole task body through Celery's tracer in this process (``Task.apply``: no broker);
3. a real worker process (threads pool) fed through the broker, as ``./dev.sh bench pipeline``
   measures it. ``CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:5672// ./dev.sh bench
   worker_cpu`` measures it on RabbitMQ instead (realname.settings.bench).

The difference between 2 and 3 is what the worker costs around the task: taking the message
from the broker, handing it to a thread, acknowledging it, Celery's signals and the Django
fix-up that returns the database connection before and after every task.

    ./dev.sh bench worker_cpu [--n 1000] [--threads 8]
"""

from __future__ import annotations

import argparse
import os
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from bench.common import bench_database, hold_queue, machine, record, setup_django

PARTS_N = 400
WARM_UP = 20


def cpu_ms(run: Callable[[Any], object], items: Iterable[Any]) -> float:
    """CPU milliseconds of this process per call of ``run`` over ``items``."""
    items = list(items)
    start = time.process_time()
    for item in items:
        run(item)
    return (time.process_time() - start) / len(items) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000, help="verifications for the real worker")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--pool", default="threads", help="the worker's pool: threads or solo")
    options = parser.parse_args()
    # As production: the pool, in this process and in the workers it starts.
    os.environ.setdefault("DATABASE_POOL_MAX_SIZE", "8")
    setup_django()
    from django.conf import settings

    from bench import pipeline
    from kernel import alerts, metrics
    from kernel.crypto import forget_person_key
    from tests.factories import DEMO, MemberFactory
    from verification import services, tasks
    from verification.models import PersonalVerification
    from verification.providers import get_provider, router

    with bench_database("worker_cpu") as connection:
        env = os.environ.copy()
        env["DATABASE_URL"] = pipeline.database_url(connection.settings_dict)
        env["SANDBOX_PROVIDER_SECRET"] = secrets.token_urlsafe(32)
        sandbox, url = pipeline.start_sandbox(env)
        pipeline.SANDBOX["pid"] = sandbox.pid
        env["SANDBOX_PROVIDER_URL"] = env["SANDBOX_PROVIDER_PUBLIC_URL"] = url
        env["VERIFICATION_PROVIDER"] = "verification.providers.sandbox.SandboxProvider"
        settings.SANDBOX_PROVIDER_URL = url
        settings.SANDBOX_PROVIDER_SECRET = env["SANDBOX_PROVIDER_SECRET"]
        try:
            ids: list[int] = []
            hold_queue(into=ids)
            for _ in range(2 * PARTS_N + WARM_UP):
                services.verification_submit(user=MemberFactory.create(), **DEMO)
            for pk in ids[:WARM_UP]:
                tasks.check_identity.apply(args=[pk])
            whole_ids, part_ids = ids[WARM_UP : WARM_UP + PARTS_N], ids[WARM_UP + PARTS_N :]

            def whole(pk: int) -> None:
                forget_person_key()  # each task is a new person: no key in this process yet
                tasks.check_identity.apply(args=[pk])

            def fetch(pk: int) -> PersonalVerification | None:
                forget_person_key()
                return PersonalVerification.objects.filter(pk=pk).first()

            provider = get_provider("sandbox")
            answers: dict[int, Any] = {}

            def call(verification: PersonalVerification) -> None:
                answers[verification.pk] = provider.check_identity(
                    request_id=f"{verification.public_id}:identity",
                    identity=tasks._identity(verification),
                )

            def answer(verification: PersonalVerification) -> None:
                services.verification_record_identity_result(
                    verification_id=verification.pk,
                    result=answers[verification.pk],
                    seen=verification,
                )

            def counters(_: object) -> None:
                metrics.observe_call(kind="provider", name="sandbox", outcome="ok", seconds=0.1)
                router.record_success("sandbox")
                alerts.record_call("provider", "sandbox", True)

            whole_ms = cpu_ms(whole, whole_ids)
            # Read again (which caches each person's key, as a task's read does): the answer is
            # recorded with the key the read cached.
            seen = [PersonalVerification.objects.get(pk=pk) for pk in part_ids]
            calling = cpu_ms(call, seen)
            recording = cpu_ms(answer, seen)
            parts = [
                ("reading the verification and its person key", cpu_ms(fetch, part_ids)),
                ("the vendor's HTTP call (sandbox, signed)", calling),
                ("recording the answer (UPDATE, event, webhooks' outbox)", recording),
                ("the provider's counters in Redis (3 round trips)", cpu_ms(counters, seen)),
            ]
            broker = settings.CELERY_BROKER_URL.split(":", 1)[0]
            run = pipeline.run_once(
                options.n,
                options.pool,
                options.threads,
                1,
                env,
                connection.settings_dict["NAME"],
                None,
            )
            facts = machine()
        finally:
            sandbox.terminate()
            sandbox.wait(30)
    rows = [[name, f"{ms:.2f} ms", ""] for name, ms in parts]
    rows.append(["sum of the parts", f"{sum(ms for _, ms in parts):.2f} ms", ""])
    rows.append(
        ["the whole task body through Celery's tracer (no broker)", f"{whole_ms:.2f} ms", ""]
    )
    rows.append(
        [
            f"a real worker, {options.pool} × {options.threads}, {broker} broker, {run.n} verifications",
            f"{run.worker_cpu_ms:.2f} ms",
            f"{run.worker_cpu_ms - whole_ms:+.2f} ms around the task body; "
            f"{run.n / run.seconds:.0f}/s; sandbox {run.sandbox_cpu_ms:.2f} ms",
        ]
    )
    record(
        "Worker CPU per verification, part by part",
        "One identity check against the sandbox answering at once, psycopg's pool (8). Parts and "
        f"the whole body: {PARTS_N} checks each in the benchmark's process, CPU time; the read "
        "and the whole body with no person's key cached yet, as for each new person, the answer "
        "with the key its read cached, as in a task. The real worker: CPU of its process over the run ÷ N "
        "(bar: ≤ 5 ms per verification).",
        rows,
        ["what", "CPU per verification", "notes"],
        f"Load average at the end: {os.getloadavg()[0]:.2f}.",
        facts=facts,
    )


if __name__ == "__main__":
    main()
