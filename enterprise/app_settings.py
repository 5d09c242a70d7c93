"""Settings of the enterprise app, with their defaults (django-allauth's app_settings pattern).

Read them as ``app_settings.LICENCE_MAX_BYTES``; the Django setting is the name with the prefix,
e.g. ``ENTERPRISE_LICENCE_MAX_BYTES``."""

from __future__ import annotations

from django.conf import settings


class AppSettings:
    prefix = "ENTERPRISE_"

    def _setting(self, name: str, default: object) -> object:
        return getattr(settings, self.prefix + name, default)

    @property
    def LICENCE_MAX_BYTES(self) -> int:
        """Largest business-licence upload we read; a phone photo or an A4 scan fits easily."""
        return int(self._setting("LICENCE_MAX_BYTES", 10 * 1024 * 1024))  # type: ignore[call-overload]

    @property
    def LICENCE_MAX_PIXELS(self) -> int:
        """Largest image (width × height) we decode, so a small file cannot claim gigapixels."""
        return int(self._setting("LICENCE_MAX_PIXELS", 40_000_000))  # type: ignore[call-overload]

    @property
    def LICENCE_MIN_SIDE(self) -> int:
        """Shortest side, in pixels, of an image that staff can still read."""
        return int(self._setting("LICENCE_MIN_SIDE", 200))  # type: ignore[call-overload]

    @property
    def LICENCE_PDF_MAX_PAGES(self) -> int:
        """A licence is one or two pages; more is a different document."""
        return int(self._setting("LICENCE_PDF_MAX_PAGES", 5))  # type: ignore[call-overload]

    @property
    def LICENCE_RENDER_TIMEOUT(self) -> float:
        """Seconds the PDF preview renderer may run before it is killed (the PDF is kept)."""
        return float(self._setting("LICENCE_RENDER_TIMEOUT", 10.0))  # type: ignore[arg-type]

    @property
    def LICENCE_RENDER_MEMORY(self) -> int:
        """Address-space limit, in bytes, of the PDF preview renderer process."""
        return int(self._setting("LICENCE_RENDER_MEMORY", 1024 * 1024 * 1024))  # type: ignore[call-overload]

    @property
    def LICENCE_PREVIEW_MAX_SIDE(self) -> int:
        """Longer side, in pixels, of the PNG preview shown to staff."""
        return int(self._setting("LICENCE_PREVIEW_MAX_SIDE", 2000))  # type: ignore[call-overload]


app_settings = AppSettings()
