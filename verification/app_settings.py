"""Settings of the verification app, with their defaults (django-allauth's app_settings pattern).

Read them as ``app_settings.PROVIDER``; the Django setting is the name with the prefix,
e.g. ``VERIFICATION_PROVIDER``."""

from __future__ import annotations

from django.conf import settings


class AppSettings:
    prefix = "VERIFICATION_"

    def _setting(self, name: str, default: object) -> object:
        return getattr(settings, self.prefix + name, default)

    @property
    def PROVIDER(self) -> str:
        """Dotted path of the identity provider class (``verification.providers.base``)."""
        return str(self._setting("PROVIDER", "verification.providers.sandbox.SandboxProvider"))

    @property
    def MAX_ATTEMPTS_PER_DAY(self) -> int:
        """Verification attempts a user may start in 24 hours before being locked out."""
        return int(self._setting("MAX_ATTEMPTS_PER_DAY", 5))  # type: ignore[call-overload]

    @property
    def MINIMUM_AGE(self) -> int:
        """Real-name authentication is for adults only."""
        return int(self._setting("MINIMUM_AGE", 18))  # type: ignore[call-overload]

    @property
    def PROVIDER_MAX_RETRIES(self) -> int:
        """Retries of a provider call after a transient error (timeout, 5xx) before ``error``."""
        return int(self._setting("PROVIDER_MAX_RETRIES", 5))  # type: ignore[call-overload]

    @property
    def PROVIDER_RETRY_BACKOFF(self) -> float:
        """Base, in seconds, of the exponential backoff: retries wait about 1, 2, 4... times it."""
        return float(self._setting("PROVIDER_RETRY_BACKOFF", 2.0))  # type: ignore[arg-type]

    @property
    def PROVIDER_RETRY_BACKOFF_MAX(self) -> int:
        """Cap, in seconds, of the exponential backoff between retries. Keep it below
        ``STUCK_AFTER`` minus a call's timeout (checked: verification.E004)."""
        return int(self._setting("PROVIDER_RETRY_BACKOFF_MAX", 60))  # type: ignore[call-overload]

    @property
    def STUCK_AFTER(self) -> int:
        """Seconds after which the sweeper re-enqueues a verification still waiting for a worker."""
        return int(self._setting("STUCK_AFTER", 120))  # type: ignore[call-overload]


app_settings = AppSettings()
