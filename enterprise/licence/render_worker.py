"""Render page one of a PDF (stdin) to a PNG (stdout), inside the limits given on the command line.

Runs as its own process (``python -I render_worker.py MAX_SIDE MEMORY_BYTES CPU_SECONDS``) so that
a PDF that crashes, hangs or balloons pdfium takes down only this process. It imports nothing from
the project and sets its limits before it reads a byte of the PDF."""

from __future__ import annotations

import resource
import sys


def limit_resources(memory_bytes: int, cpu_seconds: int) -> None:
    """Cap memory and CPU, and forbid core dumps, new files and child processes."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def render(pdf: bytes, max_side: int) -> bytes:
    """Page one as a PNG whose longer side is ``max_side`` pixels."""
    import io

    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        width, height = page.get_size()
        scale = max_side / max(width, height, 1.0)
        bitmap = page.render(scale=scale, may_draw_forms=False)
        image = bitmap.to_pil()
        image.thumbnail((max_side, max_side))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "PNG")
        return buffer.getvalue()
    finally:
        document.close()


def main(argv: list[str]) -> int:
    max_side, memory_bytes, cpu_seconds = (int(value) for value in argv[1:4])
    limit_resources(memory_bytes, cpu_seconds)
    pdf = sys.stdin.buffer.read()
    sys.stdout.buffer.write(render(pdf, max_side))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
