"""The lifecycle both kinds share, on what it promises beyond each kind's own tests: every
waiting state names a task a worker runs, and an error says which step it stopped in."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from enterprise import services as enterprise_services
from realname.celery import app
from tests.factories import EnterpriseVerificationFactory, PersonalVerificationFactory
from verification import services as personal_services
from verification.lifecycle import Lifecycle
from verification.models import VerificationEvent
from verification.providers.base import ReasonCode

LIFECYCLES: list[Lifecycle[Any]] = [personal_services.personal, enterprise_services.enterprise]
ANSWERS = [
    personal_services.IDENTITY_ANSWER,
    personal_services.FACE_ANSWER,
    enterprise_services.REGISTRY_ANSWER,
]


def worker_task_names() -> set[str]:
    """What a worker registers at start-up (it imports every installed app's tasks)."""
    app.loader.import_default_modules()
    return set(app.tasks)


@pytest.mark.parametrize("lifecycle", LIFECYCLES, ids=lambda lifecycle: lifecycle.model.kind)
def test_every_waiting_state_is_moved_on_by_a_task_a_worker_runs(lifecycle):
    """Services queue tasks by name: a name no worker knows would be dropped by the worker and
    re-sent by the sweeper for ever."""
    assert set(lifecycle.pending) <= worker_task_names()


def test_every_answer_and_every_sweeper_belongs_to_a_registered_task():
    names = worker_task_names()
    for answer in ANSWERS:
        assert not answer.task or any(answer.task in lc.pending for lc in LIFECYCLES)
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= names


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("factory", "lifecycle", "step"),
    [
        (PersonalVerificationFactory, personal_services.personal, "identity_check"),
        (EnterpriseVerificationFactory, enterprise_services.enterprise, "registry_check"),
    ],
    ids=["personal", "enterprise"],
)
def test_an_error_records_the_step_it_stopped_in(factory, lifecycle, step):
    """Support staff read in the timeline where the provider kept failing, not just "error"."""
    verification = factory.create()

    stopped = lifecycle.mark_error(verification_id=verification.pk, reason_code=ReasonCode.TIMEOUT)

    assert stopped.status == "error"
    assert stopped.result["error"]["step"] == step
    event = VerificationEvent.objects.get(
        kind=stopped.kind, verification_id=stopped.pk, event=VerificationEvent.Event.ERROR
    )
    assert event.detail == {"step": step}
    assert event.reason_code == ReasonCode.TIMEOUT
