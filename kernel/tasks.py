"""Tasks that belong to the service as a whole rather than to one app."""

from celery import shared_task
from django.db import connection


@shared_task(name="realname.health_probe", acks_late=False, ignore_result=False)
def health_probe() -> str:
    """A full round trip for ``/healthz?deep=1``: broker to worker to database and back."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (one,) = cursor.fetchone()
    return "ok" if one == 1 else "unexpected"
