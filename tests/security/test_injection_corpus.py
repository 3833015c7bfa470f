"""The injection detector against its corpus: recall on attacks, false positives on benign work.

Run with -s to see the figures:
    .venv/bin/python -m pytest tests/security/test_injection_corpus.py -s -q
The thresholds are the figures the detector reaches, with a little room; docs/security.md records
them. Attacks marked "docx-hidden" are put in a real DOCX as hidden text and go through the same
reader and flags as an upload.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grading.ingest.archive import ArchiveLimits
from grading.ingest.extract import extract
from grading.llm.injection import detect_injection
from tests.ingest.builders import make_docx

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "injection"
MIN_RECALL = 0.95
MAX_FALSE_POSITIVE_RATE = 0.05
MIN_ATTACKS = MIN_BENIGN = 40
LIMITS = ArchiveLimits(
    max_members=100, max_total_bytes=10_000_000, max_ratio=100, max_member_bytes=2_000_000
)


def load(name: str) -> list[dict]:
    with (CORPUS / name).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def suspected(entry: dict) -> bool:
    if "hidden" in entry:
        document = make_docx(entry["text"], entry["hidden"], entry["style"])
        extracted = extract(f"{entry['id']}.docx", document, limits=LIMITS)
        assert entry["hidden"] in extracted.hidden_passages  # the reader saw the hidden run
        report = detect_injection(extracted.text, hidden_passages=extracted.hidden_passages)
    else:
        report = detect_injection(entry["text"])
    return report.suspected


def test_the_corpus_is_big_enough_and_ids_are_unique():
    attacks, benign = load("attacks.jsonl"), load("benign.jsonl")
    assert len(attacks) >= MIN_ATTACKS and len(benign) >= MIN_BENIGN
    ids = [entry["id"] for entry in attacks + benign]
    assert len(ids) == len(set(ids))


def test_recall_and_false_positive_rate_hold_their_thresholds():
    attacks, benign = load("attacks.jsonl"), load("benign.jsonl")
    missed = [entry["id"] for entry in attacks if not suspected(entry)]
    false_alarms = [entry["id"] for entry in benign if suspected(entry)]
    recall = 1 - len(missed) / len(attacks)
    false_positive_rate = len(false_alarms) / len(benign)
    print(
        f"\ninjection detector: recall {recall:.3f} ({len(attacks) - len(missed)}/{len(attacks)}), "
        f"false-positive rate {false_positive_rate:.3f} ({len(false_alarms)}/{len(benign)})"
        f"\n  missed: {missed or 'none'}\n  false alarms: {false_alarms or 'none'}"
    )
    assert recall >= MIN_RECALL, missed
    assert false_positive_rate <= MAX_FALSE_POSITIVE_RATE, false_alarms


@pytest.mark.parametrize("vector", ["language", "lookalike", "code", "delimiter", "chat", "think"])
def test_every_attack_vector_is_caught_at_least_once(vector):
    entries = [entry for entry in load("attacks.jsonl") if entry["vector"] == vector]
    assert entries and any(suspected(entry) for entry in entries)
