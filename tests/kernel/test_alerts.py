"""The support team is alerted (kernel.alerts): when verifications stop in ``error`` and when a
provider's or carrier's error rate crosses the threshold; by mail and by webhook, at most once
per interval (decided in the shared Redis cache), with no personal data. The task runs eagerly
here; tests/reliability/test_vendor_outages.py sees the real worker send one."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from celery import current_app
from django.core import mail

from kernel import alerts
from tests.factories import DEMO, PersonalVerificationFactory
from tests.sandbox_harness import running_notification_receiver
from verification.providers.base import ReasonCode
from verification.services import personal

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def tasks_run_here(settings) -> Iterator[None]:
    """Run the sending task in this process, where Django's locmem outbox collects the mail."""
    settings.REALNAME_ALERT_EMAILS = ["support@realname.test"]
    settings.REALNAME_ALERT_WEBHOOK_URL = ""
    before = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        yield
    finally:
        current_app.conf.task_always_eager = before


def stop_in_error(verification) -> None:
    personal.mark_error(verification_id=verification.pk, reason_code=ReasonCode.VENDOR_ERROR)


def test_a_verification_entering_error_mails_support_once_per_interval(
    django_capture_on_commit_callbacks,
):
    first, second = PersonalVerificationFactory.create_batch(2, provider="sandbox")

    with django_capture_on_commit_callbacks(execute=True):
        stop_in_error(first)
    with django_capture_on_commit_callbacks(execute=True):
        stop_in_error(second)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["support@realname.test"]
    assert message.subject == "[realname] Verifications are stopping in error"
    assert f"verification_id: {first.pk}" in message.body
    assert "reason: vendor_error" in message.body
    assert "in_error_now: 1" in message.body
    assert_no_personal_data(message.subject + message.body, first)


def test_after_the_interval_the_next_error_alerts_again(django_capture_on_commit_callbacks):
    first, second = PersonalVerificationFactory.create_batch(2, provider="sandbox")
    with django_capture_on_commit_callbacks(execute=True):
        stop_in_error(first)

    alerts.cache.delete(alerts.sent_key("verification_error"))  # as when the interval ends
    with django_capture_on_commit_callbacks(execute=True):
        stop_in_error(second)

    assert len(mail.outbox) == 2
    assert f"verification_id: {second.pk}" in mail.outbox[1].body


def test_nothing_is_sent_before_the_transaction_commits(django_capture_on_commit_callbacks):
    verification = PersonalVerificationFactory.create(provider="sandbox")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        stop_in_error(verification)

    assert mail.outbox == []
    assert len(callbacks) == 1


def test_a_carriers_error_rate_over_the_threshold_alerts_once(
    settings, django_capture_on_commit_callbacks
):
    settings.REALNAME_ALERT_RATE_MIN_CALLS = 4
    settings.REALNAME_ALERT_ERROR_RATE = 0.5
    settings.REALNAME_ALERT_RATE_WINDOW = 10**9  # one window for the whole test

    with django_capture_on_commit_callbacks(execute=True):
        alerts.record_call("carrier", "aliyun_sms", True)
        alerts.record_call("carrier", "aliyun_sms", True)
        alerts.record_call("carrier", "aliyun_sms", False)  # 1 of 3: too few calls to judge
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        alerts.record_call("carrier", "aliyun_sms", False)  # 2 of 4: the threshold
        alerts.record_call("carrier", "aliyun_sms", False)  # held back by the interval
        alerts.record_call("provider", "aliyun", True)  # another service, all well

    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert mail.outbox[0].subject == "[realname] carrier aliyun_sms: 2 of 4 calls failed"
    assert "error_rate: 0.5" in body


def test_a_low_error_rate_does_not_alert(settings, django_capture_on_commit_callbacks):
    settings.REALNAME_ALERT_RATE_MIN_CALLS = 4
    settings.REALNAME_ALERT_RATE_WINDOW = 10**9

    with django_capture_on_commit_callbacks(execute=True):
        for ok in (True, True, True, False, True, True, False):
            alerts.record_call("provider", "tencent", ok)

    assert mail.outbox == []


def test_the_webhook_gets_the_alert_as_json_without_personal_data(
    settings, django_capture_on_commit_callbacks
):
    verification = PersonalVerificationFactory.create(provider="sandbox")
    with running_notification_receiver() as receiver:
        settings.REALNAME_ALERT_EMAILS = []
        settings.REALNAME_ALERT_WEBHOOK_URL = receiver.url

        with django_capture_on_commit_callbacks(execute=True):
            stop_in_error(verification)

        received = receiver.wait()
    payload = json.loads(received.body)
    assert payload["source"] == "realname"
    assert payload["key"] == "verification_error"
    assert payload["facts"]["verification_id"] == verification.pk
    assert payload["facts"]["reason"] == "vendor_error"
    assert mail.outbox == []
    assert_no_personal_data(received.body.decode(), verification)


def test_no_channel_configured_sends_nothing_and_holds_nothing_back(
    settings, django_capture_on_commit_callbacks
):
    settings.REALNAME_ALERT_EMAILS = []
    verification = PersonalVerificationFactory.create(provider="sandbox")

    with django_capture_on_commit_callbacks(execute=True):
        stop_in_error(verification)

    assert mail.outbox == []
    assert alerts.cache.get(alerts.sent_key("verification_error")) is None


def assert_no_personal_data(text: str, verification) -> None:
    for personal_value in (
        DEMO["name"],
        DEMO["document_number"],
        str(verification.user.phone),
        str(verification.public_id),
    ):
        assert personal_value not in text
