"""The file a student handed in: downloaded as it was, and previewed beside its text.

Only the course's educators and the student who owns the submission may have it (see
can_read_original); to anyone else it does not exist (404).
"""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest, HttpResponse

from grading import selectors
from grading.errors import ApplicationError
from grading.ingest.detect import extension_of
from grading.ingest.preview import (
    docx_blocks,
    notebook_blocks,
    pdf_page_count,
    pdf_page_png,
    pdf_page_texts,
)
from grading.models import Submission
from grading.permissions import can_read_original

PREVIEWED = frozenset({".pdf", ".docx", ".ipynb"})
PAGE_CACHE_SECONDS = 3600  # a submission's file never changes: a re-upload is a new attempt
MIN_QUOTE_WORDS = 3  # fewer words than this name no page: they could be anywhere


def _original(request: HttpRequest, submission_id: int) -> Submission:
    submission = selectors.submission_with_course(submission_id=submission_id)
    if submission is None or not can_read_original(request.user, submission):
        raise Http404("No such file, or not yours to open.")
    return submission


def submission_original(request: HttpRequest, submission_id: int) -> FileResponse:
    """The original file as an attachment: never rendered by the browser as a page."""
    submission = _original(request, submission_id)
    return FileResponse(
        submission.original_file.open("rb"),
        as_attachment=True,
        filename=submission.original_name,
        content_type="application/octet-stream",
    )


def submission_page(request: HttpRequest, submission_id: int, page: int) -> HttpResponse:
    """Page `page` (from 1) of a PDF submission as a PNG image."""
    submission = _original(request, submission_id)
    if not submission.original_name.lower().endswith(".pdf"):
        raise Http404("Only PDF submissions have pages.")
    with submission.original_file.open("rb") as handle:
        content = handle.read()
    try:
        image = pdf_page_png(content, index=page - 1)
    except ApplicationError:
        raise Http404("No such page.") from None
    response = HttpResponse(image, content_type="image/png")
    response["Cache-Control"] = f"private, max-age={PAGE_CACHE_SECONDS}"
    return response


def preview_for(submission: Submission, results: dict) -> dict:
    """What the review page shows of the original: PDF page numbers, or DOCX/notebook blocks.

    Verified evidence quotes of a PDF get the number of the page they come from ("page"), set
    on the results' evidence items for this page only.
    """
    kind = extension_of(submission.original_name)
    preview = {"kind": kind, "pages": [], "blocks": [], "page_count": 0}
    if kind not in PREVIEWED:
        return preview
    with submission.original_file.open("rb") as handle:
        content = handle.read()
    try:
        if kind == ".pdf":
            texts = pdf_page_texts(content)
            preview["page_count"] = pdf_page_count(content)
            preview["pages"] = list(range(1, len(texts) + 1))
            _name_evidence_pages(results, texts)
        elif kind == ".docx":
            preview["blocks"] = docx_blocks(content)
        else:
            preview["blocks"] = notebook_blocks(content)
    except ApplicationError as error:
        preview["error"] = error.message
    return preview


def _name_evidence_pages(results: dict, page_texts: list[str]) -> None:
    """Set "page" (where the quote starts) and, for a quote over a page break, "page_end"."""
    pages = [" ".join(text.split()) for text in page_texts]

    def page_of(fragment: str, start: int = 0) -> int | None:
        return next((n for n in range(start, len(pages)) if fragment in pages[n]), None)

    def longest(words: list[str], *, from_end: bool, start: int = 0) -> int | None:
        """The page holding the longest run of the quote's first (or last) words."""
        for count in range(len(words), min(MIN_QUOTE_WORDS, len(words)) - 1, -1):
            part = words[-count:] if from_end else words[:count]
            found = page_of(" ".join(part), start)
            if found is not None:
                return found
        return None

    for result in results.values():
        for item in result.evidence or []:
            if not (isinstance(item, dict) and item.get("quote")):
                continue
            words = str(item["quote"]).split()
            first = longest(words, from_end=False)
            if first is None:
                continue
            last = longest(words, from_end=True, start=first)
            item["page"] = first + 1
            item["page_end"] = last + 1 if last is not None and last > first else None
