"""System checks for the verification app: a provider that cannot work, or a document type no
provider covers, is reported at start-up, not at the first person's verification."""

from __future__ import annotations

from typing import Any

from django.core import checks

from .app_settings import app_settings
from .documents import DocumentType
from .providers import ENTERPRISE, UnknownProvider, covers, provider_class
from .providers.base import BaseProvider


def _classes() -> tuple[dict[str, type[BaseProvider]], list[checks.CheckMessage]]:
    """The configured providers that can be built, by entry, and the errors of those that
    cannot."""
    classes: dict[str, type[BaseProvider]] = {}
    errors: list[checks.CheckMessage] = []
    if not app_settings.PROVIDERS:
        errors.append(
            checks.Error(
                "VERIFICATION_PROVIDERS is empty: nobody can be verified.",
                hint="Name at least one provider, e.g. VERIFICATION_PROVIDERS=aliyun.",
                id="verification.E001",
            )
        )
    for entry in app_settings.PROVIDERS:
        try:
            classes[entry] = provider_class(entry)
        except (ImportError, UnknownProvider) as exc:
            errors.append(
                checks.Error(
                    f"VERIFICATION_PROVIDERS names {entry!r}, which cannot be imported "
                    f"({type(exc).__name__}).",
                    hint="Use a built-in name (sandbox, aliyun, tencent, alipay) or the dotted "
                    "path of a verification.providers.base.BaseProvider subclass.",
                    id="verification.E001",
                )
            )
        except TypeError:
            errors.append(
                checks.Error(
                    f"VERIFICATION_PROVIDERS names {entry!r}, which is not a BaseProvider.",
                    id="verification.E002",
                )
            )
    return classes, errors


@checks.register(checks.Tags.compatibility)
def check_provider(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    classes, messages = _classes()
    for entry, cls in classes.items():
        missing = cls.missing_settings()
        if missing:
            messages.append(
                checks.Error(
                    f"The {entry} provider is configured but its settings "
                    f"{', '.join(missing)} are empty.",
                    hint="Set them in the environment of the web process and the workers (the "
                    "README's configuration table names each variable); the values are never "
                    "shown here.",
                    id="verification.E003",
                )
            )
    messages.extend(_check_routes(classes))
    return messages


def _check_routes(classes: dict[str, type[BaseProvider]]) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    by_name = {str(cls.name or entry): cls for entry, cls in classes.items()}
    keys = {t.value for t in DocumentType} | {ENTERPRISE}
    for key, names in app_settings.ROUTES.items():
        if key not in keys:
            messages.append(
                checks.Error(
                    f"VERIFICATION_ROUTES has a route for {key!r}, which is no document type.",
                    hint=f"Route keys: {', '.join(sorted(keys))}.",
                    id="verification.E005",
                )
            )
            continue
        for name in names:
            if name not in by_name:
                messages.append(
                    checks.Error(
                        f"VERIFICATION_ROUTES sends {key} to {name!r}, which is not in "
                        "VERIFICATION_PROVIDERS.",
                        hint="Add it to VERIFICATION_PROVIDERS or remove it from the route.",
                        id="verification.E005",
                    )
                )
            elif not covers(by_name[name], key):
                messages.append(
                    checks.Error(
                        f"VERIFICATION_ROUTES sends {key} to {name}, which does not check it.",
                        hint="The README's vendor table shows which vendor covers which type.",
                        id="verification.E005",
                    )
                )
    if messages or not classes:
        return messages
    for key in sorted(keys):
        explicit = app_settings.ROUTES.get(key)
        names = list(explicit) if explicit is not None else list(by_name)
        if not any(covers(by_name[name], key) for name in names if name in by_name):
            what = "enterprise verification" if key == ENTERPRISE else f"documents of type {key}"
            messages.append(
                checks.Warning(
                    f"No configured provider covers {what}: the form offers it as unavailable.",
                    hint="Add a provider that covers it to VERIFICATION_PROVIDERS (and its "
                    "route to VERIFICATION_ROUTES), or accept that it cannot be verified here.",
                    id="verification.W006",
                )
            )
    return messages


@checks.register(checks.Tags.compatibility)
def check_sweeper_waits_for_retries(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """The sweeper re-enqueues what has not moved for STUCK_AFTER seconds. A retry waiting out
    its backoff has not moved either: if the wait can be longer, the sweeper sends the same
    call a second time. Each failure is stored (the record moves), and no wait is longer than
    the backoff cap, however long ``PROVIDER_RETRY_WINDOW`` lets the retries go on: the cap
    and one call's timeout are what must fit."""
    classes, errors = _classes()
    if errors or not classes:
        return []  # reported by check_provider
    call_timeout = max(cls.timeout() for cls in classes.values())
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
