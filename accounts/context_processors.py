"""Template context every page may need about accounts."""

from __future__ import annotations

import re

from allauth.account import app_settings as allauth_settings
from django.http import HttpRequest

_PER_KEY = re.compile(r"(\d+)/(\d*)([smhd])/key")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def resend_wait_seconds() -> int:
    """How long after one code the next may be sent to the same number (the per-number limit
    of codes, ``sms_code``, that accounts.adapter applies)."""
    rates = allauth_settings.RATE_LIMITS.get("sms_code") or ""
    for amount, period, unit in _PER_KEY.findall(rates):
        return int(period or 1) * _UNIT_SECONDS[unit] // max(1, int(amount))
    return 0


def code_policy(request: HttpRequest) -> dict[str, object]:
    """What the code pages tell people: how long a code lasts, how many tries, when to resend."""
    return {
        "code_policy": {
            "timeout_minutes": max(1, allauth_settings.PHONE_VERIFICATION_TIMEOUT // 60),
            "max_attempts": allauth_settings.PHONE_VERIFICATION_MAX_ATTEMPTS,
            "resend_wait_seconds": resend_wait_seconds(),
        }
    }
