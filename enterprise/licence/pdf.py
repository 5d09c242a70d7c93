"""PDF licences: checked with pypdf and kept byte for byte, previewed only in a sandboxed process.

A PDF is not re-encoded (that would mean rendering and losing the text layer), so what we accept
must be plainly a document: it parses strictly, has a few pages, no password, and nothing that a
viewer would run, open or submit."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    PdfObject,
    TextStringObject,
)

from ..app_settings import app_settings
from .base import PDF, SanitizedLicence, refusal
from .render import render_first_page

# Names that make a viewer run code, open or submit something, or carry another file.
ACTIVE_NAMES = frozenset(
    {
        "/JavaScript",
        "/JS",
        "/AA",
        "/Launch",
        "/SubmitForm",
        "/ImportData",
        "/GoToE",
        "/GoToR",
        "/RichMedia",
        "/RichMediaExecute",
        "/Rendition",
        "/Movie",
        "/Sound",
        "/EmbeddedFiles",
        "/EmbeddedFile",
        "/FileAttachment",
        "/XFA",
        "/AcroForm",
        "/Widget",
        "/Screen",
        "/3D",
        "/3DD",
        "/3DJS",
        "/OnInstantiate",
    }
)
# Keys whose value is an action. An action is allowed only if it shows a page in this document
# or opens a web address; every other kind (/Named, /Hide, /SetOCGState, /Thread, /Trans, …)
# is refused, including kinds that do not exist yet.
ACTION_KEYS = frozenset({"/A", "/OpenAction", "/Next", "/PA"})
WEB_URI = re.compile(rb"https?://[^\s]+", re.IGNORECASE)
# Markup a browser would sniff as a web page: a PDF that also reads as HTML is a polyglot.
MARKUP = re.compile(rb"<\s*(?:script|html|iframe|!doctype\s+html)\b", re.IGNORECASE)
EOF_WINDOW = 1024
MAX_OBJECTS = 200_000


def sanitize_pdf(data: bytes) -> SanitizedLicence:
    """Accept ``data`` as it is if it is a plain PDF, with a page-one preview when one renders."""
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-EOF_WINDOW:]:
        raise refusal("corrupt")
    if MARKUP.search(data):
        raise refusal("active_content")
    try:
        reader = PdfReader(io.BytesIO(data), strict=True)
        encrypted = reader.is_encrypted
    except Exception:  # pypdf reports malformed files with many exception types.
        raise refusal("corrupt") from None
    if encrypted:
        raise refusal("encrypted_pdf")
    try:
        pages = len(reader.pages)
        active = has_active_content(reader)
    except Exception:
        raise refusal("corrupt") from None
    if pages < 1:
        raise refusal("corrupt")
    maximum = app_settings.LICENCE_PDF_MAX_PAGES
    if pages > maximum:
        raise refusal("too_many_pages", limit=maximum)
    if active:
        raise refusal("active_content")
    preview = render_first_page(data)  # None if it cannot be rendered safely: keep the PDF
    return SanitizedLicence(
        content=data,
        content_type=PDF,
        extension="pdf",
        preview_png=preview.png if preview else None,
        width=preview.width if preview else None,
        height=preview.height if preview else None,
    )


def has_active_content(reader: PdfReader) -> bool:
    """Whether any object reachable from the trailer asks a viewer to act, not just to display.

    Walks every dictionary, array and name (pypdf has already decoded ``#xx`` escapes in names),
    so hiding ``/JavaScript`` in a page, an annotation or a name tree does not help."""
    pending: list[PdfObject] = [reader.trailer]
    seen: set[tuple[int, int]] = set()
    visited = 0
    while pending:
        item = pending.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            resolved = item.get_object()
            if resolved is None:
                continue
            item = resolved
        visited += 1
        if visited > MAX_OBJECTS:
            raise ValueError("too many objects")
        if isinstance(item, DictionaryObject):
            for name, value in item.items():
                if name in ACTIVE_NAMES:
                    return True
                if name in ACTION_KEYS and not _is_plain_action(
                    value, web_links=name != "/OpenAction"
                ):
                    return True
                pending.append(value)
            if item.get("/Type") == "/Action" and not _is_plain_action(item):
                return True
        elif isinstance(item, ArrayObject):
            pending.extend(item)
        elif isinstance(item, NameObject) and item in ACTIVE_NAMES:
            return True
    return False


def _is_plain_action(value: PdfObject, *, web_links: bool = True) -> bool:
    """An action that only shows a page (a destination, or a GoTo) or, where a person clicks
    (``web_links``), opens an http(s) address is ordinary layout; a /URI with ``javascript:``,
    ``file:`` or any other scheme is not, and nothing opens a web page by itself on opening."""
    if isinstance(value, IndirectObject):
        return _is_plain_action(value.get_object() or ArrayObject(), web_links=web_links)
    if isinstance(value, ArrayObject):
        return True  # an explicit destination
    if not isinstance(value, DictionaryObject):
        return False
    kind = value.get("/S")
    if kind == "/GoTo":
        return True
    if kind == "/URI" and web_links:
        uri = value.get("/URI")
        if isinstance(uri, IndirectObject):
            uri = uri.get_object()
        if isinstance(uri, TextStringObject | ByteStringObject):
            return WEB_URI.fullmatch(bytes(uri.original_bytes)) is not None
    return False
