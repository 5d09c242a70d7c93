"""Benchmark 3: what the Postgres rules cost, and what they buy under a race.

Cost: single-row inserts of open verifications (each in its own transaction, as a web request
makes them) into the real table, against the same table without its two partial unique
constraints (one active verification per mobile number, one per account). Race: 200 claims of
one mobile number through the real service, as concurrently as the database allows: exactly one
may win.

    ./dev.sh bench constraints [--rows 20000]
"""

from __future__ import annotations

import argparse
import threading
import time

from bench.common import bench_database, hold_queue, machine, record, setup_django

COLUMNS = (
    "public_id, user_id, phone, document_type, name, document_number, document_number_hash, "
    "birth_date, status, reason_code, result, provider, provider_failures, liveness_restarts, "
    "liveness_ref, liveness_url, return_url, notify_url, created_at, updated_at"
)
VALUES = (
    "gen_random_uuid(), %s, %s, 'cn_resident_id', 'v1:x:x', 'v1:x:x', md5(%s) || "
    "md5(%s), 'v1:x:x', 'submitted', '', 'v1:x:x', 'sandbox', 0, 0, '', '', '', '', "
    "now(), now()"
)


def make_users(cursor, count: int) -> int:
    cursor.execute(
        "INSERT INTO accounts_user (password, is_superuser, phone, phone_verified, email, "
        "is_staff, is_active, date_joined, public_id) "
        "SELECT '', false, '+86' || (15000000000 + i)::text, true, '', false, true, now(), "
        "gen_random_uuid() FROM generate_series(1, %s) AS i",
        [count],
    )
    cursor.execute("SELECT min(id) FROM accounts_user")
    return int(cursor.fetchone()[0])


def insert_rate(connection, table: str, first_user: int, rows: int, offset: int) -> float:
    """Rows per second, one autocommitted INSERT each."""
    raw = connection.connection  # the psycopg connection, in autocommit (Django's default)
    sql = f"INSERT INTO {table} ({COLUMNS}) VALUES ({VALUES})"  # noqa: S608 - fixed names
    started = time.perf_counter()
    with raw.cursor() as cursor:
        for i in range(rows):
            n = offset + i
            cursor.execute(sql, [first_user + n, f"+86{16000000000 + n}", str(n), str(-n)])
    return rows / (time.perf_counter() - started)


def race(claims: int, threads: int) -> tuple[list[str], float]:
    """``claims`` users claim one number through verification_submit, ``threads`` at a time."""
    from django.db import connection as main_connection
    from django.db import connections

    from tests.factories import MemberFactory, details
    from verification import services

    hold_queue()  # no broker in this benchmark
    users = [MemberFactory.create() for _ in range(claims)]
    contested = str(users[0].phone)
    outcomes: list[str] = []
    lock = threading.Lock()
    queue = list(users)
    barrier = threading.Barrier(threads + 1)
    main_connection.close()

    def claimant() -> None:
        barrier.wait()
        while True:
            with lock:
                if not queue:
                    break
                user = queue.pop()
            user.phone = contested  # as if each had held the number in turn
            try:
                services.verification_submit(user=user, **details())
                outcome = "won"
            except Exception as error:  # counted, not lost
                outcome = getattr(error, "code", None) or type(error).__name__
            with lock:
                outcomes.append(str(outcome))
        connections.close_all()

    workers = [threading.Thread(target=claimant) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    return outcomes, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--claims", type=int, default=200)
    options = parser.parse_args()
    setup_django()

    with bench_database("constraints") as connection:
        with connection.cursor() as cursor:
            first_user = make_users(cursor, 2 * options.rows + 10)
            cursor.execute(
                "CREATE TABLE bench_plain (LIKE verification_personalverification INCLUDING ALL)"
            )
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'bench_plain' "
                "AND indexdef LIKE 'CREATE UNIQUE%%' AND indexdef LIKE '%%WHERE%%'"
            )
            partial = [name for (name,) in cursor.fetchall()]
            for name in partial:
                cursor.execute(f'DROP INDEX "{name}"')
            cursor.execute("SHOW max_connections")
            max_connections = int(cursor.fetchone()[0])
        # Alternate the two, twice, so neither profits from a warmer cache.
        half = options.rows // 2
        plain = [insert_rate(connection, "bench_plain", first_user, half, 0)]
        real = [insert_rate(connection, "verification_personalverification", first_user, half, 0)]
        plain.append(insert_rate(connection, "bench_plain", first_user, half, half))
        real.append(
            insert_rate(connection, "verification_personalverification", first_user, half, half)
        )
        plain_rate, real_rate = sum(plain) / 2, sum(real) / 2

        threads = min(options.claims, max_connections - 10)
        outcomes, race_seconds = race(options.claims, threads)
        facts = machine()

    winners = outcomes.count("won")
    counts = {outcome: outcomes.count(outcome) for outcome in sorted(set(outcomes))}
    record(
        "Constraint cost and the race for one mobile number",
        f"{options.rows:,} single-row inserts of open verifications, with the partial unique "
        "constraints against the same table without them; then "
        f"{options.claims} claims of one number through `verification_submit`.",
        [
            [
                "inserts without the 2 partial unique constraints",
                f"{plain_rate:,.0f} rows/s",
                "1.00×",
            ],
            [
                "inserts with them (the real table)",
                f"{real_rate:,.0f} rows/s",
                f"{real_rate / plain_rate:.2f}×",
            ],
            [
                f"race: {options.claims} claims, {threads} at a time",
                f"{race_seconds:.2f} s",
                f"{winners} winner(s): {counts}",
            ],
        ],
        ["measure", "figure", "ratio / outcome"],
        f"Dropped from the copy: {', '.join(partial)}. The race ran {threads} connections at once "
        f"(the server allows {max_connections}). Bar: exactly one winner — "
        + ("met." if winners == 1 else "NOT met."),
        facts=facts,
    )


if __name__ == "__main__":
    main()
