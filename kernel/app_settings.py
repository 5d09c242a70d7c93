"""The one shape of an app's settings (django-allauth's ``app_settings.py``, typed), and the
kernel's own settings.

An app declares each setting once, on a subclass of ``AppSettings``::

    class VerificationSettings(AppSettings):
        prefix = "VERIFICATION_"

        MAX_ATTEMPTS_PER_DAY = Setting(int, 5, "Attempts a user may start in 24 hours.")

    app_settings = VerificationSettings()

``app_settings.MAX_ATTEMPTS_PER_DAY`` then reads the Django setting
``VERIFICATION_MAX_ATTEMPTS_PER_DAY`` at each access (so ``override_settings`` works), falls
back to the default in the declaration (and nowhere else), and refuses a value of another type
with ``ImproperlyConfigured``; ``manage.py check`` reports every such value (realname.E001). The settings package sets the Django setting only when the
environment gives one."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import overload

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_UNSET = object()


class Setting[T]:
    """One setting: its type, its default and why it exists (the docstring). A callable default
    is called at each read, for a default derived from another setting. ``formerly`` names the
    Django setting it replaced, so the system checks can report one left behind."""

    def __init__(
        self, kind: type[T], default: T | Callable[[], T], doc: str, *, formerly: str = ""
    ) -> None:
        self.kind = kind
        self._default = default
        self.__doc__ = doc
        self.formerly = formerly
        self.name = ""

    def __set_name__(self, owner: type[AppSettings], name: str) -> None:
        self.name = owner.prefix + name

    @overload
    def __get__(self, instance: None, owner: type[AppSettings]) -> Setting[T]: ...
    @overload
    def __get__(self, instance: AppSettings, owner: type[AppSettings]) -> T: ...
    def __get__(self, instance: AppSettings | None, owner: type[AppSettings]) -> T | Setting[T]:
        return self if instance is None else self.read()

    def read(self) -> T:
        value = getattr(settings, self.name, _UNSET)
        return self.default() if value is _UNSET else self.validate(value)

    def default(self) -> T:
        default = self._default
        return default() if callable(default) else default

    def validate(self, value: object) -> T:
        """The value itself if it has the declared type. An int is a float and a ``Path`` a str,
        as Django settings often write them; a bool is no int."""
        if self.kind is float and type(value) is int:
            value = float(value)
        if self.kind is str and isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, self.kind) or (isinstance(value, bool) and self.kind is not bool):
            # The value is not shown: a misplaced secret must not end up in a log.
            raise ImproperlyConfigured(
                f"The {self.name} setting must be of type {self.kind.__name__}, "
                f"not {type(value).__name__}."
            )
        return value


class AppSettings:
    """Base of every app's settings: the Django setting of ``NAME`` is ``prefix + NAME``."""

    prefix = ""

    @classmethod
    def declared(cls) -> Iterator[Setting[object]]:
        for value in vars(cls).values():
            if isinstance(value, Setting):
                yield value


class KernelSettings(AppSettings):
    """Encryption keys, request limits and the health check: the project's own names, under the
    ``REALNAME_`` prefix its check ids (``realname.E010``) and cache keys already use."""

    prefix = "REALNAME_"

    FIELD_ENCRYPTION_KEYS: Setting[list[str]] = Setting(
        list,
        list,
        '"<key id>:<urlsafe base64 of 32+ bytes>" entries: the first encrypts, all decrypt '
        "(key rotation). Empty is refused by the system checks (realname.E010).",
        formerly="FIELD_ENCRYPTION_KEYS",
    )
    BLIND_INDEX_KEY = Setting(
        str,
        "",
        "Keys the HMAC that finds encrypted values without decrypting them; it cannot change "
        "without recomputing every index. Empty is refused by the system checks (realname.E014).",
        formerly="BLIND_INDEX_KEY",
    )
    RATE_LIMITS: Setting[dict[str, str]] = Setting(
        dict,
        dict,
        "Request limits per action in allauth's notation, over kernel.ratelimit's defaults: "
        '{"verification_submit": "10/10m/user,60/10m/ip"}; an empty string lifts a limit.',
    )
    DATABASE_PROCESSES = Setting(
        int,
        1,
        "How many processes open a database connection pool against this server (each "
        "gunicorn worker, each Celery worker process, beat): the system check realname.W030 "
        "warns when that many pools of ``DATABASE_POOL_MAX_SIZE`` exceed the server's "
        "max_connections. Environment: ``DATABASE_PROCESSES``.",
    )
    HEALTHZ_WORKER_TIMEOUT = Setting(
        float,
        1.5,
        "Seconds /healthz waits for a worker to answer a ping before reporting it down.",
        formerly="HEALTHZ_WORKER_TIMEOUT",
    )
    # The Prometheus endpoint (/metrics): closed unless a token or addresses are configured;
    # when both are, a scrape needs both.
    METRICS_TOKEN = Setting(
        str,
        "",
        "The bearer token a scraper sends (Authorization: Bearer ...) to read /metrics.",
    )
    METRICS_ALLOWED_IPS: Setting[list[str]] = Setting(
        list,
        list,
        "Client addresses or networks (10.0.0.0/8) allowed to read /metrics, as "
        "kernel.request.client_ip sees them.",
    )
    METRICS_REDIS_URL = Setting(
        str,
        lambda: getattr(settings, "REDIS_URL", None) or "",
        "The Redis every process records its counters in (kernel.metrics); REDIS_URL by "
        "default. Empty records nothing.",
    )
    METRICS_KEY_PREFIX = Setting(
        str,
        "realname:metrics",
        "The prefix of the Redis keys holding the counters (one hash per metric).",
    )

    # --- our public address and the support team's alerts (issue #16, items 4 and 6) ---------
    PUBLIC_URL = Setting(
        str,
        "",
        "The site's public base URL (scheme, host and port, no path), e.g. "
        "``https://realname.example.com``: every URL given to a vendor (the face step's return "
        "and notification URLs) is built from it, never from a request's Host header. "
        "Environment: ``PUBLIC_URL``; production refuses to start without it.",
    )
    ALERT_EMAILS: Setting[list[str]] = Setting(
        list,
        list,
        "Addresses of the support team, mailed (Django's mail settings) when verifications stop "
        "in ``error`` or a provider's or carrier's error rate crosses ``ALERT_ERROR_RATE``. "
        "Environment: ``ALERT_EMAILS=ops@example.com,desk@example.com``.",
    )
    ALERT_WEBHOOK_URL = Setting(
        str,
        "",
        "Optional URL that receives each alert as a JSON POST (no personal data), e.g. a chat "
        "channel's incoming webhook. Environment: ``ALERT_WEBHOOK_URL``.",
    )
    ALERT_INTERVAL = Setting(
        int,
        15 * 60,
        "Seconds during which an alert of one kind is sent at most once (counted in the shared "
        "cache, so across every web and worker process).",
    )
    ALERT_ERROR_RATE = Setting(
        float,
        0.5,
        "Share of failed calls (0-1) to one provider or carrier, within ``ALERT_RATE_WINDOW``, "
        "that alerts the support team.",
    )
    ALERT_RATE_MIN_CALLS = Setting(
        int,
        10,
        "Calls to one provider or carrier within ``ALERT_RATE_WINDOW`` before its error rate is "
        "judged: two failures out of three calls are no outage.",
    )
    ALERT_RATE_WINDOW = Setting(
        int,
        5 * 60,
        "Seconds over which calls and failures are counted for the error-rate alert.",
    )


app_settings = KernelSettings()
