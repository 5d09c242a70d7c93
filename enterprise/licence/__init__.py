"""Business-licence uploads: ``sanitize_licence`` decides what may be stored, ``watermark`` marks
copies shown to staff, ``licence_response`` hands a stored licence out. See ``sanitize.py`` for
the policy."""

from .base import SanitizedLicence
from .response import WATERMARK, licence_response
from .sanitize import sanitize_licence
from .watermarking import FALLBACK_TEXT, WATERMARK_TEXT, watermark

__all__ = [
    "FALLBACK_TEXT",
    "WATERMARK",
    "WATERMARK_TEXT",
    "SanitizedLicence",
    "licence_response",
    "sanitize_licence",
    "watermark",
]
