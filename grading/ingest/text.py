"""Plain-text and source-code files, decoded strictly; and uploaded names, made safe."""

from __future__ import annotations

from pathlib import PurePosixPath

from grading.errors import ApplicationError

MAX_FILE_NAME_LENGTH = 255


def clean_file_name(name: str) -> str:
    """The last path part of an uploaded name, bounded; never trusted as a path."""
    base = PurePosixPath(name.replace("\\", "/")).name.strip()
    base = "".join(char for char in base if char.isprintable())
    if not base:
        raise ApplicationError("The file has no name.")
    return base[-MAX_FILE_NAME_LENGTH:]


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_text(name: str, content: bytes) -> str:
    """UTF-8 text without NUL bytes, newlines normalised; ApplicationError saying why not."""
    if b"\x00" in content:
        raise ApplicationError(f"{name}: this is not a text file (it holds NUL bytes).")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ApplicationError(
            f"{name}: the text is not valid UTF-8 (byte {error.start}); save it as UTF-8."
        ) from None
    return normalise_newlines(text)


def extract_text(name: str, content: bytes) -> str:
    """The text of a text or source file; an empty one is refused (there is nothing to keep)."""
    text = decode_text(name, content)
    if not text.strip():
        raise ApplicationError(f"{name}: the file is empty.")
    return text
