"""One entry point: a file's bytes in, the text the model sees and the file's flags out.

The kind is decided by content (detect.py) and each kind has its reader. Flags describe what the
educator should know about the file; their shape is documented on Submission.flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grading.errors import ApplicationError
from grading.ingest.archive import ArchiveLimits, Budget, Rejected, iter_zip
from grading.ingest.detect import Kind, describe, detect_kind
from grading.ingest.docx import extract_docx_text
from grading.ingest.notebook import extract_notebook_text
from grading.ingest.pdf import extract_pdf_text
from grading.ingest.text import extract_text

MAX_TEXT_CHARS = 4_000_000  # above any text file under the size limit; the grader flags long input
MAX_REASONS_IN_MESSAGE = 3
BLOCK_SEPARATOR = "\n\n"  # between a project's files

# Flag keys (see Submission.flags).
NO_TEXT = "no_text"
HIDDEN_TEXT = "hidden_text"
SKIPPED_FILES = "skipped_files"


@dataclass
class Extracted:
    kind: Kind
    text: str
    flags: dict = field(default_factory=dict)
    hidden_passages: list[str] = field(default_factory=list)


def extract(
    name: str, content: bytes, *, limits: ArchiveLimits, budget: Budget | None = None
) -> Extracted:
    """The text of any accepted file, or ApplicationError saying why it cannot be used.

    A ZIP here is one student's project: its files' texts, each under a header with its path.
    """
    kind = detect_kind(name, content)
    if kind is Kind.ZIP:
        result = _extract_project(name, content, limits=limits, budget=budget)
    elif kind is Kind.PDF:
        result = Extracted(kind, extract_pdf_text(name, content))
    elif kind is Kind.DOCX:
        docx = extract_docx_text(name, content, limits=limits)
        result = Extracted(kind, docx.text, hidden_passages=docx.hidden_passages)
    elif kind is Kind.NOTEBOOK:
        result = Extracted(kind, extract_notebook_text(name, content))
    else:
        result = Extracted(kind, extract_text(name, content))
    if len(result.text) > MAX_TEXT_CHARS:
        raise ApplicationError(
            f"{name}: {len(result.text):,} characters of text is over the limit of "
            f"{MAX_TEXT_CHARS:,}."
        )
    if not result.text.strip():
        result.text = ""
        result.flags[NO_TEXT] = True
    if result.hidden_passages:
        result.flags[HIDDEN_TEXT] = result.hidden_passages
    return result


def _extract_project(
    name: str, content: bytes, *, limits: ArchiveLimits, budget: Budget | None
) -> Extracted:
    """The project's files' texts, read one member at a time and stopped at MAX_TEXT_CHARS."""
    members = iter_zip(
        name,
        content,
        limits=limits,
        budget=budget,
        is_nested_archive=lambda data: describe(data) == "a ZIP archive",
        by_path=True,
    )
    skipped: list[dict] = []
    blocks: list[str] = []
    hidden: list[str] = []
    readable = chars = 0
    for member in members:
        if isinstance(member, Rejected):
            skipped.append({"name": member.path, "reason": member.reason})
            continue
        try:
            part = extract(member.path, member.content, limits=limits)
        except ApplicationError as error:
            skipped.append({"name": member.path, "reason": error.message})
            continue
        readable += 1
        if part.flags.get(NO_TEXT):
            skipped.append({"name": member.path, "reason": "no text could be read (a scan?)."})
        else:
            blocks.append(f"===== {member.path} =====\n{part.text}")
            chars += len(blocks[-1]) + len(BLOCK_SEPARATOR)
            if chars > MAX_TEXT_CHARS:
                raise ApplicationError(
                    f"{name}: the text of its files is over the limit of {MAX_TEXT_CHARS:,} "
                    "characters."
                )
        hidden.extend(part.hidden_passages)
    if not readable:
        reasons = "; ".join(
            f"{item['name']}: {item['reason']}" for item in skipped[:MAX_REASONS_IN_MESSAGE]
        )
        raise ApplicationError(f"{name}: no file in the ZIP could be used ({reasons or 'empty'}).")
    result = Extracted(Kind.ZIP, BLOCK_SEPARATOR.join(blocks), hidden_passages=hidden)
    if skipped:
        result.flags[SKIPPED_FILES] = skipped
    return result
