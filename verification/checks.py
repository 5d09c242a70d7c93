"""System checks for the verification app: a provider that cannot work is reported at start-up,
not at the first person's verification."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.utils.module_loading import import_string

from sandbox.app_settings import sandbox_settings

from .app_settings import app_settings
from .providers.base import BaseProvider

SANDBOX = "verification.providers.sandbox.SandboxProvider"


@checks.register(checks.Tags.compatibility)
def check_provider(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        provider_class = import_string(app_settings.PROVIDER)
    except ImportError as exc:
        return [
            checks.Error(
                f"VERIFICATION_PROVIDER {app_settings.PROVIDER!r} cannot be imported: {exc}",
                hint="Set it to the dotted path of a verification.providers.base.BaseProvider.",
                id="verification.E001",
            )
        ]
    if not (isinstance(provider_class, type) and issubclass(provider_class, BaseProvider)):
        return [
            checks.Error(
                f"VERIFICATION_PROVIDER {app_settings.PROVIDER!r} is not a BaseProvider.",
                id="verification.E002",
            )
        ]
    if app_settings.PROVIDER == SANDBOX and not sandbox_settings.SECRET:
        return [
            checks.Error(
                "The sandbox provider is selected but SANDBOX_PROVIDER_SECRET is empty.",
                hint="Set SANDBOX_PROVIDER_SECRET to the same random string for the web "
                "process, the workers and `manage.py run_sandbox_provider`.",
                id="verification.E003",
            )
        ]
    return []


@checks.register(checks.Tags.compatibility)
def check_sweeper_waits_for_retries(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """The sweeper re-enqueues what has not moved for STUCK_AFTER seconds. A retry waiting out
    its backoff has not moved either: if the wait can be longer, the sweeper sends the same
    call a second time."""
    try:
        provider_class = import_string(app_settings.PROVIDER)
    except ImportError:
        return []  # reported by verification.E001
    if app_settings.PROVIDER == SANDBOX:
        call_timeout = sandbox_settings.TIMEOUT
    else:
        call_timeout = float(getattr(provider_class, "call_timeout", BaseProvider.call_timeout))
    longest_quiet = app_settings.PROVIDER_RETRY_BACKOFF_MAX + call_timeout
    if longest_quiet >= app_settings.STUCK_AFTER:
        return [
            checks.Error(
                f"VERIFICATION_STUCK_AFTER ({app_settings.STUCK_AFTER} s) is not longer than the "
                f"longest wait between two provider calls ({longest_quiet:g} s: "
                "VERIFICATION_PROVIDER_RETRY_BACKOFF_MAX plus a call's timeout).",
                hint="Raise VERIFICATION_STUCK_AFTER or lower the backoff cap; otherwise the "
                "sweeper re-sends calls that a retry is still waiting to make.",
                id="verification.E004",
            )
        ]
    return []
