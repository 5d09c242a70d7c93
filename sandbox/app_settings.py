"""Where the sandbox vendor listens, and the credentials it shares with our client
(``verification.providers.sandbox``)."""

from __future__ import annotations

from django.conf import settings


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
