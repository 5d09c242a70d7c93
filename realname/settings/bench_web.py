"""The web benchmark (bench/web.py): production settings as they are, plus a bare view to
measure against (bench.urls). The request rate limits are off: the benchmark sends every
request from 127.0.0.1, which the per-address limit would turn into 429s after a minute."""

from .production import *

ROOT_URLCONF = "bench.urls"
REALNAME_RATE_LIMITS = {"verification_submit": "", "provider_notify": ""}
