"""JPEG and PNG licences: decoded under a pixel limit, then re-encoded from the pixels alone.

Re-encoding is the defence: whatever rode along in the upload (EXIF with GPS, ICC profiles, text
chunks, a script or ZIP after the image's end) is not in what we store."""

from __future__ import annotations

import contextlib
import io
import warnings

from PIL import Image, ImageOps

from ..app_settings import app_settings
from .base import JPEG, PNG, SanitizedLicence, refusal

PILLOW_FORMAT = {JPEG: "JPEG", PNG: "PNG"}
EXTENSION = {JPEG: "jpg", PNG: "png"}
ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
SIXTEEN_BIT_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}


def open_checked(data: bytes, pillow_format: str, *, max_pixels: int) -> Image.Image:
    """Open, verify and fully decode ``data`` as ``pillow_format``, refusing bombs and truncation.

    The pixel count is checked from the header before any pixel is decoded; Pillow's own
    decompression-bomb warning counts as a refusal too."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[pillow_format]) as probe:
                _check_pixels(probe, max_pixels)
                probe.verify()
            image = Image.open(io.BytesIO(data), formats=[pillow_format])
            _check_pixels(image, max_pixels)
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise refusal("too_many_pixels", limit=_megapixels(max_pixels)) from None
        except Exception:  # Pillow reports bad data with many exception types.
            raise refusal("corrupt") from None
    return image


def sanitize_image(data: bytes, content_type: str) -> SanitizedLicence:
    """Decode a JPEG or PNG upload and store it re-encoded, upright and without metadata."""
    image = open_checked(
        data, PILLOW_FORMAT[content_type], max_pixels=app_settings.LICENCE_MAX_PIXELS
    )
    # Unreadable EXIF: keep the pixels as stored rather than refuse a good photo.
    with contextlib.suppress(Exception):
        ImageOps.exif_transpose(image, in_place=True)
    minimum = app_settings.LICENCE_MIN_SIDE
    if min(image.size) < minimum:
        raise refusal("too_small", width=image.width, height=image.height, minimum=minimum)
    image = flatten(image)
    content = encode(image, PILLOW_FORMAT[content_type])
    return SanitizedLicence(
        content=content,
        content_type=content_type,
        extension=EXTENSION[content_type],
        preview_png=preview(image, app_settings.LICENCE_PREVIEW_MAX_SIDE),
        width=image.width,
        height=image.height,
    )


def flatten(image: Image.Image) -> Image.Image:
    """Greyscale or RGB pixels only: transparency lands on white, as it would on paper."""
    if image.mode in SIXTEEN_BIT_MODES:
        image = image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
        image.info.pop("transparency", None)  # a 16-bit key colour means nothing in 8 bits
    has_alpha = image.mode in ALPHA_MODES or "transparency" in image.info
    if has_alpha:
        grey = image.mode in {"1", "L", "LA", "La"}
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        paper.alpha_composite(rgba)
        image = paper.convert("L" if grey else "RGB")
    elif image.mode == "1":
        image = image.convert("L")
    elif image.mode not in {"L", "RGB"}:
        image = image.convert("RGB")
    return image


def encode(image: Image.Image, pillow_format: str) -> bytes:
    """The pixels in ``pillow_format`` and nothing else: no EXIF, ICC, XMP, comments or text."""
    image.info = {}
    buffer = io.BytesIO()
    if pillow_format == "JPEG":
        image.save(buffer, "JPEG", quality=90, optimize=True, exif=b"", icc_profile=None)
    else:
        image.save(buffer, "PNG", optimize=False, compress_level=6, icc_profile=None)
    return buffer.getvalue()


def preview(image: Image.Image, max_side: int) -> bytes:
    """A PNG for staff review, at most ``max_side`` pixels on its longer side."""
    small = image.copy()
    small.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return encode(small, "PNG")


def _check_pixels(image: Image.Image, max_pixels: int) -> None:
    if image.width * image.height > max_pixels:
        raise Image.DecompressionBombError("too many pixels")


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:g}"
