"""PDF: the text layer, read with pypdf. A scan has no text layer; that is flagged, not an error."""

from __future__ import annotations

import io

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError

from grading.errors import ApplicationError
from grading.ingest.text import normalise_newlines

MAX_PDF_PAGES = 500


def extract_pdf_text(name: str, content: bytes) -> str:
    """The text of every page, pages separated by a blank line; "" for a PDF with no text layer.

    A malformed or password-protected PDF is an ApplicationError. pypdf raises many exception
    types on damaged files (its own, ValueError, KeyError, struct errors …), so any failure while
    parsing counts as "malformed": the file is refused, never half-read.
    """
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileNotDecryptedError("password required")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise ApplicationError(
                f"{name}: the PDF has {len(reader.pages):,} pages; the limit is {MAX_PDF_PAGES}."
            )
        pages = [page.extract_text() or "" for page in reader.pages]
    except ApplicationError:
        raise
    except FileNotDecryptedError:
        raise ApplicationError(
            f"{name}: the PDF is password-protected; upload it without a password."
        ) from None
    except Exception:  # noqa: BLE001 — see the docstring: any parse failure means malformed
        raise ApplicationError(
            f"{name}: the PDF is damaged and cannot be read; export it again and re-upload."
        ) from None
    text = "\n\n".join(normalise_newlines(page).strip("\n") for page in pages)
    return text if text.strip() else ""
