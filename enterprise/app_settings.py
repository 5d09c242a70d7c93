"""Settings of the enterprise app: ``ENTERPRISE_<NAME>`` (how they are read: ``kernel.app_settings``)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from kernel.app_settings import AppSettings, Setting


class EnterpriseSettings(AppSettings):
    prefix = "ENTERPRISE_"

    PRIVATE_STORAGE_ROOT = Setting(
        str,
        lambda: str(Path(settings.LOCAL_DIR) / "private"),
        "Folder of the encrypted licence files; no URL serves it (environment: "
        "PRIVATE_STORAGE_ROOT).",
        formerly="PRIVATE_STORAGE_ROOT",
    )
    LICENCE_MAX_BYTES = Setting(
        int,
        10 * 1024 * 1024,
        "Largest business-licence upload we read; a phone photo or an A4 scan fits easily.",
    )
    LICENCE_MAX_PIXELS = Setting(
        int,
        40_000_000,
        "Largest image (width × height) we decode, so a small file cannot claim gigapixels.",
    )
    LICENCE_MIN_SIDE = Setting(int, 200, "Shortest side, in pixels, of an image staff can read.")
    LICENCE_PDF_MAX_PAGES = Setting(
        int, 5, "A licence is one or two pages; more is a different document."
    )
    LICENCE_RENDER_TIMEOUT = Setting(
        float,
        10.0,
        "Seconds the PDF preview renderer may run before it is killed (the PDF is kept).",
    )
    LICENCE_RENDER_MEMORY = Setting(
        int, 1024 * 1024 * 1024, "Address-space limit, in bytes, of the PDF preview renderer."
    )
    LICENCE_PREVIEW_MAX_SIDE = Setting(
        int, 2000, "Longer side, in pixels, of the PNG preview shown to staff."
    )

    # --- retention (enterprise.retention; the privacy policy states this period) -------------
    LICENCE_RETENTION_DAYS = Setting(
        int,
        180,
        "Days after the decision on an enterprise verification (approved or rejected) before "
        "its business licence file and preview are deleted; the decision record (company, "
        "credit code, status, reason, reviewer, dates, the file's SHA-256) stays. Environment: "
        "``ENTERPRISE_LICENCE_RETENTION_DAYS``.",
    )
    RETENTION_BATCH_SIZE = Setting(
        int, 100, "Licences each retention transaction deletes (files are deleted one by one)."
    )


app_settings = EnterpriseSettings()
