"""The retry policy of every provider call (verification.lifecycle.call_provider), on its own: the
retry window counted from the stored first failure, the capped backoff, and what happens to
errors nobody planned for."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from celery.exceptions import Retry
from django.core.checks import run_checks
from django.db import OperationalError
from django.utils import timezone

from verification.checks import check_sweeper_waits_for_retries
from verification.lifecycle import Failures, call_provider
from verification.providers.base import Company, Identity, ProviderTransientError, ReasonCode


class FakeTask:
    """Celery's retry counter as the sweeper leaves it: a re-enqueued task starts at zero."""

    name = "verification.check_identity"
    request = SimpleNamespace(retries=0)

    def retry(self, *, countdown: float, exc: Exception) -> Retry:
        return Retry(exc=exc, when=countdown)


class StoredFailures:
    """The record's side: the count and the time of the step's first failure, as stored."""

    def __init__(self, *, first_failure_ago: float = 0.0) -> None:
        self.count = 0
        self.first_failure_ago = first_failure_ago

    def __call__(self, reason: ReasonCode) -> Failures:
        self.count += 1
        since = timezone.now() - timedelta(seconds=self.first_failure_ago)
        return Failures(count=self.count, since=since)


def run(call, stored: StoredFailures, errors: list[ReasonCode]) -> None:
    call_provider(FakeTask(), call=call, record_failure=stored, mark_error=errors.append)


def unavailable() -> None:
    raise ProviderTransientError("vendor answered 503", reason_code=ReasonCode.VENDOR_ERROR)


def test_retries_go_on_within_the_window_even_when_celery_counts_from_zero_again(settings):
    settings.VERIFICATION_PROVIDER_RETRY_WINDOW = 30 * 60
    stored = StoredFailures(first_failure_ago=29 * 60)
    errors: list[ReasonCode] = []

    for _ in range(20):
        with pytest.raises(Retry):
            run(unavailable, stored, errors)

    assert stored.count == 20
    assert errors == []


def test_a_spent_window_stops_in_error_with_the_last_reason(settings):
    settings.VERIFICATION_PROVIDER_RETRY_WINDOW = 30 * 60
    errors: list[ReasonCode] = []

    run(unavailable, StoredFailures(first_failure_ago=30 * 60 + 1), errors)

    assert errors == [ReasonCode.VENDOR_ERROR]


def test_the_backoff_grows_capped_and_never_waits_past_the_window(settings):
    settings.VERIFICATION_PROVIDER_RETRY_WINDOW = 600
    settings.VERIFICATION_PROVIDER_RETRY_BACKOFF = 2.0
    settings.VERIFICATION_PROVIDER_RETRY_BACKOFF_MAX = 60

    waits = []
    stored = StoredFailures()
    for _ in range(12):
        with pytest.raises(Retry) as retry:
            run(unavailable, stored, [])
        waits.append(retry.value.when)
    # Jitter in the upper half: between half and all of 2, 4, 8... seconds, then of the cap.
    assert 1 <= waits[0] <= 2
    assert 4 <= waits[2] <= 8
    assert all(30 <= wait <= 60 for wait in waits[6:])

    near_the_end = StoredFailures(first_failure_ago=595)
    near_the_end.count = 4000  # a very long outage: the doubling must not overflow
    with pytest.raises(Retry) as retry:
        run(unavailable, near_the_end, [])
    assert retry.value.when <= 5


def test_an_unexpected_error_stops_for_support_and_logs_only_its_type(caplog):
    def client_bug() -> None:
        raise KeyError("name=张三 id=11010519491231002X")

    errors: list[ReasonCode] = []
    with caplog.at_level(logging.ERROR, logger="verification.lifecycle"):
        run(client_bug, StoredFailures(), errors)

    assert errors == [ReasonCode.VENDOR_ERROR]
    assert "KeyError" in caplog.text
    assert "张三" not in caplog.text and "11010519491231002X" not in caplog.text


def test_our_own_database_errors_are_not_blamed_on_the_vendor():
    """The record stays where it was; the task fails and the sweeper sends it again later."""

    def database_gone() -> None:
        raise OperationalError("server closed the connection unexpectedly")

    errors: list[ReasonCode] = []
    with pytest.raises(OperationalError):
        run(database_gone, StoredFailures(), errors)
    assert errors == []


def test_the_defaults_let_every_retry_finish_before_the_sweeper_looks(settings):
    for name in ("VERIFICATION_STUCK_AFTER", "VERIFICATION_PROVIDER_RETRY_BACKOFF_MAX"):
        if hasattr(settings, name):
            delattr(settings, name)

    assert check_sweeper_waits_for_retries() == []


def test_a_sweeper_quicker_than_the_backoff_is_a_configuration_error(settings):
    settings.VERIFICATION_STUCK_AFTER = 60
    settings.VERIFICATION_PROVIDER_RETRY_BACKOFF_MAX = 60

    assert [error.id for error in check_sweeper_waits_for_retries()] == ["verification.E004"]
    assert "verification.E004" in {message.id for message in run_checks()}


def test_what_a_provider_is_asked_does_not_show_personal_data_in_its_repr():
    """Tracebacks and debug logs print arguments with repr(): names and numbers stay out."""
    identity = Identity(
        name="张三",
        document_type="resident_id",
        document_number="11010519491231002X",
        birth_date=date(1949, 12, 31),
    )
    company = Company(
        name="沙箱演示科技有限公司", credit_code="91110108MA0000901G", legal_representative="测试甲"
    )

    shown = repr(identity) + repr(company)

    for secret in ("张三", "11010519491231002X", "1949", "测试甲"):
        assert secret not in shown
    assert "resident_id" in shown
