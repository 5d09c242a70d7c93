"""No personal data in the database server's log: a unique violation on a phone number leaves
the error in the log but neither the key (the DETAIL line) nor the statement's values, on the
private cluster ``./dev.sh`` runs (devstack.embedded) with the settings docker-compose.yml
gives its postgres service too (tests/realname/test_docker_compose.py compares them)."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from devstack.embedded import APP_ROLE, OWNER_ROLE, EmbeddedPostgres


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedPostgres]:
    path = Path(tempfile.mkdtemp(prefix="realname-pglog-test-"))
    path.chmod(0o755)  # as root, the cluster runs as the postgres OS user
    postgres = EmbeddedPostgres(path / "pg", durable=False)
    postgres.start()
    try:
        yield postgres
    finally:
        postgres.stop()
        shutil.rmtree(path, ignore_errors=True)


def connect(cluster: EmbeddedPostgres, role: str) -> psycopg.Connection:
    """Values bound on the client, as Django's PostgreSQL backend sends them: the statement
    text holds the phone number itself."""
    return psycopg.connect(
        host=str(cluster.socket_dir),
        user=role,
        dbname=cluster.database,
        autocommit=True,
        cursor_factory=psycopg.ClientCursor,
    )


def log_after(cluster: EmbeddedPostgres, start: int, expected: str) -> str:
    """The log written since ``start``, once ``expected`` is in it (the server writes it as the
    error happens; this waits for the write, with a deadline)."""
    deadline = time.monotonic() + 15
    while True:
        text = cluster.log_file.read_bytes()[start:].decode(errors="replace")
        if expected in text or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def violate(conn: psycopg.Connection, phone: str) -> None:
    conn.execute("INSERT INTO people (phone) VALUES (%s)", [phone])
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO people (phone) VALUES (%s)", [phone])


def test_a_unique_violation_leaves_no_phone_number_in_the_server_log(cluster):
    with connect(cluster, OWNER_ROLE) as conn:
        conn.execute("CREATE TABLE people (id serial PRIMARY KEY, phone text UNIQUE)")
        start = cluster.log_file.stat().st_size
        violate(conn, "+8613700001234")

        log = log_after(cluster, start, "duplicate key value violates unique constraint")
        assert 'duplicate key value violates unique constraint "people_phone_key"' in log
        assert "13700001234" not in log
        assert "DETAIL" not in log and "STATEMENT" not in log

    # The same error under the server's defaults does log the number: the test can see it.
    with connect(cluster, cluster.superuser) as conn:
        conn.execute("SET log_error_verbosity = verbose")
        conn.execute("SET log_min_error_statement = error")
        start = cluster.log_file.stat().st_size
        violate(conn, "+8613700005678")
        log = log_after(cluster, start, "DETAIL")
        assert "DETAIL:  Key (phone)=(+8613700005678) already exists" in log
        assert "VALUES ('+8613700005678')" in log


def test_the_private_cluster_has_the_roles_of_a_deployment(cluster):
    with connect(cluster, cluster.superuser) as conn:
        roles: dict[str, bool] = dict(
            conn.execute(
                "SELECT rolname, rolsuper FROM pg_roles WHERE rolname IN (%s, %s)",
                [OWNER_ROLE, APP_ROLE],
            ).fetchall()
        )
        assert roles == {OWNER_ROLE: False, APP_ROLE: False}
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
            [cluster.database],
        ).fetchone()
        assert owner == (OWNER_ROLE,)
    with connect(cluster, APP_ROLE) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("CREATE TABLE intruder (id int)")
