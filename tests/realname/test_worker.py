"""A task sent through the broker is executed by a real worker process and its result comes back."""

import pytest
from django_celery_results.models import TaskResult

from kernel.tasks import health_probe

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_task_round_trip_through_a_real_worker_process(celery_worker_process):
    result = health_probe.delay()

    assert result.get(timeout=30) == "ok"
    stored = TaskResult.objects.get(task_id=result.id)
    assert stored.status == "SUCCESS"
    assert stored.worker == celery_worker_process  # ran in the worker, not in this process
