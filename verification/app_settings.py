"""Settings of the verification app: ``VERIFICATION_<NAME>`` (how they are read: ``kernel.app_settings``)."""

from __future__ import annotations

from kernel.app_settings import AppSettings, Setting


class VerificationSettings(AppSettings):
    prefix = "VERIFICATION_"

    PROVIDER = Setting(
        str,
        "verification.providers.sandbox.SandboxProvider",
        "Dotted path of the identity provider class (``verification.providers.base``).",
    )
    MAX_ATTEMPTS_PER_DAY = Setting(
        int, 5, "Verification attempts a user may start in 24 hours before being locked out."
    )
    MINIMUM_AGE = Setting(int, 18, "Real-name authentication is for adults only.")
    PROVIDER_MAX_RETRIES = Setting(
        int,
        5,
        "Retries of a provider call after a transient error (timeout, 5xx) before ``error``.",
    )
    PROVIDER_RETRY_BACKOFF = Setting(
        float,
        2.0,
        "Base, in seconds, of the exponential backoff: retries wait about 1, 2, 4... times it.",
    )
    PROVIDER_RETRY_BACKOFF_MAX = Setting(
        int,
        60,
        "Cap, in seconds, of the exponential backoff between retries. Keep it below "
        "``STUCK_AFTER`` minus a call's timeout (checked: verification.E004).",
    )
    STUCK_AFTER = Setting(
        int,
        120,
        "Seconds after which the sweeper re-enqueues a verification still waiting for a worker.",
    )


app_settings = VerificationSettings()
