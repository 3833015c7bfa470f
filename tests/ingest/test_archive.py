"""ZIP reading: whole-archive limits refuse bombs; bad members are rejected one by one."""

from __future__ import annotations

import io
import zipfile

import pytest

from grading.errors import ApplicationError
from grading.ingest.archive import ArchiveLimits, Budget, read_zip
from tests.ingest.builders import make_zip

LIMITS = ArchiveLimits(
    max_members=10, max_total_bytes=5_000_000, max_ratio=100, max_member_bytes=2_000_000
)


def test_good_members_are_read_with_their_paths():
    archive = read_zip("c.zip", make_zip({"a/one.txt": b"1", "two.py": b"2"}), limits=LIMITS)
    assert {m.path: m.content for m in archive.members} == {"a/one.txt": b"1", "two.py": b"2"}
    assert archive.rejected == []


@pytest.mark.parametrize(
    ("files", "symlinks", "reason"),
    [
        ({"../../etc/evil.txt": b"x"}, {}, "climbs out of the archive"),
        ({"/etc/evil.txt": b"x"}, {}, "absolute path"),
        ({"C:/Windows/evil.txt": b"x"}, {}, "absolute path"),
        ({"..\\evil.txt": b"x"}, {}, "climbs out"),
        ({}, {"link.txt": "/etc/passwd"}, "symbolic link"),
        ({"__MACOSX/._a.txt": b"x"}, {}, "metadata"),
        ({"inner.zip": make_zip({"a.txt": b"a"})}, {}, "nested deeper"),
    ],
)
def test_each_bad_member_is_rejected_with_its_reason_and_the_rest_still_read(
    files, symlinks, reason
):
    content = make_zip({**files, "good.txt": b"fine"}, symlinks=symlinks)
    archive = read_zip("c.zip", content, limits=LIMITS)
    assert [m.path for m in archive.members] == ["good.txt"]
    [rejected] = archive.rejected
    assert reason in rejected.reason


def test_nested_zips_are_allowed_one_level_when_asked():
    content = make_zip({"alice.zip": make_zip({"a.txt": b"a"})})
    archive = read_zip("c.zip", content, limits=LIMITS, allow_nested=True)
    assert [m.path for m in archive.members] == ["alice.zip"]


def test_too_many_members_refuses_the_whole_archive():
    content = make_zip({f"f{i}.txt": b"x" for i in range(11)})
    with pytest.raises(ApplicationError, match="holds 11 files; the limit is 10"):
        read_zip("c.zip", content, limits=LIMITS)


def test_a_total_over_the_limit_refuses_the_whole_archive_before_inflating():
    content = make_zip({"a.txt": b"a" * 3_000_000, "b.txt": b"b" * 3_000_000})
    with pytest.raises(ApplicationError, match="would unpack to 6,000,000 bytes"):
        read_zip("c.zip", content, limits=LIMITS)


def test_a_ratio_over_the_limit_refuses_the_whole_archive():
    content = make_zip({"zeros.txt": b"\0" * 1_500_000})
    with pytest.raises(ApplicationError, match="compressed .* to 1, more than the limit"):
        read_zip("c.zip", content, limits=LIMITS)


def test_a_small_highly_compressible_file_is_fine():
    archive = read_zip("c.zip", make_zip({"spaces.txt": b" " * 50_000}), limits=LIMITS)
    assert len(archive.members) == 1


def test_nested_archives_share_the_uploads_budget():
    budget = Budget(bytes_left=100, members_left=10)
    with pytest.raises(ApplicationError, match="limit is 100"):
        read_zip("c.zip", make_zip({"a.txt": b"a" * 200}), limits=LIMITS, budget=budget)


def test_a_damaged_archive_is_refused():
    content = make_zip({"a.txt": b"a"})
    with pytest.raises(ApplicationError, match="damaged"):
        read_zip("c.zip", content[: len(content) // 2], limits=LIMITS)


def test_an_encrypted_member_is_rejected():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("secret.txt", b"x")
    data = bytearray(out.getvalue())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + flag_offset] |= 0x1  # the "encrypted" general-purpose flag bit
    [rejected] = read_zip("c.zip", bytes(data), limits=LIMITS).rejected
    assert "password-protected" in rejected.reason
