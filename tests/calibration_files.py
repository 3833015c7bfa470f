"""Calibration files made in the tests: an AAIE dataset and a class ZIP."""

from __future__ import annotations

import io
import zipfile

BANDS = ("excellent", "good", "average", "needs_improvement", "poor")


def dataset() -> dict:
    """Two criteria: "thesis" with all five bands, "evidence" without "average"."""
    return {
        "prompt": "Écrivez un essai sur la récursivité — 500 mots.",
        "domain": "Informatique",
        "rubric": {
            "rubric_id": "rub_it_0001",
            "criteria": [
                {
                    "criterion_id": "thesis",
                    "name": "Thèse",
                    "description": "Une thèse claire.",
                    "performance_descriptors": {band: f"thesis {band}" for band in BANDS},
                },
                {
                    "criterion_id": "evidence",
                    "name": "Evidence",
                    "description": "Supports the thesis.",
                    "performance_descriptors": {
                        band: f"evidence {band}" for band in BANDS if band != "average"
                    },
                },
            ],
        },
        "submissions": [
            {
                "final_submission": "La récursivité s'appelle elle-même. 再帰 ✓",
                "quality": "excellent",
                "feedback": {"evidence": "Exemples précis — très bien."},
                "student_id": "s-001",
            },
            {"final_submission": "Recursion is when a function calls itself.", "quality": "Poor"},
            {"final_submission": "Middling work.", "quality": "average"},  # no average band
            {"final_submission": "", "quality": "good"},
            {"final_submission": "Unknown band.", "quality": "superb"},
            {
                "final_submission": "Good work.",
                "quality": "good",
                "feedback": [{"criterion_id": "thesis", "comment": "Clear thesis."}],
            },
        ],
    }


def class_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()
