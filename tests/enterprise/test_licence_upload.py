"""Business-licence uploads: what is accepted, what is stored, and what is refused with which words.

Every file is made on the spot (tests/licence_files.py says what each contains)."""

from __future__ import annotations

import io
import struct

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageCms, PngImagePlugin
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, NameObject, NumberObject, TextStringObject

from enterprise.licence import SanitizedLicence, sanitize_licence, watermark, watermarking
from tests.licence_files import (
    BLUE,
    PLAIN_PAGES,
    RED,
    action,
    attachment,
    blank_pdf,
    encoded,
    halves,
    hand_made_pdf,
    javascript_in_names,
    noisy_image,
    page_additional_action,
    pdf_of,
    png_claiming,
    with_link_action,
    with_open_action,
    written,
    xfa_form,
    zip_archive,
)


def upload(data: bytes, name: str = "licence.bin", content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def jpeg_segments(data: bytes) -> list[int]:
    """The markers of a JPEG's header segments, up to the start of the scan."""
    assert data[:2] == b"\xff\xd8"
    markers, position = [], 2
    while data[position] == 0xFF and data[position + 1] != 0xDA:
        markers.append(data[position + 1])
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return markers


def png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    kinds, position = [], 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kinds.append(data[position + 4 : position + 8])
        position += 12 + length
    return kinds


def refusal_code(data: bytes, **kwargs: object) -> str:
    with pytest.raises(ValidationError) as caught:
        sanitize_licence(upload(data), **kwargs)  # type: ignore[arg-type]
    return caught.value.code or ""


def refusal_message(data: bytes, **kwargs: object) -> str:
    with pytest.raises(ValidationError) as caught:
        sanitize_licence(upload(data), **kwargs)  # type: ignore[arg-type]
    return caught.value.messages[0]


def colour(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def level(image: Image.Image, xy: tuple[int, int]) -> int:
    value = image.getpixel(xy)
    assert isinstance(value, int)
    return value


def decoded(data: bytes, pillow_format: str) -> Image.Image:
    image = Image.open(io.BytesIO(data), formats=[pillow_format])
    image.load()
    return image


# --- accepted files --------------------------------------------------------------------------


def test_a_jpeg_is_accepted_and_stored_as_a_new_jpeg():
    original = encoded(noisy_image((800, 600)), "JPEG", quality=95)

    licence = sanitize_licence(upload(original, "licence.jpg", "image/jpeg"))

    assert (licence.content_type, licence.extension) == ("image/jpeg", "jpg")
    assert (licence.width, licence.height) == (800, 600)
    assert decoded(licence.content, "JPEG").size == (800, 600)
    assert licence.content != original
    assert licence.preview_png is not None
    assert decoded(licence.preview_png, "PNG").size == (800, 600)


def test_a_png_is_accepted_and_stored_as_a_png_of_the_same_pixels():
    image = halves()

    licence = sanitize_licence(upload(encoded(image, "PNG"), "licence.png", "image/png"))

    assert (licence.content_type, licence.extension) == ("image/png", "png")
    stored = decoded(licence.content, "PNG")
    assert stored.convert("RGB").tobytes() == image.tobytes()


def test_a_large_photo_gets_a_preview_no_longer_than_2000_pixels():
    licence = sanitize_licence(upload(encoded(halves((4000, 3000)), "JPEG")))

    assert (licence.width, licence.height) == (4000, 3000)
    assert licence.preview_png is not None
    assert decoded(licence.preview_png, "PNG").size == (2000, 1500)


def test_a_pdf_is_kept_as_uploaded_and_gets_a_preview_of_page_one():
    original = pdf_of(halves((1200, 800)))

    licence = sanitize_licence(upload(original, "licence.pdf", "application/pdf"))

    assert (licence.content_type, licence.extension) == ("application/pdf", "pdf")
    assert licence.content == original
    assert licence.preview_png is not None
    preview = decoded(licence.preview_png, "PNG").convert("RGB")
    assert max(preview.size) == 2000
    assert (licence.width, licence.height) == preview.size
    left = colour(preview, (preview.width // 4, preview.height // 2))
    right = colour(preview, (preview.width * 3 // 4, preview.height // 2))
    assert left[0] > 240 and left[2] < 15  # red
    assert right[2] > 240 and right[0] < 15  # blue


def test_a_pdf_whose_preview_cannot_be_rendered_is_still_accepted(settings):
    """The renderer's memory cap is real: below what pdfium needs, rendering fails, the PDF stays."""
    settings.ENTERPRISE_LICENCE_RENDER_MEMORY = 32 * 1024 * 1024
    original = pdf_of(halves())

    licence = sanitize_licence(upload(original))

    assert licence.content == original
    assert (licence.preview_png, licence.width, licence.height) == (None, None, None)


def test_a_pdf_whose_preview_times_out_is_still_accepted(settings):
    settings.ENTERPRISE_LICENCE_RENDER_TIMEOUT = 0.001
    original = pdf_of(halves())

    licence = sanitize_licence(upload(original))

    assert licence.content == original
    assert licence.preview_png is None


def test_a_pdf_that_opens_on_a_page_is_ordinary_layout_and_accepted():
    writer = blank_pdf(2)
    writer.root_object[NameObject("/OpenAction")] = ArrayObject(
        [writer.pages[1].indirect_reference, NameObject("/Fit")]
    )
    original = written(writer)

    assert sanitize_licence(upload(original)).content == original


def test_a_plain_file_object_works_as_well_as_a_django_upload():
    licence = sanitize_licence(io.BytesIO(encoded(halves(), "PNG")))

    assert licence.content_type == "image/png"


def test_the_licence_bytes_stay_out_of_its_repr():
    licence = sanitize_licence(upload(encoded(halves(), "PNG")))

    assert isinstance(licence, SanitizedLicence)
    assert "content=" not in repr(licence)
    assert "preview_png=" not in repr(licence)


# --- metadata is not stored ------------------------------------------------------------------


def test_a_jpeg_loses_its_exif_gps_icc_xmp_and_comment():
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Camera"
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = encoded(
        noisy_image(),
        "JPEG",
        exif=exif,
        icc_profile=icc,
        comment=b"shot at home",
        xmp=b"<x:xmpmeta>GPS here</x:xmpmeta>",
    )
    assert decoded(original, "JPEG").getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture has GPS

    licence = sanitize_licence(upload(original))

    stored = decoded(licence.content, "JPEG")
    assert len(stored.getexif()) == 0
    assert not {"exif", "icc_profile", "comment", "xmp"} & set(stored.info)
    assert set(jpeg_segments(licence.content)) <= {0xE0, 0xDB, 0xC0, 0xC4}  # JFIF, tables, frame
    assert b"Exif" not in licence.content
    assert b"shot at home" not in licence.content
    assert b"GPS here" not in licence.content


def test_a_jpeg_is_turned_upright_by_its_exif_orientation():
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # "rotate 90° clockwise to view"
    original = encoded(halves((600, 400)), "JPEG", exif=exif, quality=95)

    licence = sanitize_licence(upload(original))

    stored = decoded(licence.content, "JPEG")
    assert stored.size == (400, 600)
    assert (licence.width, licence.height) == (400, 600)
    top, bottom = colour(stored, (200, 100)), colour(stored, (200, 500))
    assert top[0] > 200 and top[2] < 60  # red: the left half is now on top
    assert bottom[2] > 200 and bottom[0] < 60
    assert len(stored.getexif()) == 0


def test_a_png_loses_its_text_chunks_exif_and_icc_profile():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Someone")
    info.add_text("Comment", "compressed note " * 20, zip=True)
    info.add_itxt("Description", "国际文本", lang="zh", tkey="描述")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Camera"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = encoded(halves(), "PNG", pnginfo=info, exif=exif, icc_profile=icc)
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP"} <= set(png_chunks(original))

    licence = sanitize_licence(upload(original))

    assert set(png_chunks(licence.content)) <= {b"IHDR", b"IDAT", b"IEND"}
    assert b"Someone" not in licence.content
    assert decoded(licence.content, "PNG").info == {}


def test_a_transparent_png_is_flattened_onto_white():
    image = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    image.paste((0, 0, 255, 255), (0, 0, 200, 300))

    licence = sanitize_licence(upload(encoded(image, "PNG")))

    stored = decoded(licence.content, "PNG")
    assert stored.mode == "RGB"
    assert stored.getpixel((100, 150)) == BLUE
    assert stored.getpixel((300, 150)) == (255, 255, 255)


def test_a_greyscale_png_with_16_bits_per_pixel_keeps_its_shades():
    image = Image.linear_gradient("L").resize((256, 256)).convert("I").point(lambda v: v * 257)
    image = image.convert("I;16")

    licence = sanitize_licence(upload(encoded(image, "PNG")))

    stored = decoded(licence.content, "PNG")
    assert stored.mode == "L"
    assert level(stored, (0, 0)) < 10
    assert level(stored, (0, 255)) > 245


# --- the content decides the type ------------------------------------------------------------


def test_a_png_named_pdf_and_sent_as_pdf_is_taken_for_the_png_it_is():
    licence = sanitize_licence(upload(encoded(halves(), "PNG"), "licence.pdf", "application/pdf"))

    assert (licence.content_type, licence.extension) == ("image/png", "png")


def test_a_web_page_named_licence_jpg_is_refused():
    page = b"<html><body><script>alert(document.cookie)</script></body></html>"

    with pytest.raises(ValidationError) as caught:
        sanitize_licence(upload(page, "licence.jpg", "image/jpeg"))

    assert caught.value.code == "unsupported_type"
    assert caught.value.messages == ["Please upload the licence as a JPEG, PNG or PDF file."]


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: b"<!DOCTYPE html><html><body>licence</body></html>", id="html"),
        pytest.param(
            lambda: (
                b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
            ),
            id="svg",
        ),
        pytest.param(lambda: b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', id="bare-svg"),
        pytest.param(lambda: encoded(halves(), "GIF"), id="gif"),
        pytest.param(lambda: encoded(halves(), "WEBP"), id="webp"),
        pytest.param(lambda: encoded(halves(), "BMP"), id="bmp"),
        pytest.param(lambda: encoded(halves(), "TIFF"), id="tiff"),
        pytest.param(zip_archive, id="zip"),
        pytest.param(lambda: b"  %PDF-1.7 with leading spaces\n%%EOF", id="pdf-not-at-start"),
        pytest.param(lambda: b"just some text", id="text"),
    ],
)
def test_other_kinds_of_file_are_refused(make):
    assert refusal_code(make()) == "unsupported_type"


def test_an_empty_file_is_refused():
    assert refusal_code(b"") == "empty"
    assert "empty" in refusal_message(b"")


@pytest.mark.parametrize(
    ("make", "keep"),
    [
        pytest.param(lambda: encoded(noisy_image(), "JPEG"), 0.5, id="jpeg"),
        pytest.param(lambda: encoded(noisy_image(), "PNG"), 0.5, id="png"),
        pytest.param(lambda: encoded(noisy_image(), "PNG"), 0.999, id="png-without-end"),
        pytest.param(lambda: pdf_of(noisy_image()), 0.5, id="pdf"),
    ],
)
def test_a_truncated_file_is_refused(make, keep):
    data = make()

    assert refusal_code(data[: int(len(data) * keep)]) == "corrupt"


def test_a_pdf_cut_short_with_an_end_marker_pasted_on_is_refused():
    data = pdf_of(noisy_image())

    assert refusal_code(data[: len(data) // 2] + b"\n%%EOF\n") == "corrupt"


def test_a_jpeg_with_a_broken_body_is_refused():
    header = encoded(halves(), "JPEG")[:200]

    assert refusal_code(header + b"\x00" * 500 + b"\xff\xd9") == "corrupt"


# --- size and pixel limits -------------------------------------------------------------------


def test_a_file_over_the_limit_is_refused_with_the_limit_in_the_message():
    data = encoded(noisy_image(), "PNG")

    assert refusal_code(data, max_bytes=len(data) - 1) == "too_large"
    assert refusal_message(data, max_bytes=2048) == (
        "This file is larger than 2 KB. Please upload a smaller scan or photo."
    )
    assert sanitize_licence(upload(data), max_bytes=len(data)).content_type == "image/png"


def test_the_default_limit_is_10_mb_and_said_so():
    oversized = upload(b"\xff\xd8\xff" + b"\0" * (10 * 1024 * 1024))

    with pytest.raises(ValidationError) as caught:
        sanitize_licence(oversized)

    assert caught.value.code == "too_large"
    assert "larger than 10 MB" in caught.value.messages[0]


def test_the_limit_comes_from_settings(settings):
    settings.ENTERPRISE_LICENCE_MAX_BYTES = 5 * 1024 * 1024 // 2

    assert "larger than 2.5 MB" in refusal_message(b"\x89PNG" + b"\0" * (3 * 1024 * 1024))


class Unreadable(io.BytesIO):
    """An upload whose declared size is enough to refuse it: reading it would fail the test."""

    size = 50 * 1024 * 1024

    def read(self, size: int | None = -1) -> bytes:
        raise AssertionError("an oversized upload was read")


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_an_upload_declared_too_large_is_refused_without_reading_it():
    with pytest.raises(ValidationError) as caught:
        sanitize_licence(Unreadable())

    assert caught.value.code == "too_large"


def test_a_stream_of_unknown_size_is_read_only_one_byte_past_the_limit():
    stream = CountingStream(b"\xff\xd8\xff" + b"\0" * 100_000)

    with pytest.raises(ValidationError) as caught:
        sanitize_licence(stream, max_bytes=1000)

    assert caught.value.code == "too_large"
    assert stream.bytes_read == 1001


@pytest.mark.parametrize(
    "size", [(50_000, 50_000), (8_000, 6_000)], ids=["2.5-gigapixels", "48-mp"]
)
def test_an_image_claiming_too_many_pixels_is_refused_before_decoding(size):
    bomb = png_claiming(*size)
    assert len(bomb) < 200

    assert refusal_code(bomb) == "too_many_pixels"
    assert "more than 40 megapixels" in refusal_message(bomb)


def test_the_pixel_limit_comes_from_settings(settings):
    settings.ENTERPRISE_LICENCE_MAX_PIXELS = 500 * 500

    assert refusal_code(encoded(halves((600, 500)), "JPEG")) == "too_many_pixels"
    assert sanitize_licence(upload(encoded(halves((500, 500)), "JPEG"))).width == 500


def test_an_image_too_small_to_read_is_refused():
    small = encoded(halves((640, 150)), "PNG")

    assert refusal_code(small) == "too_small"
    assert refusal_message(small) == (
        "This image is too small to read (640 × 150 pixels). Please upload a clearer photo or "
        "scan, at least 200 pixels on each side."
    )
    assert sanitize_licence(upload(encoded(halves((640, 200)), "PNG"))).height == 200


# --- PDFs that are more than documents -------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(javascript_in_names, id="document-javascript"),
        pytest.param(
            lambda: with_open_action(action("/JavaScript", JS=TextStringObject("app.alert(1)"))),
            id="open-action-javascript",
        ),
        pytest.param(
            lambda: with_open_action(action("/Launch", F=TextStringObject("calc.exe"))),
            id="open-action-launch",
        ),
        pytest.param(
            lambda: with_open_action(action("/URI", URI=TextStringObject("https://example.com/"))),
            id="open-action-uri",
        ),
        pytest.param(
            lambda: with_link_action(action("/Launch", F=TextStringObject("cmd.exe"))),
            id="link-launch",
        ),
        pytest.param(
            lambda: with_link_action(action("/SubmitForm", F=TextStringObject("https://x.test"))),
            id="link-submit-form",
        ),
        pytest.param(
            lambda: with_link_action(action("/URI", URI=TextStringObject("javascript:alert(1)"))),
            id="link-javascript-uri",
        ),
        pytest.param(
            lambda: with_link_action(action("/URI", URI=TextStringObject("file:///etc/passwd"))),
            id="link-file-uri",
        ),
        pytest.param(
            lambda: with_link_action(action("/Named", N=NameObject("/Print"))),
            id="link-named-action",
        ),
        pytest.param(
            lambda: with_link_action(action("/Hide", T=TextStringObject("field"))),
            id="link-hide-action",
        ),
        pytest.param(
            lambda: with_link_action(
                action(
                    "/GoTo",
                    D=ArrayObject([NumberObject(0), NameObject("/Fit")]),
                    Next=action("/Launch", F=TextStringObject("cmd.exe")),
                )
            ),
            id="goto-then-launch",
        ),
        pytest.param(
            lambda: hand_made_pdf(
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] >>",
                b"<< /Type /Annot /Subtype /3D /Rect [0 0 9 9] /3DD 5 0 R >>",
                b"<< /Type /3DStream /Subtype /U3D /Length 0 >>\nstream\n\nendstream",
            ),
            id="3d-annotation",
        ),
        pytest.param(
            lambda: hand_made_pdf(
                b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [] >> >>",
                *PLAIN_PAGES,
            ),
            id="acroform",
        ),
        pytest.param(page_additional_action, id="page-additional-action"),
        pytest.param(attachment, id="embedded-file"),
        pytest.param(xfa_form, id="xfa"),
        pytest.param(
            lambda: hand_made_pdf(
                b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
                *PLAIN_PAGES,
                b"<< /S /J#61vaScript /J#53 (app.alert(1)) >>",
            ),
            id="javascript-with-escaped-names",
        ),
    ],
)
def test_a_pdf_with_active_content_is_refused(make):
    data = make()

    assert refusal_code(data) == "active_content"
    assert "active content" in refusal_message(data)


def test_a_link_to_a_web_page_or_another_page_is_ordinary_layout_and_accepted():
    for link in (
        action("/URI", URI=TextStringObject("https://www.gsxt.gov.cn/")),
        action("/GoTo", D=ArrayObject([NumberObject(0), NameObject("/Fit")])),
    ):
        data = with_link_action(link)
        assert sanitize_licence(upload(data)).content == data


def test_the_hand_made_pdf_without_actions_is_accepted():
    """Control for the escaped-names case: the builder makes PDFs that pass on their own."""
    original = hand_made_pdf(b"<< /Type /Catalog /Pages 2 0 R >>", *PLAIN_PAGES)

    assert sanitize_licence(upload(original)).content == original


def test_a_password_protected_pdf_is_refused():
    writer = blank_pdf()
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    data = written(writer)

    assert refusal_code(data) == "encrypted_pdf"
    assert "password" in refusal_message(data)


def test_a_pdf_with_more_pages_than_allowed_is_refused():
    data = written(blank_pdf(6))

    assert refusal_code(data) == "too_many_pages"
    assert refusal_message(data) == (
        "This PDF has more than 5 pages. Please upload only the pages that show the business licence."
    )
    assert sanitize_licence(upload(written(blank_pdf(5)))).content_type == "application/pdf"


def test_a_pdf_without_pages_is_refused():
    writer = PdfWriter()

    assert refusal_code(written(writer)) == "corrupt"


# --- polyglots -------------------------------------------------------------------------------


def test_a_jpeg_carrying_a_script_after_its_end_is_stored_without_it():
    payload = b"<html><script>alert(document.cookie)</script></html>"
    original = encoded(noisy_image(), "JPEG") + payload

    licence = sanitize_licence(upload(original))

    assert licence.content_type == "image/jpeg"
    assert b"<script" not in licence.content
    assert licence.preview_png is not None
    assert b"<script" not in licence.preview_png


def test_a_png_carrying_a_zip_after_its_end_is_stored_without_it():
    original = encoded(halves(), "PNG") + zip_archive()

    licence = sanitize_licence(upload(original))

    assert b"PK\x03\x04" not in licence.content
    assert b"<script" not in licence.content
    assert png_chunks(licence.content)[-1] == b"IEND"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            b"%PDF-1.7\n<html><body><script>alert(1)</script></body></html>\n%%EOF\n", id="html"
        ),
        pytest.param(b"%PDF-1.4\n<!DOCTYPE html>\n<title>licence</title>\n%%EOF\n", id="doctype"),
    ],
)
def test_a_web_page_that_starts_like_a_pdf_is_refused(data):
    assert refusal_code(data) == "active_content"


def test_a_real_pdf_with_a_web_page_inside_is_refused():
    document = written(blank_pdf())
    polyglot = document.replace(b"%%EOF", b"<html><script>alert(1)</script></html>\n%%EOF")

    assert refusal_code(polyglot) == "active_content"


def test_a_pdf_header_over_garbage_is_refused():
    assert refusal_code(b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n") == "corrupt"


# --- watermark -------------------------------------------------------------------------------


@pytest.mark.parametrize("pillow_format", ["PNG", "JPEG"])
def test_a_watermark_is_drawn_over_the_whole_image(pillow_format):
    original = Image.new("RGB", (900, 600), (255, 255, 255))

    marked = decoded(
        watermark(
            encoded(original, pillow_format), "仅供实名认证使用 / For real-name verification only"
        ),
        "PNG",
    )

    assert marked.size == (900, 600)
    assert marked.convert("RGB").tobytes() != original.tobytes()
    grey = marked.convert("L")
    for left, top in ((0, 0), (450, 0), (0, 300), (450, 300)):
        quarter = grey.crop((left, top, left + 450, top + 300))
        assert min(quarter.tobytes()) < 235, f"no watermark in the quarter at {left}, {top}"


def test_the_watermark_is_semi_transparent():
    original = halves((900, 600))

    marked = decoded(watermark(encoded(original, "PNG")), "PNG").convert("RGB")

    left_half = marked.crop((0, 0, 450, 600))
    reds = {colour(left_half, (x, y)) for x in range(0, 450, 2) for y in range(0, 600, 2)} - {RED}
    assert reds, "the watermark left the left half untouched"
    assert all(pixel[0] > pixel[2] for pixel in reds)  # still reddish under the ink


def test_without_any_font_the_watermark_falls_back_to_english_and_still_works(monkeypatch):
    monkeypatch.setattr(watermarking, "CJK_FONTS", ())
    monkeypatch.setattr(watermarking, "LATIN_FONTS", ("/nonexistent/font.ttf",))
    watermarking._cjk_font.cache_clear()
    try:
        original = Image.new("RGB", (600, 400), (255, 255, 255))
        _font, text = watermarking._font_for(
            watermarking.WATERMARK_TEXT, watermarking.FALLBACK_TEXT, 20
        )

        marked = decoded(watermark(encoded(original, "PNG")), "PNG")
    finally:
        watermarking._cjk_font.cache_clear()

    assert text == "For real-name verification only"
    assert marked.size == (600, 400)
    assert marked.convert("RGB").tobytes() != original.tobytes()


def test_a_watermark_refuses_what_is_not_an_image():
    with pytest.raises(ValidationError):
        watermark(b"<html></html>", "x")
