"""The original as a reader sees it: PDF pages as PNG images, DOCX and notebooks as structure.

PDF pages are rendered on the server with PDFium (pypdfium2), the renderer of Chromium: the
browser only ever receives a PNG, so no PDF parser or script runs in the educator's browser and
the page works under a strict Content-Security-Policy. DOCX and notebooks become plain data
(headings, paragraphs with bold and italic runs, tables, cells) that templates render with
autoescaping: nothing from the file is ever inserted as HTML.
"""

from __future__ import annotations

import io
import json
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from grading.errors import ApplicationError

MAX_PREVIEW_PAGES = 60  # pages shown beside the text; the download has them all
PAGE_WIDTH_PX = 900  # rendered width; enough to read at 1366 px, small enough to send
MAX_PAGE_PIXELS = 900 * 2400  # a long or odd page is scaled down to this many pixels
MAX_BLOCKS = 2000
MAX_NOTEBOOK_OUTPUT_CHARS = 2000
HEADING = re.compile(r"^Heading ([1-6])$")


# PDFium is not thread-safe, and neither is pypdfium2: two threads of one web process (a
# threaded server, or a page's images requested together) must never use it at once.
_PDFIUM = threading.Lock()


@contextmanager
def _pdf(content: bytes) -> Iterator:
    """The PDF open under the PDFium lock; it and everything opened from it close inside it."""
    import pypdfium2 as pdfium  # imported here: only preview pages need PDFium

    with _PDFIUM:
        try:
            document = pdfium.PdfDocument(content)
        except pdfium.PdfiumError:
            raise ApplicationError("The PDF cannot be opened for preview.") from None
        try:
            yield document
        finally:
            document.close()


def pdf_page_count(content: bytes) -> int:
    with _pdf(content) as document:
        return len(document)


def pdf_page_png(content: bytes, *, index: int) -> bytes:
    """Page `index` (from 0) as a PNG, PAGE_WIDTH_PX wide (less for an oversized page)."""
    with _pdf(content) as document:
        if not 0 <= index < min(len(document), MAX_PREVIEW_PAGES):
            raise ApplicationError("No such page.")
        page = document[index]
        try:
            width, height = page.get_size()
            scale = PAGE_WIDTH_PX / max(width, 1)
            if width * height * scale * scale > MAX_PAGE_PIXELS:
                scale = (MAX_PAGE_PIXELS / max(width * height, 1)) ** 0.5
            bitmap = page.render(scale=scale, rev_byteorder=True, force_bitmap_format=None)
            try:
                return _png(bitmap)
            finally:
                bitmap.close()
        finally:
            page.close()


def pdf_page_texts(content: bytes) -> list[str]:
    """Each previewed page's text, to name the page an evidence quote comes from."""
    with _pdf(content) as document:
        texts = []
        for index in range(min(len(document), MAX_PREVIEW_PAGES)):
            page = document[index]
            textpage = page.get_textpage()
            try:
                texts.append(textpage.get_text_bounded())
            finally:
                textpage.close()
                page.close()
        return texts


def _png(bitmap) -> bytes:
    """Encode PDFium's RGB(A) buffer as PNG with zlib alone (no imaging library needed)."""
    channels = bitmap.n_channels
    if channels not in (3, 4):
        raise ApplicationError("Unexpected page format.")
    row_bytes = bitmap.width * channels
    buffer = bytes(bitmap.buffer)
    rows = b"".join(
        b"\x00" + buffer[row * bitmap.stride : row * bitmap.stride + row_bytes]
        for row in range(bitmap.height)
    )
    color_type = 2 if channels == 3 else 6

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", bitmap.width, bitmap.height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 6))
        + chunk(b"IEND", b"")
    )


@dataclass
class Block:
    """One block of a document: a heading, a paragraph, a table, or a notebook cell."""

    kind: str  # "heading", "paragraph", "table", "markdown", "code", "output"
    level: int = 0
    runs: list[tuple[str, bool, bool]] = field(default_factory=list)  # text, bold, italic
    rows: list[list[str]] = field(default_factory=list)
    text: str = ""


def docx_blocks(content: bytes) -> list[Block]:
    """The body's headings, paragraphs (bold and italic kept) and tables, in order."""
    from docx import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = Document(io.BytesIO(content))
    except Exception:  # noqa: BLE001 — any parse failure: no preview, the text view remains
        raise ApplicationError("The Word document cannot be opened for preview.") from None
    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if len(blocks) >= MAX_BLOCKS:
            break
        if isinstance(item, Table):
            rows = [[cell.text for cell in row.cells] for row in item.rows]
            blocks.append(Block(kind="table", rows=rows))
        elif isinstance(item, Paragraph) and item.text.strip():
            heading = HEADING.match(item.style.name if item.style is not None else "")
            runs = [(run.text, bool(run.bold), bool(run.italic)) for run in item.runs if run.text]
            if heading:
                blocks.append(Block(kind="heading", level=int(heading.group(1)), text=item.text))
            else:
                blocks.append(Block(kind="paragraph", runs=runs or [(item.text, False, False)]))
    return blocks


def notebook_blocks(content: bytes) -> list[Block]:
    """Markdown and code cells with their text outputs; images and HTML outputs are named only."""
    try:
        cells = json.loads(content.decode("utf-8-sig")).get("cells", [])
    except (ValueError, AttributeError, RecursionError):
        raise ApplicationError("The notebook cannot be opened for preview.") from None
    blocks: list[Block] = []
    for cell in cells[:MAX_BLOCKS]:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        kind = "code" if cell.get("cell_type") == "code" else "markdown"
        blocks.append(Block(kind=kind, text=text))
        for output in cell.get("outputs", []) if kind == "code" else []:
            shown = _output_text(output)
            if shown:
                blocks.append(Block(kind="output", text=shown[:MAX_NOTEBOOK_OUTPUT_CHARS]))
    return blocks


def _output_text(output) -> str:
    if not isinstance(output, dict):
        return ""
    if "text" in output:
        text = output["text"]
        return "".join(text) if isinstance(text, list) else str(text)
    data = output.get("data") or {}
    if "text/plain" in data:
        plain = data["text/plain"]
        return "".join(plain) if isinstance(plain, list) else str(plain)
    kinds = ", ".join(sorted(data)) if isinstance(data, dict) else ""
    return f"[output not shown: {kinds}]" if kinds else ""
