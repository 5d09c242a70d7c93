"""A provider outage as the person sees it: "still checking" while the workers retry, then a
clear explanation that nothing is lost once the retries are used up — never an error page."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from tests.factories import MemberFactory
from tests.helpers import submit_demo, wait_for
from verification.models import PersonalVerification

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = PersonalVerification.Status


def test_the_person_sees_checking_then_what_happens_next(worker):
    worker.set_faults(error_rate=1.0)
    user = MemberFactory.create()
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    # The page as it is before the workers are done: the check is queued only once the
    # submission commits, so reading the page inside its transaction cannot come too late.
    with transaction.atomic():
        verification = submit_demo(user)
        url = f"/verification/personal/{verification.public_id}/"
        during = client.get(url).content.decode()
    assert 'data-verification-status="submitted"' in during
    assert 'http-equiv="refresh"' in during  # the page keeps looking

    wait_for(verification, lambda v: v.status == Status.ERROR)
    after = client.get(url)

    assert after.status_code == 200
    page = after.content.decode()
    assert 'data-verification-status="error"' in page
    assert "Our identity provider had a problem." in page
    assert "Nothing is lost" in page
