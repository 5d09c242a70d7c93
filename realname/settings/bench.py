"""Benchmarks (bench/): the test settings with production's persistent database connections,
so a worker does not pay for a new PostgreSQL connection on every task as the tests do. A
process started with ``DATABASE_POOL_MAX_SIZE`` in its environment (the pipeline benchmark's
workers) uses psycopg's pool instead, as production does."""

import os

from .base import database_from_url, database_pool_from_env
from .test import *
from .test import DATABASES

if "DATABASE_POOL_MAX_SIZE" in os.environ and (_pool := database_pool_from_env()):
    DATABASES["default"] = database_from_url(os.environ["DATABASE_URL"], pool=_pool)
else:
    DATABASES["default"]["CONN_MAX_AGE"] = 60

# The pipeline benchmark's vendor answers seconds late; the tests' 2 s would time it out.
if "SANDBOX_PROVIDER_TIMEOUT" in os.environ:
    SANDBOX_PROVIDER_TIMEOUT = float(os.environ["SANDBOX_PROVIDER_TIMEOUT"])

# The broker under comparison (``./dev.sh bench pipeline`` with CELERY_BROKER_URL=amqp://...).
if "CELERY_BROKER_URL" in os.environ:
    CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
