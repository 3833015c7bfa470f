"""Plain-text and source-code files: checked by content, decoded strictly."""

from __future__ import annotations

from pathlib import PurePosixPath

from grading.errors import ApplicationError

TEXT_EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".rst"})
SOURCE_EXTENSIONS = frozenset(
    {
        ".py", ".java", ".c", ".h", ".cpp", ".cc", ".hpp", ".cs", ".js", ".ts", ".jsx",
        ".tsx", ".go", ".rs", ".rb", ".php", ".kt", ".swift", ".scala", ".sql", ".sh",
        ".r", ".m", ".hs", ".ml", ".lua", ".pl", ".html", ".css", ".json", ".yaml", ".yml",
    }
)  # fmt: skip
ACCEPTED_EXTENSIONS = TEXT_EXTENSIONS | SOURCE_EXTENSIONS
MAX_FILE_NAME_LENGTH = 255


def clean_file_name(name: str) -> str:
    """The last path part of an uploaded name, bounded; never trusted as a path."""
    base = PurePosixPath(name.replace("\\", "/")).name.strip()
    base = "".join(char for char in base if char.isprintable())
    if not base:
        raise ApplicationError("The file has no name.")
    return base[-MAX_FILE_NAME_LENGTH:]


def extension_of(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def extract_text(name: str, content: bytes) -> str:
    """The text of a text or source file, or ApplicationError saying why there is none."""
    extension = extension_of(name)
    if extension not in ACCEPTED_EXTENSIONS:
        accepted = ", ".join(sorted(ACCEPTED_EXTENSIONS))
        raise ApplicationError(
            f"{name}: files of type '{extension or 'none'}' are not accepted ({accepted})."
        )
    if b"\x00" in content:
        raise ApplicationError(f"{name}: this is not a text file (it holds NUL bytes).")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ApplicationError(
            f"{name}: the text is not valid UTF-8 (byte {error.start}); save it as UTF-8."
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ApplicationError(f"{name}: the file is empty.")
    return text
