"""System checks for the verification app: a provider that cannot work is reported at start-up,
not at the first person's verification."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.utils.module_loading import import_string

from .app_settings import app_settings, sandbox_settings
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
