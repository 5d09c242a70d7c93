"""The two database roles a deployment runs with: the **owner**, which owns the tables and runs
the migrations, and the **application role**, which web, worker and beat connect as. The
application role may read and write rows but owns nothing, so it can neither TRUNCATE a table
nor disable or drop a trigger; and on the append-only tables (audit, staff notes, consent
records) it may not UPDATE or DELETE at all, so the trigger is the second guard, not the only one.
Where the law ends a record's life (a closed account's minimal record after its legal period),
the owner provides a narrow door: a ``SECURITY DEFINER`` function that deletes only what it was
written to delete. The application role may EXECUTE only the functions an app names for it
(:func:`app_role_may_execute`: ``accounts_purge_erased_accounts``, docs/privacy/retention.md);
no other security-definer function of the owner, and none of them through PUBLIC. A table an app
names with :func:`app_role_reads_only` (the retention floor) it may only read.

``app_role_grant`` is what ``manage.py grant_app_role`` runs, as the owner, after every
``migrate``: docker-compose's ``migrate`` service, ``./dev.sh serve`` and the tests use it alike."""

from __future__ import annotations

from django.db import connections, transaction

# A table is append-only when a trigger named ``<table>_append_only`` guards it (the migrations
# of accounts and support create them); kernel finds them in the catalogue, knowing no app.
APPEND_ONLY_TRIGGER_SUFFIX = "_append_only"
# Written by ``migrate`` only: the application role reads it (Django checks for unapplied
# migrations) but must not mark a migration as applied.
READ_ONLY_TABLES = ("django_migrations",)
ROW_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"

# Filled by the apps (their AppConfig.ready), since kernel knows no app: the explicit allow-list.
_EXECUTABLE: set[str] = set()
_READ_ONLY: set[str] = set()


def app_role_may_execute(*signatures: str) -> None:
    """Allow the application role to EXECUTE these functions (``name(argument types)``), the
    owner's narrow doors; it may execute no other security-definer function."""
    _EXECUTABLE.update(signatures)


def app_role_reads_only(*tables: str) -> None:
    """The application role may SELECT these tables and nothing more (an owner's setting)."""
    _READ_ONLY.update(tables)


def executable_functions() -> list[str]:
    return sorted(_EXECUTABLE)


def read_only_tables() -> list[str]:
    return sorted({*READ_ONLY_TABLES, *_READ_ONLY})


class RoleError(Exception):
    """The role cannot be the application role; the message says why."""


def append_only_tables(using: str = "default") -> list[str]:
    with connections[using].cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT c.relname FROM pg_trigger t
              JOIN pg_class c ON c.oid = t.tgrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE NOT t.tgisinternal AND n.nspname = current_schema()
               AND t.tgname = c.relname || %s
             ORDER BY 1
            """,
            [APPEND_ONLY_TRIGGER_SUFFIX],
        )
        return [name for (name,) in cursor.fetchall()]


def security_definer_functions(using: str = "default") -> list[str]:
    """The owner's ``SECURITY DEFINER`` functions in the schema, as ``name(argument types)``.
    None is executable through PUBLIC; the application role gets those it is allowed."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            """
            SELECT p.oid::regprocedure::text FROM pg_proc p
              JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = current_schema() AND p.prosecdef
               AND pg_has_role(current_user, p.proowner, 'USAGE')
             ORDER BY 1
            """
        )
        return [name for (name,) in cursor.fetchall()]


def _check_role(cursor, role: str) -> None:
    cursor.execute(
        "SELECT rolsuper, rolname = current_user FROM pg_roles WHERE rolname = %s", [role]
    )
    found = cursor.fetchone()
    if found is None:
        raise RoleError(
            f"There is no database role {role!r}: create it first "
            "(deploy/postgres/init/10-roles.sh does, in docker-compose)."
        )
    superuser, is_current = found
    if superuser:
        raise RoleError(f"{role!r} is a superuser: the application role must not be one.")
    if is_current:
        raise RoleError(
            f"{role!r} is the role running this command (the owner): the application role "
            "must be another one."
        )
    cursor.execute(
        """
        SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
           AND pg_get_userbyid(c.relowner) = %s
        """,
        [role],
    )
    (owned,) = cursor.fetchone()
    if owned:
        raise RoleError(
            f"{role!r} owns {owned} tables or sequences: an owner can switch the append-only "
            "triggers off. Reassign them to the owner (REASSIGN OWNED BY) first."
        )


def _check_owner(cursor) -> None:
    """GRANT on a table one does not own only warns; the command must fail instead."""
    cursor.execute(
        """
        SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
           AND NOT pg_has_role(current_user, c.relowner, 'USAGE')
        """
    )
    (foreign,) = cursor.fetchone()
    if foreign:
        raise RoleError(
            f"{foreign} tables or sequences belong to another role: run this command as the "
            "owner that ran the migrations (its DATABASE_URL)."
        )


def _resolve_functions(cursor, signatures: list[str]) -> list[str]:
    """Each allowed function as the catalogue spells it; a missing one is an error (GRANT would
    fail with less to go on)."""
    resolved = []
    for signature in signatures:
        cursor.execute("SELECT to_regprocedure(%s)::text", [signature])
        (found,) = cursor.fetchone()
        if found is None:
            raise RoleError(
                f"The function {signature} the application role may execute does not exist: "
                "run `manage.py migrate` first."
            )
        resolved.append(found)
    return resolved


def _resolve_tables(cursor, tables: list[str]) -> list[str]:
    for table in tables:
        cursor.execute("SELECT to_regclass(%s)", [table])
        if cursor.fetchone()[0] is None:
            raise RoleError(
                f"The table {table} the application role may only read does not exist: run "
                "`manage.py migrate` first."
            )
    return tables


def app_role_grant(*, role: str, using: str = "default") -> list[str]:
    """Give ``role`` exactly the privileges the application needs, on every table there is now
    and (default privileges) on those later migrations create, and return the append-only
    tables it may only read and insert into. Run as the owner; it can be run again at will."""
    connection = connections[using]
    quote = connection.ops.quote_name
    target = quote(role)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        _check_role(cursor, role)
        _check_owner(cursor)
        cursor.execute("SELECT current_database(), current_schema()")
        database, schema_name = cursor.fetchone()
        schema = quote(schema_name)
        statements = [
            f"GRANT CONNECT ON DATABASE {quote(database)} TO {target}",
            f"GRANT USAGE ON SCHEMA {schema} TO {target}",
            # From a clean slate, so a privilege granted by hand (TRUNCATE, TRIGGER) goes away.
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {target}",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {target}",
            f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {schema} FROM {target}",
            f"GRANT {ROW_PRIVILEGES} ON ALL TABLES IN SCHEMA {schema} TO {target}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {target}",
            # Tables the next migrations create (as this same owner) get the same privileges.
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {ROW_PRIVILEGES} ON TABLES "
            f"TO {target}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES "
            f"TO {target}",
        ]
        for table in _resolve_tables(cursor, read_only_tables()):
            statements.append(f"REVOKE INSERT, UPDATE, DELETE ON {quote(table)} FROM {target}")
        append_only = append_only_tables(using)
        for table in append_only:
            statements.append(f"REVOKE UPDATE, DELETE ON {quote(table)} FROM {target}")
        # Every role may execute a new function (PUBLIC); for a security-definer one that is a
        # door left open, so none keeps it, and the application role gets the allowed ones only.
        for function in security_definer_functions(using):
            statements.append(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")
        for function in _resolve_functions(cursor, executable_functions()):
            statements.append(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")
            statements.append(f"GRANT EXECUTE ON FUNCTION {function} TO {target}")
        for statement in statements:
            cursor.execute(statement)
    return append_only
