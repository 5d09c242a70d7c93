"""Licence files made on the spot, with Pillow, pypdf or plain bytes: photos and scans, and the
bad uploads a licence form meets (other formats, bombs, PDFs with active content). Each maker
says what its file contains."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib

from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, TextStringObject

RED = (255, 0, 0)
BLUE = (0, 0, 255)


def noisy_image(size: tuple[int, int] = (640, 480), mode: str = "RGB") -> Image.Image:
    """A photo-like image (random pixels), so that cutting the file cuts into the pixel data."""
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    pixels = random.Random(7).randbytes(size[0] * size[1] * channels)
    return Image.frombytes(mode, size, pixels)


def halves(size: tuple[int, int] = (600, 400)) -> Image.Image:
    """Left half red, right half blue: shows which way up an image ended."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return image


def encoded(image: Image.Image, pillow_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, pillow_format, **options)
    return buffer.getvalue()


def pdf_of(image: Image.Image) -> bytes:
    """A one-page PDF showing ``image``, as a scanner's "save as PDF" makes."""
    return encoded(image, "PDF", resolution=150.0)


def written(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def blank_pdf(pages: int = 1) -> PdfWriter:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    return writer


def hand_made_pdf(*objects: bytes) -> bytes:
    """A PDF written byte by byte (object 1 is the catalogue), with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


PLAIN_PAGES = (
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` pixels: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("licence.html", "<script>alert(1)</script>")
    return buffer.getvalue()


def with_open_action(action: DictionaryObject) -> bytes:
    writer = blank_pdf()
    writer.root_object[NameObject("/OpenAction")] = action
    return written(writer)


def with_link_action(action: DictionaryObject) -> bytes:
    writer = blank_pdf()
    link = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (0, 0, 100, 100)]),
            NameObject("/A"): action,
        }
    )
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(link)])
    return written(writer)


def action(kind: str, **entries: object) -> DictionaryObject:
    result = DictionaryObject({NameObject("/S"): NameObject(kind)})
    for key, value in entries.items():
        result[NameObject("/" + key)] = value  # type: ignore[assignment]
    return result


def javascript_in_names() -> bytes:
    """Document-level JavaScript, which viewers run on opening: /Names /JavaScript."""
    writer = blank_pdf()
    script = writer._add_object(action("/JavaScript", JS=TextStringObject("app.alert('hello');")))
    writer.root_object[NameObject("/Names")] = DictionaryObject(
        {
            NameObject("/JavaScript"): DictionaryObject(
                {NameObject("/Names"): ArrayObject([TextStringObject("hello"), script])}
            )
        }
    )
    return written(writer)


def page_additional_action() -> bytes:
    writer = blank_pdf()
    writer.pages[0][NameObject("/AA")] = DictionaryObject(
        {NameObject("/O"): action("/URI", URI=TextStringObject("https://example.com/"))}
    )
    return written(writer)


def attachment() -> bytes:
    writer = blank_pdf()
    writer.add_attachment("payload.exe", b"MZ not really")
    return written(writer)


def xfa_form() -> bytes:
    writer = blank_pdf()
    writer.root_object[NameObject("/AcroForm")] = DictionaryObject(
        {
            NameObject("/Fields"): ArrayObject(),
            NameObject("/XFA"): TextStringObject("<xdp:xdp/>"),
        }
    )
    return written(writer)
