"""``manage.py check_provider NAME``: prove a provider's credentials, clock and signature with
one call that costs nothing, before the first billed verification."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from verification.providers import BUILT_IN, UnknownProvider, configured, provider_class
from verification.providers.base import (
    DIAGNOSES,
    ProviderError,
    ProviderPermanentError,
    ProviderTransientError,
)


class Command(BaseCommand):
    help = (
        "Make one signed call that costs nothing (a query for a session nobody opened) to an "
        "identity provider, and explain any refusal: wrong key, bad signature, clock skew, IP "
        "allow-list, missing permission. NAME is a configured or built-in provider name; "
        "without one, every configured provider is checked."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="*", metavar="NAME")

    def handle(self, *args: Any, names: list[str], **options: Any) -> None:
        names = names or list(configured())
        failed = [name for name in names if not self._check(name)]
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(names)} provider(s) failed: {', '.join(failed)}"
            )

    def _check(self, name: str) -> bool:
        classes = configured()
        try:
            cls = classes[name] if name in classes else provider_class(name)
        except (UnknownProvider, ImportError, TypeError):
            known = ", ".join(dict.fromkeys([*classes, *BUILT_IN]))
            self.stderr.write(f"{name}: no such provider (known: {known})")
            return False
        missing = cls.missing_settings()
        if missing:
            self.stderr.write(
                f"{name}: not configured: {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} empty"
            )
            return False
        try:
            provider = cls()
            line = provider.probe()
        except ProviderPermanentError as refusal:
            self.stderr.write(f"{name}: REFUSED: {refusal}")
            if refusal.diagnosis in DIAGNOSES:
                self.stderr.write(f"  what to check: {DIAGNOSES[refusal.diagnosis]}")
            return False
        except ProviderTransientError as trouble:
            self.stderr.write(
                f"{name}: UNREACHABLE: {trouble} (the vendor did not answer in time, or "
                "answered a server error: check the endpoint setting, DNS, the firewall and "
                "any outbound proxy, then try again)"
            )
            return False
        except ProviderError as error:
            self.stderr.write(f"{name}: FAILED: {error}")
            return False
        except NotImplementedError:
            self.stderr.write(f"{name}: this provider offers no free check call")
            return False
        self.stdout.write(f"{name}: OK: {line}")
        return True
