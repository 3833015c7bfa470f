"""The review workspace's helpers: autosaved drafts of the review form and a comment bank."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.db.models import F

from grading.errors import ApplicationError
from grading.models import Assignment, CommentBankEntry, ReviewDraft, Submission

MAX_DRAFT_FIELDS = 200  # a rubric of up to 99 criteria: points and a comment each, and feedback
MAX_DRAFT_FIELD_CHARS = 5000  # as MAX_COMMENT_CHARS: a draft never holds what saving refuses
MAX_BANK_COMMENT_CHARS = 2000
MAX_BANK_ENTRIES = 200


def draft_field_names(*, criterion_ids: list[int]) -> set[str]:
    """The review form's field names a draft may hold."""
    names = {"comment"}
    for pk in criterion_ids:
        names |= {f"points_{pk}", f"comment_{pk}"}
    return names


def review_draft_save(
    *, submission: Submission, author, fields: Mapping[str, str], allowed: set[str]
) -> ReviewDraft:
    """Keep what the educator has typed so far, replacing their earlier draft.

    Unknown field names are dropped and values are bounded: a draft is the form's text, read
    back into the form, never trusted beyond that.
    """
    kept = {
        name: str(value)[:MAX_DRAFT_FIELD_CHARS]
        for name, value in fields.items()
        if name in allowed
    }
    if len(kept) > MAX_DRAFT_FIELDS:
        raise ApplicationError("This draft has too many fields.")
    draft, _ = ReviewDraft.objects.update_or_create(
        submission=submission, author=author, defaults={"fields": kept}
    )
    return draft


def review_draft_discard(*, submission: Submission, author) -> None:
    ReviewDraft.objects.filter(submission=submission, author=author).delete()


def comment_bank_add(*, assignment: Assignment, text: str, created_by) -> CommentBankEntry:
    text = text.strip()
    if not text:
        raise ApplicationError("Write the comment to keep.", field="text")
    if len(text) > MAX_BANK_COMMENT_CHARS:
        raise ApplicationError(
            f"A bank comment is limited to {MAX_BANK_COMMENT_CHARS} characters.", field="text"
        )
    if assignment.comment_bank.count() >= MAX_BANK_ENTRIES:
        raise ApplicationError(f"The comment bank holds at most {MAX_BANK_ENTRIES} comments.")
    existing = assignment.comment_bank.filter(text=text).first()
    if existing is not None:
        return existing
    return CommentBankEntry.objects.create(assignment=assignment, text=text, created_by=created_by)


@transaction.atomic
def comment_bank_use(*, entry: CommentBankEntry) -> int:
    """Count one more insertion of the comment; returns the new count."""
    CommentBankEntry.objects.filter(pk=entry.pk).update(uses=F("uses") + 1)
    entry.refresh_from_db(fields=["uses"])
    return entry.uses


def comment_bank_delete(*, entry: CommentBankEntry) -> None:
    entry.delete()
