"""Identity providers, chosen by the ``VERIFICATION_PROVIDER`` dotted path (like EMAIL_BACKEND)."""

from __future__ import annotations

import functools
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from ..app_settings import app_settings
from .base import BaseProvider


@functools.cache
def get_provider() -> BaseProvider:
    provider_class = import_string(app_settings.PROVIDER)
    provider = provider_class()
    if not isinstance(provider, BaseProvider):
        raise TypeError(f"{app_settings.PROVIDER} is not a verification provider")
    return provider


def provider_name() -> str:
    """The configured provider's short name, recorded on each verification it checks."""
    provider_class = import_string(app_settings.PROVIDER)
    return str(getattr(provider_class, "name", "") or provider_class.__name__.lower())[:40]


@receiver(setting_changed)
def _clear_provider_cache(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith(("VERIFICATION_", "SANDBOX_PROVIDER_")):
        get_provider.cache_clear()
