"""What a file is, judged by its bytes; the name only says what it claims to be."""

from __future__ import annotations

import io
import json
import zipfile
from enum import StrEnum
from pathlib import PurePosixPath

from grading.errors import ApplicationError


class Kind(StrEnum):
    TEXT = "text"
    PDF = "pdf"
    DOCX = "docx"
    NOTEBOOK = "notebook"
    ZIP = "zip"


TEXT_EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".rst"})
SOURCE_EXTENSIONS = frozenset(
    {
        ".py", ".java", ".c", ".h", ".cpp", ".cc", ".hpp", ".cs", ".js", ".ts", ".jsx",
        ".tsx", ".go", ".rs", ".rb", ".php", ".kt", ".swift", ".scala", ".sql", ".sh",
        ".r", ".m", ".hs", ".ml", ".lua", ".pl", ".html", ".css", ".json", ".yaml", ".yml",
    }
)  # fmt: skip
KIND_BY_EXTENSION: dict[str, Kind] = {
    **dict.fromkeys(TEXT_EXTENSIONS | SOURCE_EXTENSIONS, Kind.TEXT),
    ".pdf": Kind.PDF,
    ".docx": Kind.DOCX,
    ".ipynb": Kind.NOTEBOOK,
    ".zip": Kind.ZIP,
}
ACCEPTED_EXTENSIONS = frozenset(KIND_BY_EXTENSION)

# Readers accept a PDF header anywhere in the first KiB (ISO 32000-1, note in 7.5.2).
PDF_HEADER = b"%PDF-"
PDF_HEADER_WINDOW = 1024
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or an empty archive
DAMAGED_ZIP = "a damaged ZIP archive"
DOCX_REQUIRED_MEMBERS = ("[Content_Types].xml", "word/document.xml")
# Formats students upload by mistake, named so the message says what the file really is.
BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file (.doc/.xls); save it as .docx"),
    (b"\x7fELF", "a program (ELF)"),
    (b"MZ", "a Windows program"),
    (b"{\\rtf", "an RTF document; save it as .docx or .pdf"),
)


def extension_of(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def describe(content: bytes) -> str:
    """What the bytes look like, in words, for a mismatch message."""
    if content[:PDF_HEADER_WINDOW].find(PDF_HEADER) >= 0:
        return "a PDF"
    if content.startswith(ZIP_SIGNATURES):
        names = _zip_names(content)
        if names is None:
            return DAMAGED_ZIP
        if all(member in names for member in DOCX_REQUIRED_MEMBERS):
            return "a Word document (.docx)"
        return "a ZIP archive"
    for signature, words in BINARY_SIGNATURES:
        if content.startswith(signature):
            return words
    if b"\x00" in content:
        return "binary data"
    return "text"


def expected_kind(name: str) -> Kind:
    """The kind a name claims, or ApplicationError when that kind is not accepted."""
    extension = extension_of(name)
    kind = KIND_BY_EXTENSION.get(extension)
    if kind is None:
        accepted = ", ".join(sorted(ACCEPTED_EXTENSIONS))
        raise ApplicationError(
            f"{name}: files of type '{extension or 'none'}' are not accepted ({accepted})."
        )
    return kind


def detect_kind(name: str, content: bytes) -> Kind:
    """The file's kind, checked by content against its extension.

    A mismatch (a PNG renamed to .txt, a ZIP renamed to .pdf) is an ApplicationError naming what
    the file really is; text checks (NUL bytes, encoding) come later, in the text reader.
    """
    kind = expected_kind(name)
    found = describe(content)
    if found == DAMAGED_ZIP and kind in (Kind.DOCX, Kind.ZIP):
        raise ApplicationError(
            f"{name}: the file is damaged and cannot be read (a broken ZIP package); "
            "save or export it again."
        )
    matches = {
        Kind.PDF: found == "a PDF",
        Kind.DOCX: found == "a Word document (.docx)",
        Kind.ZIP: found == "a ZIP archive",
        Kind.NOTEBOOK: found == "text" and _is_notebook(content),
        # NUL bytes alone ("binary data") are left to the text reader's own message.
        Kind.TEXT: found in ("text", "binary data"),
    }[kind]
    if not matches:
        claimed = {
            Kind.PDF: "a PDF",
            Kind.DOCX: "a Word document",
            Kind.ZIP: "a ZIP archive",
            Kind.NOTEBOOK: "a Jupyter notebook",
            Kind.TEXT: "text",
        }[kind]
        raise ApplicationError(
            f"{name}: the name says {claimed}, but the content is {found}; "
            "rename it or upload the right file."
        )
    return kind


def _zip_names(content: bytes) -> set[str] | None:
    """The member names of a ZIP, or None when its directory cannot be read."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return set(archive.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return None


def _is_notebook(content: bytes) -> bool:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and isinstance(data.get("cells"), list)
