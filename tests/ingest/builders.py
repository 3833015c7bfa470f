"""Small files made in the test, never stored as binary fixtures: PDFs, DOCX, notebooks, ZIPs."""

from __future__ import annotations

import io
import json
import stat
import zipfile

from docx import Document
from docx.shared import Pt, RGBColor

WHITE = RGBColor(0xFF, 0xFF, 0xFF)


def make_pdf(pages: list[str]) -> bytes:
    """A valid PDF by hand: one Helvetica text line a page; "" is a page with no text (a scan)."""
    objects: list[bytes] = []
    page_ids = [4 + 2 * index for index in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids).encode()
    objects.append(b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(pages))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for page_id, text in zip(page_ids, pages, strict=True):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode("latin-1") if text else b""
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (page_id + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def make_docx(visible: str, hidden: str = "", style: str = "vanish") -> bytes:
    """A DOCX with a visible paragraph and, optionally, a run a reader cannot see.

    style: "vanish" (Word's hidden text), "white" (white on white) or "tiny" (1 pt).
    """
    document = Document()
    paragraph = document.add_paragraph(visible)
    if hidden:
        run = paragraph.add_run(" " + hidden)
        if style == "vanish":
            run.font.hidden = True
        elif style == "white":
            run.font.color.rgb = WHITE
        elif style == "tiny":
            run.font.size = Pt(1)
        else:
            raise ValueError(style)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_notebook(cells: list[tuple[str, str]], nbformat: int = 4) -> bytes:
    notebook = {
        "nbformat": nbformat,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": kind,
                "metadata": {},
                "source": source.splitlines(keepends=True),
                **(
                    {"outputs": [{"output_type": "stream", "text": ["OUTPUT-NOT-WANTED\n"]}]}
                    if kind == "code"
                    else {}
                ),
            }
            for kind, source in cells
        ],
    }
    return json.dumps(notebook).encode()


def make_zip(files: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> bytes:
    """A ZIP with the given members (names kept exactly, "../x" included) and symlinks."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(zipfile.ZipInfo(name), content, compress_type=zipfile.ZIP_DEFLATED)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3  # Unix: the mode in external_attr counts
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return out.getvalue()
