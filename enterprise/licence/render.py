"""Page-one previews of PDF licences, rendered by pdfium in a separate, resource-limited process.

pdfium is a large C library fed with files from strangers: it runs in its own short-lived process
(``render_worker.py``) with a memory cap, a CPU cap and a wall-clock timeout. Any failure only
means no preview; the PDF itself was already judged by ``pdf.py``."""

from __future__ import annotations

import io
import logging
import math
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from ..app_settings import app_settings

logger = logging.getLogger(__name__)

WORKER = Path(__file__).with_name("render_worker.py")


@dataclass(frozen=True)
class Preview:
    png: bytes = field(repr=False)
    width: int
    height: int


def render_first_page(pdf: bytes) -> Preview | None:
    """A PNG of page one, at most ``LICENCE_PREVIEW_MAX_SIDE`` px, or None if it cannot be made safely.

    The limits are set by the worker itself before it reads the PDF, rather than in a
    ``preexec_fn``: Python documents ``preexec_fn`` as unsafe in threaded processes (gunicorn
    threads, Celery), and the result is the same since the worker parses nothing before that."""
    max_side = app_settings.LICENCE_PREVIEW_MAX_SIDE
    timeout = app_settings.LICENCE_RENDER_TIMEOUT
    command = [
        sys.executable,
        "-I",  # isolated: ignore PYTHON* variables, the user's site and the working directory
        str(WORKER),
        str(max_side),
        str(app_settings.LICENCE_RENDER_MEMORY),
        str(max(1, math.ceil(timeout))),
    ]
    try:
        with tempfile.TemporaryDirectory(prefix="licence-render-") as workdir:
            finished = subprocess.run(  # noqa: S603 - fixed command; the PDF goes through stdin.
                command,
                input=pdf,
                capture_output=True,
                timeout=timeout,
                cwd=workdir,
                env={"PATH": os.defpath, "LC_ALL": "C"},
                check=False,
            )
    except subprocess.TimeoutExpired:
        logger.warning("Licence PDF preview timed out after %s s", timeout)
        return None
    except OSError as error:
        logger.warning("Licence PDF preview could not start: %s", type(error).__name__)
        return None
    if finished.returncode != 0:
        # stderr is not logged: it may quote text from the document.
        logger.warning("Licence PDF preview failed with exit status %s", finished.returncode)
        return None
    return _checked_preview(finished.stdout, max_side)


def _checked_preview(png: bytes, max_side: int) -> Preview | None:
    """Trust the worker's output only once it decodes as a PNG of the size we asked for."""
    try:
        with Image.open(io.BytesIO(png), formats=["PNG"]) as image:
            if max(image.size) > max_side:
                raise ValueError("preview larger than requested")
            image.load()
            return Preview(png=png, width=image.width, height=image.height)
    except Exception:
        logger.warning("Licence PDF preview produced an unreadable image")
        return None
