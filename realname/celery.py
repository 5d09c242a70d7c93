"""The Celery application. Every call to an outside vendor runs in a worker, never in a request."""

import os
from pathlib import Path
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "realname.settings.dev")

app = Celery("realname")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The task that sends the support team's alerts lives beside the code that queues it.
app.autodiscover_tasks(["kernel"], related_name="alerts")

FILESYSTEM_BROKER_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder")


@app.on_after_configure.connect
def make_filesystem_broker_folders(*, source: Any, **kwargs: Any) -> None:
    """kombu's filesystem transport (``./dev.sh serve`` without Redis) needs its folders before
    the first message. Every process that sends or takes one configures this app first, so they
    are made here rather than when the settings are imported."""
    options = source.get("broker_transport_options") or {}
    for key in FILESYSTEM_BROKER_FOLDERS:
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
