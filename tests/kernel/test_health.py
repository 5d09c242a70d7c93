"""/healthz tells an orchestrator whether the database, the broker and a worker answer."""

import pytest

from devstack.embedded import free_port
from realname.celery import app as celery_app

pytestmark = pytest.mark.django_db(transaction=True)


def test_healthy_when_database_broker_and_worker_answer(client, celery_worker_process):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "broker": True,
        "worker": True,
    }
    assert response["Cache-Control"].startswith("max-age=0")


def test_deep_check_sends_a_task_through_the_worker(client, celery_worker_process):
    response = client.get("/healthz?deep=1")

    assert response.status_code == 200
    assert response.json()["checks"]["task_round_trip"] == {"ok": True, "detail": "ok"}


def test_unavailable_when_the_broker_does_not_answer(client, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0")

    response = client.get("/healthz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] is True
    assert checks["broker"]["ok"] is False
    assert checks["worker"] == {"ok": False, "detail": "broker down"}


def test_unavailable_when_no_worker_listens(client, settings, monkeypatch, celery_worker_process):
    # The same Redis server, another database number: the broker answers, no worker listens there.
    base = settings.CELERY_BROKER_URL.rsplit("/", 1)[0]
    monkeypatch.setattr(celery_app.conf, "broker_url", f"{base}/15")
    settings.REALNAME_HEALTHZ_WORKER_TIMEOUT = 0.5

    response = client.get("/healthz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["ok"] is True
    assert checks["worker"] == {"ok": False, "detail": "no worker answered"}
