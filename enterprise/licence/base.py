"""The result of sanitising a licence upload, and the refusals people see instead."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

JPEG = "image/jpeg"
PNG = "image/png"
PDF = "application/pdf"


@dataclass(frozen=True)
class SanitizedLicence:
    """What may be stored: a re-encoded image without metadata, or a checked PDF as uploaded.

    The bytes stay out of ``repr`` so that a licence never lands in a log or a traceback."""

    content: bytes = field(repr=False)
    content_type: str
    extension: str
    preview_png: bytes | None = field(repr=False)
    width: int | None
    height: int | None


MESSAGES: dict[str, StrOrPromise] = {
    "empty": _(
        "This file is empty. Please choose the scan or photo of your business licence again."
    ),
    "too_large": _("This file is larger than %(limit)s. Please upload a smaller scan or photo."),
    "unsupported_type": _("Please upload the licence as a JPEG, PNG or PDF file."),
    "corrupt": _(
        "This file seems to be damaged or incomplete. Please scan or photograph the licence again and upload the new file."
    ),
    "too_many_pixels": _(
        "This image is too large to process (more than %(limit)s megapixels). Please upload a smaller photo or scan."
    ),
    "too_small": _(
        "This image is too small to read (%(width)s × %(height)s pixels). Please upload a clearer photo or scan, at least %(minimum)s pixels on each side."
    ),
    "active_content": _(
        "This PDF contains scripts, attachments or other active content, which we cannot accept. Please print it to a new PDF, or upload a scan or photo of the licence instead."
    ),
    "encrypted_pdf": _(
        "This PDF is protected by a password. Please upload a copy without a password, or a scan or photo of the licence."
    ),
    "too_many_pages": ngettext_lazy(
        "This PDF has more than %(limit)d page. Please upload only the pages that show the business licence.",
        "This PDF has more than %(limit)d pages. Please upload only the pages that show the business licence.",
        "limit",
    ),
}


def refusal(code: str, **params: object) -> ValidationError:
    """The ValidationError for ``code``; messages are plain words, never the file's content."""
    return ValidationError(MESSAGES[code], code=code, params=params or None)


def human_size(size: int) -> str:
    """``10 MB`` for 10 MiB, as people read sizes; smaller limits in KB or bytes."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"
