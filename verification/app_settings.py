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


class SandboxSettings:
    """Where the sandbox provider service listens, and the credentials both sides share.

    ``SANDBOX_PROVIDER_URL`` is how our workers reach its API; ``SANDBOX_PROVIDER_PUBLIC_URL``
    is how a person's browser reaches its face page (they differ inside docker-compose)."""

    @property
    def URL(self) -> str:
        return str(getattr(settings, "SANDBOX_PROVIDER_URL", "http://127.0.0.1:8765"))

    @property
    def PUBLIC_URL(self) -> str:
        return str(getattr(settings, "SANDBOX_PROVIDER_PUBLIC_URL", "") or self.URL)

    @property
    def APP_ID(self) -> str:
        return str(getattr(settings, "SANDBOX_PROVIDER_APP_ID", "realname-dev"))

    @property
    def SECRET(self) -> str:
        return str(getattr(settings, "SANDBOX_PROVIDER_SECRET", ""))

    @property
    def TIMEOUT(self) -> float:
        """Seconds our client waits for an answer before treating the call as timed out."""
        return float(getattr(settings, "SANDBOX_PROVIDER_TIMEOUT", 5.0))

    @property
    def REGISTRY(self) -> str:
        """CSV of the "authoritative registry"; empty means the built-in demo registry."""
        return str(getattr(settings, "SANDBOX_PROVIDER_REGISTRY", ""))

    @property
    def COMPANY_REGISTRY(self) -> str:
        """CSV of the business registry for enterprise checks; empty means the built-in demo."""
        return str(getattr(settings, "SANDBOX_PROVIDER_COMPANY_REGISTRY", ""))


sandbox_settings = SandboxSettings()
