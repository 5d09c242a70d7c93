"""Settings of the accounts app, with their defaults (django-allauth's app_settings pattern)."""

from __future__ import annotations

from django.conf import settings


class AppSettings:
    prefix = "ACCOUNTS_"

    def _setting(self, name: str, default: object) -> object:
        return getattr(settings, name, default)

    @property
    def SMS_BACKEND(self) -> str:
        """Dotted path of the SMS backend class, as Django's EMAIL_BACKEND."""
        return str(self._setting("SMS_BACKEND", "accounts.sms.console.SmsBackend"))

    @property
    def SMS_FILE_PATH(self) -> str:
        """Where the file backend appends one JSON object per message."""
        return str(self._setting("SMS_FILE_PATH", settings.BASE_DIR / ".local" / "sms.jsonl"))

    @property
    def SMS_SIGNATURE(self) -> str:
        """The 【signature】 that mainland carriers require at the start of every text."""
        return str(self._setting("SMS_SIGNATURE", "realname"))

    @property
    def SIGNUP_DOCUMENTS(self) -> tuple[str, ...]:
        """Legal documents accepted with separate checkboxes at sign-up."""
        return ("user-agreement", "privacy-policy")

    @property
    def VERIFICATION_DOCUMENTS(self) -> tuple[str, ...]:
        """Accepted before verification starts (and so before any guarded action)."""
        return (*self.SIGNUP_DOCUMENTS, "realname-service")

    @property
    def FACE_DOCUMENT(self) -> str:
        """Sensitive personal information: its own checkbox, right before any face step."""
        return "face-rules"


app_settings = AppSettings()
