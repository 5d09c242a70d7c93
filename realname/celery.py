"""The Celery application. Every call to an outside vendor runs in a worker, never in a request."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "realname.settings.dev")

app = Celery("realname")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
