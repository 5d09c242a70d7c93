"""The retry policy of every provider call (verification.lifecycle.call_provider), on its own: the
cap on the stored failure count, and what happens to errors nobody planned for."""

from __future__ import annotations

import logging
from datetime import date
from types import SimpleNamespace

import pytest
from celery.exceptions import Retry
from django.core.checks import run_checks
from django.db import OperationalError

from verification.checks import check_sweeper_waits_for_retries
from verification.lifecycle import call_provider
from verification.providers.base import Company, Identity, ProviderTransientError, ReasonCode


class FakeTask:
    """Celery's retry counter as the sweeper leaves it: a re-enqueued task starts at zero."""

    name = "verification.check_identity"
    request = SimpleNamespace(retries=0)

    def retry(self, *, countdown: float, exc: Exception) -> Retry:
        return Retry(exc=exc, when=countdown)


def run(call, stored_failures: list[int], errors: list[ReasonCode]) -> None:
    def record_failure(reason: ReasonCode) -> int:
        stored_failures.append(len(stored_failures) + 1)
        return stored_failures[-1]

    call_provider(FakeTask(), call=call, record_failure=record_failure, mark_error=errors.append)


def test_retries_stop_at_the_cap_even_when_celery_counts_from_zero_again(settings):
    settings.VERIFICATION_PROVIDER_MAX_RETRIES = 3

    def unavailable() -> None:
        raise ProviderTransientError(ReasonCode.VENDOR_ERROR)

    failures: list[int] = []
    errors: list[ReasonCode] = []
    for _ in range(3):
        with pytest.raises(Retry):
            run(unavailable, failures, errors)
    run(unavailable, failures, errors)

    assert failures == [1, 2, 3, 4]
    assert errors == [ReasonCode.VENDOR_ERROR]


def test_an_unexpected_error_stops_for_support_and_logs_only_its_type(caplog):
    def client_bug() -> None:
        raise KeyError("name=张三 id=11010519491231002X")

    errors: list[ReasonCode] = []
    with caplog.at_level(logging.ERROR, logger="verification.lifecycle"):
        run(client_bug, [], errors)

    assert errors == [ReasonCode.VENDOR_ERROR]
    assert "KeyError" in caplog.text
    assert "张三" not in caplog.text and "11010519491231002X" not in caplog.text


def test_our_own_database_errors_are_not_blamed_on_the_vendor():
    """The record stays where it was; the task fails and the sweeper sends it again later."""

    def database_gone() -> None:
        raise OperationalError("server closed the connection unexpectedly")

    errors: list[ReasonCode] = []
    with pytest.raises(OperationalError):
        run(database_gone, [], errors)
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
