from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kernel.retention import jobs, run_job


class Command(BaseCommand):
    help = (
        "Run the retention jobs (docs/privacy/retention.md) now, as Celery beat does daily: "
        "all of them, or those named with --job. --dry-run counts what would change and "
        "changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--job", action="append", dest="job_names", help="a job's name (repeatable)"
        )
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--list", action="store_true", help="list the jobs and exit")
        parser.add_argument(
            "--now",
            help="ISO date-time to count the periods back from (default: now); for replays",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        known = jobs()
        if options["list"]:
            for job in known.values():
                self.stdout.write(f"{job.name}: {job.description}")
            return
        names = options["job_names"] or list(known)
        unknown = [name for name in names if name not in known]
        if unknown:
            raise CommandError(f"unknown job(s): {', '.join(unknown)}; known: {', '.join(known)}")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        now = None
        if options["now"]:
            try:
                now = datetime.fromisoformat(options["now"])
            except ValueError as exc:
                raise CommandError(f"--now: {exc}") from exc
            if timezone.is_naive(now):
                now = timezone.make_aware(now)
        for name in names:
            counts = run_job(
                name, now=now, dry_run=options["dry_run"], batch_size=options["batch_size"]
            )
            verb = "would change" if options["dry_run"] else "changed"
            summary = ", ".join(f"{what}={count}" for what, count in counts.items())
            self.stdout.write(f"{name}: {verb} {summary}")
