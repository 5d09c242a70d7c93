"""Identity providers by name, and the router that picks one for a new verification.

``VERIFICATION_PROVIDERS`` lists the configured providers in order of preference, each a
built-in name (``sandbox``, ``aliyun``, ``tencent``, ``alipay``) or the dotted path of a
:class:`~verification.providers.base.BaseProvider` subclass. ``VERIFICATION_ROUTES`` may name,
per document type (and ``enterprise``), an ordered list of them; a type it does not name goes
to every configured provider that covers it, in the order of ``VERIFICATION_PROVIDERS``.
The provider chosen is recorded on the verification, and every later call for it (the face
session above all) goes to that provider: see :mod:`verification.providers.router`."""

from __future__ import annotations

import functools
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from ..app_settings import app_settings
from .base import BaseProvider

#: The adapters shipped with realname, by the name the settings use.
BUILT_IN = {
    "sandbox": "verification.providers.sandbox.SandboxProvider",
    "aliyun": "verification.providers.aliyun.AliyunProvider",
    "tencent": "verification.providers.tencent.TencentProvider",
    "alipay": "verification.providers.alipay.AlipayProvider",
}

#: The route key of enterprise checks (personal ones route by document type).
ENTERPRISE = "enterprise"


class UnknownProvider(LookupError):
    """A provider name that is neither built in nor configured."""


def provider_class(entry: str) -> type[BaseProvider]:
    """The class of a ``VERIFICATION_PROVIDERS`` entry: a built-in name or a dotted path."""
    path = BUILT_IN.get(entry, entry)
    if "." not in path:
        raise UnknownProvider(entry)
    cls = import_string(path)
    if not (isinstance(cls, type) and issubclass(cls, BaseProvider)):
        raise TypeError(f"{entry} is not a verification provider")
    return cls


def _name_of(entry: str, cls: type[BaseProvider]) -> str:
    return str(cls.name or entry.rsplit(".", 1)[-1].lower())[:40]


@functools.cache
def configured() -> dict[str, type[BaseProvider]]:
    """The configured providers by name, in order of preference."""
    classes: dict[str, type[BaseProvider]] = {}
    for entry in app_settings.PROVIDERS:
        cls = provider_class(entry)
        classes[_name_of(entry, cls)] = cls
    return classes


@functools.cache
def get_provider(name: str = "") -> BaseProvider:
    """The one instance of the provider ``name`` in this process (the first configured one
    when ``name`` is empty: verifications recorded before routing existed name none)."""
    classes = configured()
    if not name:
        name = next(iter(classes))
    if name not in classes:
        # A verification started at a provider since removed from the settings still
        # finishes there, so it can be built by its built-in name.
        if name not in BUILT_IN:
            raise UnknownProvider(name)
        return provider_class(name)()
    return classes[name]()


def route(key: str) -> list[str]:
    """The providers, in order, that may take a new verification of ``key`` (a document type,
    or :data:`ENTERPRISE`). Empty when none is configured for it."""
    classes = configured()
    explicit = app_settings.ROUTES.get(key)
    names = list(explicit) if explicit is not None else list(classes)
    return [name for name in names if name in classes and covers(classes[name], key)]


def covers(cls: type[BaseProvider], key: str) -> bool:
    if key == ENTERPRISE:
        return cls.checks_enterprises
    return key in cls.document_types


@receiver(setting_changed)
def _clear_provider_cache(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith(("VERIFICATION_", "SANDBOX_PROVIDER_", "ALIYUN_", "TENCENT_", "ALIPAY_")):
        get_provider.cache_clear()
        configured.cache_clear()
