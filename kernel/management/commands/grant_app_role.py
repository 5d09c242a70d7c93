"""``manage.py grant_app_role ROLE``: after ``migrate``, as the owner of the tables, give the
application role (web, worker, beat) its privileges: rows only, never ownership, TRUNCATE or
triggers, only SELECT and INSERT on the append-only tables, only SELECT on the tables the apps
name read-only, and EXECUTE on the functions the apps allow it and no other (kernel.dbroles)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kernel.dbroles import RoleError, app_role_grant, executable_functions, read_only_tables


class Command(BaseCommand):
    help = "Grant the application database role what web, worker and beat need, and no more."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="the application role, e.g. realname_app")
        parser.add_argument("--database", default="default")

    def handle(self, *args: object, role: str, database: str, **options: object) -> None:
        try:
            append_only = app_role_grant(role=role, using=database)
        except RoleError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{role}: rows of every table; append-only (read and insert only): "
            f"{', '.join(append_only) or 'none'}; read only: {', '.join(read_only_tables())}; "
            f"may execute: {', '.join(executable_functions()) or 'no function'}"
        )
