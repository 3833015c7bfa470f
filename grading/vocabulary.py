"""Words the whole app shares, with no Django or torch import: one place for each vocabulary."""

from __future__ import annotations

from enum import StrEnum


class Provenance(StrEnum):
    """How a final grade's points came to be; only some of these are a person's judgment."""

    EDITED = "edited"  # an educator changed the AI's points, or graded without an AI grade
    APPROVED = "approved"  # an educator opened the submission and approved the AI's points
    UNOPENED = "unopened"  # saved one by one without the submission ever being opened
    BULK = "bulk"  # released in bulk, unopened
    AUTO = "auto"  # released automatically (the assignment needs no review)
    IMPORTED = "imported"  # a mark brought in with a calibration set
    UNKNOWN = "unknown"  # saved before provenance was recorded

    @property
    def label(self) -> str:
        return PROVENANCE_LABELS[self]

    @property
    def is_human_judgment(self) -> bool:
        return self in HUMAN_JUDGMENTS


PROVENANCE_LABELS = {
    Provenance.EDITED: "Educator edited",
    Provenance.APPROVED: "Educator opened and approved",
    Provenance.UNOPENED: "Approved without opening",
    Provenance.BULK: "Released in bulk, unopened",
    Provenance.AUTO: "Released automatically",
    Provenance.IMPORTED: "Imported label",
    Provenance.UNKNOWN: "Not recorded (saved before provenance was kept)",
}

# Grades that say what a person thinks of the work: the only ones agreement figures may count.
HUMAN_JUDGMENTS = frozenset({Provenance.EDITED, Provenance.APPROVED, Provenance.IMPORTED})
