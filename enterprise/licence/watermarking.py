"""A "for real-name verification only" watermark across licence images shown or handed out.

A watermarked copy that leaks cannot be passed off as a clean licence elsewhere. The text is
repeated diagonally over the whole image, semi-transparent, so it cannot be cropped away."""

from __future__ import annotations

import glob
import math
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from ..app_settings import app_settings
from .images import encode, open_checked

WATERMARK_TEXT = "仅供实名认证使用 / For real-name verification only"
FALLBACK_TEXT = "For real-name verification only"

# (path or glob, preferred face name suffix) of fonts with CJK glyphs, most common first.
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/*.ttc",
    "/usr/share/fonts/wqy-microhei/*.ttc",
    "/usr/share/fonts/wqy-zenhei/*.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
LATIN_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)
INK = (96, 96, 96, 110)
ANGLE = 30


def watermark(
    image_png_or_jpeg: bytes, text: str = WATERMARK_TEXT, *, fallback_text: str = FALLBACK_TEXT
) -> bytes:
    """A PNG of the image, same size, with ``text`` repeated diagonally and semi-transparent.

    Chinese needs a CJK font; without one ``fallback_text`` (English) is drawn instead, with
    DejaVu Sans or Pillow's built-in font, so a missing font never stops a review. Bytes that
    are not a readable JPEG or PNG raise the same ValidationError as an upload would."""
    image = open_checked(
        image_png_or_jpeg,
        _pillow_format(image_png_or_jpeg),
        max_pixels=app_settings.LICENCE_MAX_PIXELS,
    ).convert("RGBA")
    size = max(12, round(math.sqrt(image.width * image.height) / 30))
    font, text = _font_for(text, fallback_text, size)
    layer = _text_layer(image.size, text, font, size)
    image.alpha_composite(layer)
    return encode(image.convert("RGB"), "PNG")


def _text_layer(
    image_size: tuple[int, int],
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    size: int,
) -> Image.Image:
    """A transparent layer the size of the image, with ``text`` in staggered diagonal lines.

    One turned copy of the text is drawn, then pasted at the points of a lattice turned by the
    same angle, so the lines never overlap and memory stays at one extra layer for a large scan."""
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = (round(edge) for edge in probe.textbbox((0, 0), text, font=font))
    tile = Image.new("RGBA", (right - left + size * 2, bottom - top + size * 2), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((size - left, size - top), text, font=font, fill=INK)
    tile = tile.rotate(ANGLE, resample=Image.Resampling.BICUBIC, expand=True)

    width, height = image_size
    layer = Image.new("RGBA", image_size, (0, 0, 0, 0))
    radians = math.radians(ANGLE)
    along = (math.cos(radians), -math.sin(radians))  # the reading direction, up and to the right
    across = (math.sin(radians), math.cos(radians))
    pitch = (right - left) + size * 4  # from one copy to the next along a line
    spacing = (bottom - top) + size * 4  # from one line to the next
    reach = math.hypot(width, height) / 2 + max(tile.size)
    for line in range(-math.ceil(reach / spacing), math.ceil(reach / spacing) + 1):
        stagger = (line % 2) * pitch / 2
        for step in range(-math.ceil(reach / pitch) - 1, math.ceil(reach / pitch) + 1):
            distance = step * pitch + stagger
            x = width / 2 + distance * along[0] + line * spacing * across[0] - tile.width / 2
            y = height / 2 + distance * along[1] + line * spacing * across[1] - tile.height / 2
            if -tile.width < x < width and -tile.height < y < height:
                layer.paste(tile, (round(x), round(y)), tile)
    return layer


def _font_for(
    text: str, fallback_text: str, size: int
) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, str]:
    """The font to draw with, and the text it can draw."""
    needs_cjk = any(ord(character) >= 0x2E80 for character in text)
    if needs_cjk:
        cjk = _cjk_font()
        if cjk is not None:
            return ImageFont.truetype(cjk[0], size, index=cjk[1]), text
        text = fallback_text
    for path in LATIN_FONTS:
        try:
            return ImageFont.truetype(path, size), text
        except OSError:
            continue
    try:
        return ImageFont.load_default(size), text
    except (OSError, ImportError):  # Pillow built without FreeType: the small bitmap font
        return ImageFont.load_default(), text


@lru_cache(maxsize=1)
def _cjk_font() -> tuple[str, int] | None:
    """Path and face index of the first installed CJK font, Simplified Chinese face preferred."""
    for pattern in CJK_FONTS:
        for path in sorted(glob.glob(pattern)):
            faces = _loadable_faces(path)
            if not faces:
                continue
            simplified = [index for index, name in faces if name.endswith(" SC")]
            return path, (simplified[0] if simplified else faces[0][0])
    return None


def _loadable_faces(path: str) -> list[tuple[int, str]]:
    faces = []
    for index in range(16):  # a .ttc holds a handful of faces
        try:
            font = ImageFont.truetype(path, 12, index=index)
        except OSError:
            break
        faces.append((index, font.getname()[0] or ""))
    return faces


def _pillow_format(data: bytes) -> str:
    return "JPEG" if data.startswith(b"\xff\xd8\xff") else "PNG"
