"""The entry point for licence uploads: read within the size limit, decide the type by content.

The file name and the browser's content type are never consulted: both are chosen by the
uploader. The first bytes pick a parser, and only a successful parse accepts the file."""

from __future__ import annotations

import contextlib
from typing import IO

from django.core.files.uploadedfile import UploadedFile

from ..app_settings import app_settings
from .base import JPEG, PDF, PNG, SanitizedLicence, human_size, refusal
from .images import sanitize_image
from .pdf import sanitize_pdf

SIGNATURES = (
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"%PDF-", PDF),
)
READ_CHUNK = 1024 * 1024


def sanitize_licence(
    upload: UploadedFile | IO[bytes], *, max_bytes: int | None = None
) -> SanitizedLicence:
    """Check a business-licence upload and return what may be stored, or raise ValidationError.

    Codes: ``empty``, ``too_large``, ``unsupported_type``, ``corrupt``, ``too_many_pixels``,
    ``too_small``, ``active_content``, ``encrypted_pdf``, ``too_many_pages``."""
    limit = app_settings.LICENCE_MAX_BYTES if max_bytes is None else max_bytes
    data = read_limited(upload, limit)
    content_type = detect_type(data)
    if content_type == PDF:
        return sanitize_pdf(data)
    return sanitize_image(data, content_type)


def read_limited(upload: UploadedFile | IO[bytes], limit: int) -> bytes:
    """At most ``limit`` bytes of the upload; a larger one is refused before it is read whole."""
    declared = getattr(upload, "size", None)
    if isinstance(declared, int) and declared > limit:
        raise refusal("too_large", limit=human_size(limit))
    # A stream that cannot seek is read from where it stands.
    with contextlib.suppress(AttributeError, OSError, ValueError):
        upload.seek(0)
    chunks: list[bytes] = []
    received = 0
    while received <= limit:
        chunk = upload.read(min(READ_CHUNK, limit + 1 - received))
        if not chunk:
            break
        chunks.append(bytes(chunk))
        received += len(chunk)
    if received > limit:
        raise refusal("too_large", limit=human_size(limit))
    if received == 0:
        raise refusal("empty")
    return b"".join(chunks)


def detect_type(data: bytes) -> str:
    """The content type that the file's first bytes claim, among the three we accept."""
    for signature, content_type in SIGNATURES:
        if data.startswith(signature):
            return content_type
    raise refusal("unsupported_type")
