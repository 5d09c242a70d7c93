"""The one way a licence file leaves storage: to its owner (enterprise.views) or, watermarked,
to support staff (the support desk). Not a view, so both can use it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404, HttpResponse

from ..storage import licence_read
from .watermarking import watermark

if TYPE_CHECKING:
    from ..models import EnterpriseVerification

WATERMARK = "仅供实名认证使用 · For real-name verification only"


def licence_response(verification: EnterpriseVerification, *, for_staff: bool) -> HttpResponse:
    """The licence file as a response that no browser will run: nosniff, a sandbox policy, no
    caching. Staff get the preview (at most 2000 px, metadata-free; for a PDF its first page,
    rendered in a sandboxed process at upload), watermarked. A licence deleted at the end of
    its retention period (enterprise.retention) is a 404, not an error page."""
    if not verification.licence_name:
        raise Http404("The licence file was deleted at the end of its retention period.")
    if for_staff:
        image_name = verification.licence_preview_name or (
            ""
            if verification.licence_content_type == "application/pdf"
            else verification.licence_name
        )
        if image_name:
            body, content_type = watermark(licence_read(image_name), WATERMARK), "image/png"
        else:  # a PDF that could not be rendered safely: downloaded as it is
            body, content_type = licence_read(verification.licence_name), "application/pdf"
    else:
        body, content_type = (
            licence_read(verification.licence_name),
            verification.licence_content_type,
        )
    response = HttpResponse(body, content_type=content_type)
    if content_type == "application/pdf":
        # Browsers' PDF viewers do not run under the sandbox policy below, and a PDF viewer is
        # the riskier renderer anyway: a PDF is downloaded and opened outside the browser.
        response["Content-Disposition"] = 'attachment; filename="licence.pdf"'
    else:
        response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
