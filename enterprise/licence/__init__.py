"""Business-licence uploads: ``sanitize_licence`` decides what may be stored, ``watermark`` marks
copies shown to staff. See ``sanitize.py`` for the policy."""

from .base import SanitizedLicence
from .sanitize import sanitize_licence
from .watermarking import FALLBACK_TEXT, WATERMARK_TEXT, watermark

__all__ = ["FALLBACK_TEXT", "WATERMARK_TEXT", "SanitizedLicence", "sanitize_licence", "watermark"]
