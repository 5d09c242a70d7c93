"""A vendor outage is waited out: the provider step is retried for a time window
(``VERIFICATION_PROVIDER_RETRY_WINDOW``, a few seconds in the test settings) while the person's
page says the provider is slow and that they may leave; only a longer outage stops in
``error``, and that alerts the support team."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import (
    EnterpriseVerificationFactory,
    MemberFactory,
    PersonalVerificationFactory,
)
from tests.helpers import submit_demo, wait_for
from verification.models import PersonalVerification, VerificationEvent

Status = PersonalVerification.Status
EN = {"accept-language": "en"}


def signed_in(user) -> Client:
    client = Client(headers=EN)
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_while_the_provider_fails_the_page_says_it_is_slow_and_the_person_may_leave():
    verification = PersonalVerificationFactory.create(provider="sandbox", provider_failures=3)

    page = signed_in(verification.user).get(verification.get_absolute_url()).content.decode()

    assert 'id="provider-slow"' in page
    assert "Our identity provider is slow to answer at the moment." in page
    minutes = settings.VERIFICATION_PROVIDER_RETRY_WINDOW // 60 or 1
    assert f"we keep trying for up to {minutes} minute" in page
    assert "You may leave this page and come back later" in page
    assert 'http-equiv="refresh" content="10"' in page  # still looking, less often


@pytest.mark.django_db
def test_without_failures_the_page_says_nothing_of_slowness():
    verification = PersonalVerificationFactory.create(provider="sandbox")

    page = signed_in(verification.user).get(verification.get_absolute_url()).content.decode()

    assert 'id="provider-slow"' not in page
    assert 'http-equiv="refresh" content="2"' in page


@pytest.mark.django_db
def test_the_enterprise_page_says_the_registry_check_is_slow():
    verification = EnterpriseVerificationFactory.create(provider="sandbox", provider_failures=2)

    page = signed_in(verification.user).get(verification.get_absolute_url()).content.decode()

    assert 'id="provider-slow"' in page
    assert "You may leave this page and come back later" in page


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_outage_shorter_than_the_window_is_waited_out(worker):
    worker.set_faults(fail_next=3)

    verification = wait_for(
        submit_demo(MemberFactory.create()), lambda v: v.status == Status.IN_PROGRESS
    )

    failed = VerificationEvent.objects.filter(
        kind="personal", verification_id=verification.pk, event="provider_failed"
    )
    assert failed.count() == 3
    assert not VerificationEvent.objects.filter(
        kind="personal", verification_id=verification.pk, event="error"
    ).exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_outage_longer_than_the_window_stops_in_error_and_mails_support(worker):
    """The worker process sends the alert: its mail goes to the file backend of the test
    settings, with ids and reason codes only."""
    outbox = Path(settings.EMAIL_FILE_PATH)
    worker.set_faults(error_rate=1.0)
    user = MemberFactory.create()

    verification = wait_for(submit_demo(user), lambda v: v.status == Status.ERROR)

    mail = wait_for_mail(outbox, f"verification_id: {verification.pk}\n")
    assert "Verifications are stopping in error" in mail
    assert "reason: vendor_error" in mail
    assert "provider: sandbox" in mail
    for personal in (verification.name, verification.document_number, str(user.phone)):
        assert personal not in mail


def wait_for_mail(outbox: Path, text: str, timeout: float = 30) -> str:
    """The body of the first mail the file backend wrote that contains ``text``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in outbox.glob("*.log") if outbox.exists() else ():
            content = message.read_text(errors="replace")
            if text in content:
                return content
        time.sleep(0.1)
    raise AssertionError(f"no mail containing {text!r} in {outbox} within {timeout} s")
