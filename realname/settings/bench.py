"""Benchmarks (bench/): the test settings with production's persistent database connections,
so a worker does not pay for a new PostgreSQL connection on every task as the tests do."""

from .test import *
from .test import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 60
