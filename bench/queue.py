"""Benchmark 4: the support desk's review queue at 1,000,000 verifications.

Each query the queue page runs (the newest 50, each filter, the searches, the capped count) is
timed against a bare ``SELECT * ... LIMIT 50`` on the same table, both through the same cursor,
and EXPLAINed: no page query may read a table sequentially. The whole page (admin rendering
included) is timed too, for information.

    ./dev.sh bench queue [--rows 1000000]
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from functools import partial

from bench.common import bench_database, machine, record, setup_django, timed

BARE = "SELECT * FROM verification_personalverification LIMIT 50"
DEMO_NUMBER = "11010519900307001X"


def fill(cursor, rows: int) -> None:
    """``rows`` personal verifications (89% passed, 10% failed, 1% in error) and a tenth as many
    enterprise ones, spread over a year; placeholders in the encrypted columns."""
    from verification.services import document_number_hash

    # One account per verification: a passed or pending one is an account's active one.
    cursor.execute(
        "INSERT INTO accounts_user (password, is_superuser, phone, phone_verified, email, "
        "is_staff, is_active, date_joined, public_id) "
        "SELECT '', false, '+86' || (15000000000 + i)::text, true, '', false, true, now(), "
        "gen_random_uuid() FROM generate_series(1, %s) AS i",
        [rows + rows // 10],
    )
    cursor.execute("SELECT min(id) - 1 FROM accounts_user")
    user_id = cursor.fetchone()[0]
    cursor.execute(
        """
        INSERT INTO verification_personalverification
            (public_id, user_id, phone, document_type, name, document_number,
             document_number_hash, birth_date, status, reason_code, result, provider,
             provider_failures, liveness_restarts, liveness_ref, liveness_url, return_url,
             notify_url, created_at, updated_at, completed_at, identity_checked_at,
             liveness_started_at)
        SELECT gen_random_uuid(), %s + i, '+86' || (13000000000 + i)::text, 'cn_resident_id',
               'v1:x:x', 'v1:x:x', md5(i::text) || md5((-i)::text), 'v1:x:x',
               CASE WHEN i %% 100 = 0 THEN 'error' WHEN i %% 10 = 0 THEN 'failed'
                    ELSE 'passed' END,
               CASE WHEN i %% 100 = 0 THEN 'vendor_error'
                    WHEN i %% 10 = 0 AND i %% 30 = 0 THEN 'no_such_record'
                    WHEN i %% 10 = 0 THEN 'name_number_mismatch' ELSE 'ok' END,
               'v1:x:x', 'sandbox', 0, 0, '', '', '', '',
               now() - (i * interval '31 seconds'), now(), now(), now(), now()
          FROM generate_series(1, %s) AS i
        """,
        [user_id, rows],
    )
    cursor.execute(
        """
        INSERT INTO enterprise_enterpriseverification
            (public_id, user_id, phone, company_name, credit_code, legal_representative,
             licence_name, licence_content_type, licence_sha256, licence_preview_name,
             status, reason_code, result, provider, provider_failures,
             created_at, updated_at, checked_at, completed_at, reviewed_at, reviewed_by_id)
        SELECT gen_random_uuid(), %s + %s + i, '+86' || (14000000000 + i)::text, 'c',
               '91110108MA' || lpad(i::text, 8, '0'), 'v1:x:x', 'x', 'image/png', 'x', '',
               CASE WHEN i %% 20 = 0 THEN 'pending_review' WHEN i %% 10 = 0 THEN 'rejected'
                    ELSE 'approved' END,
               CASE WHEN i %% 20 = 0 THEN '' WHEN i %% 10 = 0 THEN 'company_mismatch'
                    ELSE 'ok' END,
               'v1:x:x', 'sandbox', 0,
               now() - (i * interval '310 seconds'), now(), now(),
               CASE WHEN i %% 20 = 0 THEN NULL ELSE now() END,
               now(), %s
          FROM generate_series(1, %s) AS i
        """,
        [user_id, rows, user_id + 1, rows // 10],
    )
    # One failed verification carries the number support staff will search for.
    cursor.execute(
        "UPDATE verification_personalverification SET document_number_hash = %s "
        "WHERE id = (SELECT id FROM verification_personalverification "
        "WHERE status = 'failed' ORDER BY id DESC LIMIT 1)",
        [document_number_hash(DEMO_NUMBER)],
    )
    cursor.execute("ANALYZE")


def page_queries():
    from django.utils import timezone

    from support.models import ReviewQueue
    from support.paginator import COUNT_CAP
    from support.selectors import review_queue_search

    queue = ReviewQueue.objects.order_by("-created_at")
    week_ago = timezone.now() - timedelta(days=7)
    return {
        "newest 50": queue[:50],
        "filter status = error": queue.filter(status="error")[:50],
        "filter reason = no_such_record": queue.filter(reason_code="no_such_record")[:50],
        "filter kind = enterprise": queue.filter(kind="enterprise")[:50],
        "filter provider + status": queue.filter(provider="sandbox", status="failed")[:50],
        "filter last 7 days": queue.filter(created_at__gte=week_ago)[:50],
        "search document number": review_queue_search(queue, DEMO_NUMBER)[:50],
        "search mobile number": review_queue_search(queue, "130 0000 0100")[:50],
        "search credit code": review_queue_search(queue, "91110108MA0000901G")[:50],
        "result count (capped)": queue[: COUNT_CAP + 1],
    }


def run(cursor, sql: str, params) -> None:
    cursor.execute(sql, params)
    cursor.fetchall()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    options = parser.parse_args()
    setup_django()

    with bench_database("queue") as connection:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            fill(cursor, options.rows)
        fill_seconds = time.perf_counter() - started

        rows = []
        scans = []
        with connection.cursor() as cursor:
            baseline = timed(lambda: run(cursor, BARE, []), repeat=options.repeat)
            for label, queryset in page_queries().items():
                sql, params = queryset.query.sql_with_params()
                if label == "result count (capped)":  # what the paginator runs
                    sql = "SELECT count(*) FROM (" + sql + ") AS capped"  # noqa: S608 - wraps Django's own SQL
                seconds = timed(partial(run, cursor, sql, params), repeat=options.repeat)
                cursor.execute("EXPLAIN " + sql, params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                sequential = "Seq Scan" in plan
                if sequential:
                    scans.append(f"{label}:\n{plan}")
                rows.append(
                    [
                        label,
                        f"{seconds * 1000:.2f} ms",
                        f"{seconds / baseline:.2f}×",
                        "sequential scan" if sequential else "no sequential scan",
                        "met" if seconds <= 3 * baseline and not sequential else "NOT met",
                    ]
                )
        page_seconds = time_whole_page(options.repeat)
        facts = machine()

    notes = (
        f"Baseline `{BARE}`: {baseline * 1000:.2f} ms (median of {options.repeat}). "
        f"Filling {options.rows:,} + {options.rows // 10:,} rows took {fill_seconds:.0f} s. "
        f"The whole queue page, admin rendering included, takes {page_seconds * 1000:.1f} ms "
        "(information, no bar)."
    )
    if scans:
        notes += "\n\nPlans with a sequential scan:\n\n```\n" + "\n\n".join(scans) + "\n```"
    record(
        "Review desk at scale",
        f"The queue's queries at {options.rows:,} personal verifications, each against a bare "
        "`SELECT ... LIMIT 50` on the same table (bar: ≤ 3×, and no sequential scan).",
        rows,
        ["query", "median", "× bare", "plan", "bar"],
        notes,
        facts=facts,
    )


def time_whole_page(repeat: int) -> float:
    """The rendered queue page for a Support member signed in with TOTP."""
    from allauth.mfa.totp.internal.auth import TOTP
    from django.contrib.auth.models import Group
    from django.test import Client

    from accounts.models import User

    staff = User.objects.create_user(phone="+8613800009999", phone_verified=True, is_staff=True)
    staff.groups.add(Group.objects.get(name="Support"))
    TOTP.activate(staff, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    client = Client()
    client.force_login(staff)
    session = client.session
    session["account_authentication_methods_user"] = str(staff.pk)
    session["account_authentication_methods"] = [{"method": "mfa", "at": time.time()}]
    session.save()

    def page() -> None:
        response = client.get("/admin/support/reviewqueue/")
        if response.status_code != 200:
            raise RuntimeError(f"the queue page answered {response.status_code}")

    return timed(page, repeat=max(5, repeat // 3))


if __name__ == "__main__":
    main()
