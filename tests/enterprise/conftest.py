from __future__ import annotations

import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

# The sandbox's built-in demo company registry (sandbox/README.md).
DEMO_COMPANY: dict[str, Any] = {
    "company_name": "沙箱演示科技有限公司",
    "credit_code": "91110108MA0000901G",
    "legal_representative": "测试甲",
}


def licence_png(width: int = 900, height: int = 640) -> bytes:
    """A made-up picture standing in for a business licence scan."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, width - 20, height - 20), outline="firebrick", width=8)
    draw.text((60, 60), "BUSINESS LICENCE (SAMPLE)", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def licence_upload(content: bytes | None = None, name: str = "licence.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content or licence_png(), content_type="image/png")
