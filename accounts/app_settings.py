"""Settings of the accounts app (the kernel's ``AppSettings`` shape).

Read them as ``app_settings.SMS_BACKEND``; the Django setting is the name with the prefix,
``ACCOUNTS_SMS_BACKEND``. The settings package fills it from the ``SMS_BACKEND`` environment
variable, the name deployers already use."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from kernel.app_settings import AppSettings, Setting


class AccountsSettings(AppSettings):
    prefix = "ACCOUNTS_"

    SMS_BACKEND = Setting(
        str,
        "accounts.sms.console.SmsBackend",
        "Dotted path of the SMS backend class, as Django's EMAIL_BACKEND.",
        formerly="SMS_BACKEND",
    )
    SMS_FILE_PATH = Setting(
        str,
        lambda: str(Path(settings.LOCAL_DIR) / "sms.jsonl"),
        "Where the file backend appends one JSON object per message.",
        formerly="SMS_FILE_PATH",
    )
    SMS_SIGNATURE = Setting(
        str,
        "realname",
        "The 【signature】 that mainland carriers require at the start of every text.",
        formerly="SMS_SIGNATURE",
    )

    # Not settings: the legal documents each step asks for are part of the product.
    SIGNUP_DOCUMENTS: tuple[str, ...] = ("user-agreement", "privacy-policy")
    """Legal documents accepted with separate checkboxes at sign-up."""
    VERIFICATION_DOCUMENTS: tuple[str, ...] = (*SIGNUP_DOCUMENTS, "realname-service")
    """Accepted before verification starts (and so before any guarded action)."""
    FACE_DOCUMENT = "face-rules"
    """Sensitive personal information: its own checkbox, right before any face step."""


app_settings = AccountsSettings()
