"""The queue stays fast at any size because no page of it reads a whole table: checked on the
query plans Postgres chooses for a queue of 60,000 rows (plans, not timings: the planner's
choice is what scales). The figures at a million rows are in bench/."""

from __future__ import annotations

import pytest
from django.db import connection

from support.models import ReviewQueue
from support.paginator import COUNT_CAP, CappedCountPaginator
from support.selectors import review_queue_search
from tests.factories import MemberFactory, resident_id
from verification.services import document_number_hash

pytestmark = pytest.mark.django_db
ROWS = 50_000


@pytest.fixture
def big_queue(db):
    """50,000 failed personal and 10,000 rejected enterprise verifications, inserted by SQL.
    The encrypted columns hold placeholders: the queue never reads them."""
    user = MemberFactory.create()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO verification_personalverification
                (public_id, user_id, phone, document_type, name, document_number,
                 document_number_hash, birth_date, status, reason_code, result, provider,
                 provider_failures, liveness_restarts, liveness_ref, liveness_url, return_url,
                 notify_url, created_at, updated_at, completed_at, identity_checked_at)
            SELECT gen_random_uuid(), %s, '+8613' || lpad(i::text, 9, '0'), 'cn_resident_id',
                   'v1:x:x', 'v1:x:x', md5(i::text) || md5(i::text), 'v1:x:x',
                   CASE WHEN i %% 100 = 0 THEN 'error' ELSE 'failed' END,
                   CASE WHEN i %% 100 = 0 THEN 'vendor_error'
                        WHEN i %% 7 = 0 THEN 'no_such_record' ELSE 'name_number_mismatch' END,
                   'v1:x:x', 'sandbox', 0, 0, '', '', '', '',
                   now() - i * interval '1 minute', now(), now(), now()
              FROM generate_series(1, %s) AS i
            """,
            [user.pk, ROWS],
        )
        cursor.execute(
            """
            INSERT INTO enterprise_enterpriseverification
                (public_id, user_id, phone, company_name, credit_code, legal_representative,
                 licence_name, licence_content_type, licence_sha256, licence_preview_name,
                 status, reason_code, result, provider, provider_failures,
                 created_at, updated_at, checked_at, completed_at)
            SELECT gen_random_uuid(), %s, '+8614' || lpad(i::text, 9, '0'), 'c',
                   '91110108MA' || lpad(i::text, 8, '0'), 'v1:x:x', 'x', 'image/png', 'x', '',
                   'rejected', 'company_mismatch', 'v1:x:x', 'sandbox', 0,
                   now() - i * interval '1 minute', now(), now(), now()
              FROM generate_series(1, %s) AS i
            """,
            [user.pk, ROWS // 5],
        )
        cursor.execute("ANALYZE verification_personalverification")
        cursor.execute("ANALYZE enterprise_enterpriseverification")


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def assert_no_table_scan(text: str) -> None:
    assert "Seq Scan" not in text, text


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"status": "error"},
        {"reason_code": "no_such_record"},
        {"kind": "enterprise"},
        {"provider": "sandbox", "status": "failed"},
    ],
    ids=["newest", "status", "reason", "kind", "provider"],
)
def test_a_page_of_the_queue_reads_indexes_only(big_queue, filters):
    page = ReviewQueue.objects.filter(**filters).order_by("-created_at")[:50]

    assert_no_table_scan(plan(page))
    assert len(list(page)) == 50


def test_searches_are_index_lookups(big_queue):
    number = resident_id()
    for term in (number, "138 0013 8000", "91110108MA0000901G"):
        assert_no_table_scan(plan(review_queue_search(ReviewQueue.objects.all(), term)))
    assert document_number_hash(number) != number


def test_the_result_count_stops_at_the_cap(big_queue):
    paginator = CappedCountPaginator(ReviewQueue.objects.order_by("-created_at"), 50)

    assert paginator.count == COUNT_CAP + 1
    assert paginator.is_capped
    counted = ReviewQueue.objects.order_by("-created_at")[: COUNT_CAP + 1]
    assert "Limit" in plan(counted)
