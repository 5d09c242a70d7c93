"""What a provider task costs the database: its pooled connection goes back to the pool while
the vendor answers (so 128 worker threads need no 128 connections), a full pool is a retry
rather than an error for the person, and an answer is recorded without locking and reading
the row again unless something wrote it in the meantime."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from psycopg_pool import ConnectionPool, PoolTimeout

from kernel.db import database_busy, is_pooled, release_connection
from tests.factories import PersonalVerificationFactory
from verification import services, tasks
from verification.lifecycle.worker import DATABASE_BUSY_RETRIES
from verification.models import PersonalVerification, VerificationEvent
from verification.providers.base import CheckResult, ReasonCode
from verification.providers.sandbox import SandboxProvider

pytestmark = pytest.mark.django_db(transaction=True)
# PostgreSQL's wrapper (``pool``, ``close_pool``), which django-stubs types as the base class.
postgres: Any = connection
Status = PersonalVerification.Status
Event = VerificationEvent.Event


@pytest.fixture(autouse=True)
def nothing_queued(monkeypatch) -> list[tuple[str, int]]:
    """These tests run the tasks themselves: committed work must not reach a worker too."""
    queued: list[tuple[str, int]] = []
    monkeypatch.setattr(services.personal, "enqueue", lambda *args: queued.append(args))
    return queued


@pytest.fixture
def pool_of_one() -> Iterator[ConnectionPool]:
    """Django's psycopg pool on the test database, as production configures it
    (``DATABASE_POOL_MAX_SIZE``), with a single connection: a thread that keeps it blocks every
    other."""
    settings_dict = connection.settings_dict
    saved = settings_dict["CONN_MAX_AGE"], settings_dict["OPTIONS"]
    connection.close()
    settings_dict["CONN_MAX_AGE"] = 0
    settings_dict["OPTIONS"] = {**saved[1], "pool": {"min_size": 1, "max_size": 1, "timeout": 1}}
    try:
        pool = postgres.pool
        assert pool is not None and is_pooled()
        yield pool
    finally:
        connection.close()
        postgres.close_pool()
        settings_dict["CONN_MAX_AGE"], settings_dict["OPTIONS"] = saved


class PoolWatchingSandbox(SandboxProvider):
    """The sandbox vendor, unchanged, except that each identity check first notes whether
    another thread could take the pool's only connection at that moment."""

    free_during_call: list[bool] = []

    def check_identity(self, **kwargs: Any) -> CheckResult:  # type: ignore[override]
        pool = postgres.pool
        try:
            taken = pool.getconn(timeout=1)
        except PoolTimeout:
            self.free_during_call.append(False)
        else:
            pool.putconn(taken)
            self.free_during_call.append(True)
        return super().check_identity(**kwargs)


def test_a_task_gives_its_pooled_connection_back_while_the_vendor_answers(
    member, sandbox_settings_override, settings, pool_of_one
):
    settings.VERIFICATION_PROVIDERS = [f"{PoolWatchingSandbox.__module__}.PoolWatchingSandbox"]
    PoolWatchingSandbox.free_during_call.clear()
    verification = PersonalVerificationFactory.create(user=member)
    connection.close()  # as a worker thread starts a task: no connection taken yet

    tasks.check_identity.apply(args=[verification.pk])

    assert PoolWatchingSandbox.free_during_call == [True]
    verification.refresh_from_db()
    assert verification.status == Status.IN_PROGRESS


def test_a_full_pool_is_retried_and_never_stops_the_verification_in_error(
    member, sandbox_settings_override, pool_of_one, caplog
):
    verification = PersonalVerificationFactory.create(user=member)
    connection.close()
    held = pool_of_one.getconn()  # every connection of the pool is busy elsewhere
    try:
        with caplog.at_level(logging.WARNING, logger="verification.lifecycle"):
            # Eagerly, Celery runs each retry at once: start two retries before the cap.
            outcome = tasks.check_identity.apply(
                args=[verification.pk], retries=DATABASE_BUSY_RETRIES - 2
            )
    finally:
        pool_of_one.putconn(held)

    retried = [r for r in caplog.records if "database busy" in r.getMessage()]
    assert len(retried) == 2
    # Still full after the last retry: the record is left to the sweeper, as it is.
    assert outcome.state == "FAILURE" and isinstance(outcome.result, OperationalError)
    verification.refresh_from_db()
    assert verification.status == Status.SUBMITTED  # waiting, not in error
    assert not VerificationEvent.objects.filter(
        verification_id=verification.pk, event=Event.ERROR
    ).exists()

    tasks.check_identity.apply(args=[verification.pk])  # once a connection is free

    verification.refresh_from_db()
    assert verification.status == Status.IN_PROGRESS


def test_a_connection_in_a_transaction_is_never_given_back(pool_of_one):
    from django.db import transaction

    with transaction.atomic():
        PersonalVerification.objects.exists()
        assert release_connection() is False  # closing would roll the transaction back
        assert connection.connection is not None
    PersonalVerification.objects.exists()
    assert release_connection() is True
    assert connection.connection is None


def test_only_a_busy_database_counts_as_busy():
    try:
        try:
            raise PoolTimeout("couldn't get a connection after 1.00 sec")
        except PoolTimeout as exc:
            raise OperationalError(str(exc)) from exc
    except OperationalError as wrapped:
        assert database_busy(wrapped)
    assert database_busy(OperationalError("FATAL:  sorry, too many clients already"))
    assert not database_busy(OperationalError("server closed the connection unexpectedly"))
    assert not database_busy(OperationalError('relation "x" does not exist'))


def test_an_answer_is_recorded_without_locking_and_reading_the_row_again(member):
    verification = PersonalVerificationFactory.create(user=member)
    seen = PersonalVerification.objects.get(pk=verification.pk)
    answer = CheckResult(passed=True, reason_code=ReasonCode.OK, provider_ref="ref-1")

    with CaptureQueriesContext(connection) as queries:
        services.verification_record_identity_result(
            verification_id=seen.pk, result=answer, seen=seen
        )

    statements = [query["sql"].split()[0].upper() for query in queries.captured_queries]
    assert statements.count("UPDATE") == 1
    # The row is not read again (the one SELECT left asks which platforms hear the change).
    reads = [
        query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")
    ]
    assert not [sql for sql in reads if '"verification_personalverification"' in sql], reads
    recorded = PersonalVerification.objects.get(pk=verification.pk)
    assert recorded.status == Status.IN_PROGRESS
    assert recorded.identity_checked_at is not None
    assert recorded.result["identity"]["ref"] == "ref-1"
    assert recorded.name == seen.name  # the personal values are untouched
    assert (
        VerificationEvent.objects.filter(
            verification_id=verification.pk, event=Event.IDENTITY_RESULT
        ).count()
        == 1
    )


def test_an_answer_to_a_row_written_since_it_was_read_is_decided_on_the_row_as_it_is(member):
    verification = PersonalVerificationFactory.create(user=member)
    seen = PersonalVerification.objects.get(pk=verification.pk)
    # Meanwhile: the step stopped in error and support staff retried it.
    services.personal.mark_error(verification_id=verification.pk, reason_code=ReasonCode.TIMEOUT)
    services.verification_retry(verification=PersonalVerification.objects.get(pk=seen.pk))
    answer = CheckResult(passed=True, reason_code=ReasonCode.OK, provider_ref="ref-2")

    services.verification_record_identity_result(verification_id=seen.pk, result=answer, seen=seen)

    recorded = PersonalVerification.objects.get(pk=verification.pk)
    assert recorded.status == Status.IN_PROGRESS
    assert recorded.result["identity"]["ref"] == "ref-2"
    assert recorded.result["error"]["reason"] == ReasonCode.TIMEOUT  # kept, not overwritten


def test_an_answer_that_came_twice_is_recorded_once(member):
    verification = PersonalVerificationFactory.create(user=member)
    seen = PersonalVerification.objects.get(pk=verification.pk)
    answer = CheckResult(passed=True, reason_code=ReasonCode.OK, provider_ref="ref-3")

    services.verification_record_identity_result(verification_id=seen.pk, result=answer, seen=seen)
    services.verification_record_identity_result(verification_id=seen.pk, result=answer, seen=seen)

    assert (
        VerificationEvent.objects.filter(
            verification_id=verification.pk, event=Event.IDENTITY_RESULT
        ).count()
        == 1
    )


def test_pools_that_outgrow_the_server_are_reported(pool_of_one, settings):
    from kernel.checks import check_database_pool_budget

    settings.REALNAME_DATABASE_PROCESSES = 1000  # 1,000 pools of one connection
    assert [m.id for m in check_database_pool_budget(None, databases=["default"])] == [
        "realname.W030"
    ]
    settings.REALNAME_DATABASE_PROCESSES = 4
    assert check_database_pool_budget(None, databases=["default"]) == []
