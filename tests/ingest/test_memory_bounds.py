"""Unpacking stays within bounded memory: members are read one at a time, and a project ZIP's
text stops at its limit instead of being unpacked whole and joined first.

A small ZIP of many members within the ratio limit once took +600 MB of a web worker.
"""

from __future__ import annotations

import os
import tracemalloc

import pytest

from grading.errors import ApplicationError
from grading.ingest import archive as archive_module
from grading.ingest import extract as extract_module
from grading.ingest.archive import ArchiveLimits, Member, iter_zip
from grading.ingest.extract import extract
from tests.ingest.builders import make_zip

MEMBER_BYTES = 100_000
MEMBERS = 80  # 8 MB unpacked, about 4 MB packed: within every archive limit below
LIMITS = ArchiveLimits(
    max_members=1000, max_total_bytes=50_000_000, max_ratio=100, max_member_bytes=2_000_000
)
TEXT_LIMIT = 200_000
# A member, its text and what has been kept so far, with room for the readers' own buffers;
# unpacking everything first would take over 8 MB (three times over, with the texts and the join).
MEMORY_BOUND = 2_000_000


def many_members() -> bytes:
    # Hex text compresses about 2 to 1, far inside the ratio limit.
    return make_zip(
        {f"src/file{index:03}.txt": os.urandom(MEMBER_BYTES // 2).hex().encode()
         for index in range(MEMBERS)}
    )  # fmt: skip


def peak_memory_of(action) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_project_zip_over_the_text_limit_is_refused_without_unpacking_it_whole(monkeypatch):
    monkeypatch.setattr(extract_module, "MAX_TEXT_CHARS", TEXT_LIMIT)
    content = many_members()

    def read() -> None:
        with pytest.raises(ApplicationError, match="over the limit"):
            extract("project.zip", content, limits=LIMITS)

    assert peak_memory_of(read) < MEMORY_BOUND


def test_class_zip_members_are_read_one_at_a_time():
    content = many_members()
    seen = []

    def read() -> None:
        for item in iter_zip("class.zip", content, limits=LIMITS):
            assert isinstance(item, Member)
            seen.append(len(item.content))  # the caller stores it and lets it go

    assert peak_memory_of(read) < MEMORY_BOUND
    assert seen == [MEMBER_BYTES] * MEMBERS


def test_a_total_over_the_limit_is_refused_before_anything_is_inflated():
    limits = ArchiveLimits(
        max_members=1000, max_total_bytes=MEMBER_BYTES * 10, max_ratio=100,
        max_member_bytes=2_000_000,
    )  # fmt: skip
    with pytest.raises(ApplicationError, match="would unpack to"):
        next(iter_zip("class.zip", many_members(), limits=limits))


def test_inflated_bytes_are_counted_and_reading_stops_at_the_allowance(monkeypatch):
    # Should the directory's sizes ever be trusted wrongly, the bytes that actually come out are
    # counted as well: reading stops once they pass what the archive may unpack.
    allowance = MEMBER_BYTES * 10
    monkeypatch.setattr(archive_module, "_check_whole_archive", lambda *a, **k: allowance)
    content = many_members()
    read = []

    def consume() -> None:
        with pytest.raises(ApplicationError, match="unpacks to more bytes than the limit"):
            for item in iter_zip("class.zip", content, limits=LIMITS):
                read.append(len(item.content))

    assert peak_memory_of(consume) < MEMORY_BOUND
    assert sum(read) <= allowance
