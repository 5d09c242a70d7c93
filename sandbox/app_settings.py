"""Where the sandbox vendor listens, and the credentials it shares with our client
(``verification.providers.sandbox``), in the kernel's ``AppSettings`` shape: the Django setting
of ``sandbox_settings.URL`` is ``SANDBOX_PROVIDER_URL``."""

from __future__ import annotations

from kernel.app_settings import AppSettings, Setting


class SandboxSettings(AppSettings):
    prefix = "SANDBOX_PROVIDER_"

    URL = Setting(str, "http://127.0.0.1:8765", "How our workers reach the sandbox's API.")
    PUBLIC_URL = Setting(
        str,
        "",
        "How a person's browser reaches its face page (it differs from URL inside "
        "docker-compose); empty: the address the sandbox listens on.",
    )
    APP_ID = Setting(str, "realname-dev", "The one app id the sandbox accepts.")
    SECRET = Setting(
        str,
        "",
        "The HMAC secret both sides sign with; the sandbox refuses to start without one.",
    )
    TIMEOUT = Setting(
        float, 5.0, "Seconds our client waits for an answer before treating the call as timed out."
    )
    REGISTRY = Setting(
        str, "", 'CSV of the "authoritative registry"; empty means the built-in demo registry.'
    )
    COMPANY_REGISTRY = Setting(
        str,
        "",
        "CSV of the business registry for enterprise checks; empty means the built-in demo.",
    )
    ALIPAY_APP_PUBLIC_KEY = Setting(
        str,
        "",
        "The app's RSA public key (PEM text, or the path of a PEM file) the sandbox's Alipay "
        "protocol verifies requests with; empty: it refuses every Alipay call as badly signed.",
    )

    SMS_FILE = Setting(
        str,
        "",
        "Where the SMS carrier protocols (Aliyun SMS, Tencent SMS) append each message, in the "
        "JSON-lines format of our file backend; empty: messages are accepted and not kept.",
    )


sandbox_settings = SandboxSettings()
