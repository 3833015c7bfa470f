"""ZIP archives, read defensively: a class upload, a student's project, or a .docx package.

Whole-archive limits (member count, total uncompressed size, compression ratio) refuse a ZIP bomb
before anything is decompressed; sizes come from the central directory, and zipfile never
inflates a member past its declared size (a lie fails the CRC check instead). Members are then
inflated one at a time, in chunks, counting the bytes against the same limit. Each member is then
checked on its own — path traversal, absolute paths, links and special files, encryption, size,
ratio, nesting — and a bad member is rejected with a reason while the good ones are still read.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from grading.errors import ApplicationError

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
UNIX_CREATOR = 3  # ZipInfo.create_system of archives made on Unix (and macOS)
ENCRYPTED_FLAG = 0x1
# Below this many uncompressed bytes a high ratio is harmless (a page of spaces compresses 200:1).
RATIO_CHECK_FLOOR_BYTES = 1024 * 1024
MAX_MEMBER_PATH_LENGTH = 500
READ_CHUNK_BYTES = 64 * 1024
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")
OS_METADATA_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
OS_METADATA_FOLDERS = frozenset({"__MACOSX"})


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int
    max_total_bytes: int
    max_ratio: float
    max_member_bytes: int


@dataclass
class Budget:
    """What a whole upload may still unpack: nested archives draw from their parent's budget."""

    bytes_left: int
    members_left: int

    @classmethod
    def from_limits(cls, limits: ArchiveLimits) -> Budget:
        return cls(bytes_left=limits.max_total_bytes, members_left=limits.max_members)


@dataclass(frozen=True)
class Member:
    path: str  # the member's path inside the archive, normalised to "/" separators
    content: bytes

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name


@dataclass(frozen=True)
class Rejected:
    path: str
    reason: str


@dataclass
class Archive:
    members: list[Member] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def is_zip(content: bytes) -> bool:
    return content.startswith(ZIP_SIGNATURES)


def iter_zip(
    name: str,
    content: bytes,
    *,
    limits: ArchiveLimits,
    budget: Budget | None = None,
    allow_nested: bool = False,
    is_nested_archive=is_zip,
    by_path: bool = False,
) -> Iterator[Member | Rejected]:
    """The members of a ZIP one at a time, each inflated only when the caller asks for it.

    1. Open it; a damaged archive is an ApplicationError (nothing in it can be trusted).
    2. Check the whole-archive limits against the central directory: ApplicationError if over.
    3. Check and read each member in turn, counting the bytes inflated so far: a bad member
       becomes a `Rejected`, a good one a `Member`; past the archive's allowance, ApplicationError.
    So a caller that keeps only what it needs holds one member at a time, never the whole
    archive. `allow_nested` lets members that are themselves ZIPs through (one level: the
    caller reads them with allow_nested=False); `is_nested_archive` says which members count as
    ZIPs (a .docx is a ZIP package but a document). `by_path` yields members sorted by path.
    """
    archive, allowed = _open_within_limits(name, content, limits=limits, budget=budget)
    with archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        if by_path:
            infos.sort(key=lambda info: _member_path(info.filename))
        unpacked = 0
        for info in infos:
            path = _member_path(info.filename)
            reason = _member_problem(info, path, limits=limits)
            if reason is None:
                data, reason = _read_member(archive, info, allowed - unpacked, name=name)
                unpacked += len(data)
                if reason is None and is_nested_archive(data) and not allow_nested:
                    reason = "a ZIP nested deeper than the one level that is read; unzip it first."
            yield Member(path=path, content=data) if reason is None else Rejected(path, reason)


def read_zip(name: str, content: bytes, **options) -> Archive:
    """Every good member of a ZIP at once, and a reason for each rejected one (see iter_zip)."""
    result = Archive()
    for item in iter_zip(name, content, **options):
        (result.members if isinstance(item, Member) else result.rejected).append(item)
    return result


def check_zip_limits(name: str, content: bytes, *, limits: ArchiveLimits) -> None:
    """ApplicationError if the archive is damaged or over a whole-archive limit; reads nothing."""
    _open_within_limits(name, content, limits=limits, budget=None)[0].close()


def _open_within_limits(
    name: str, content: bytes, *, limits: ArchiveLimits, budget: Budget | None
) -> tuple[zipfile.ZipFile, int]:
    """The open archive and how many bytes it may inflate, once its directory is within limits."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise ApplicationError(f"{name}: the ZIP archive is damaged and cannot be read.") from None
    try:
        allowed = _check_whole_archive(
            name, content, infos, limits=limits, budget=budget or Budget.from_limits(limits)
        )
    except ApplicationError:
        archive.close()
        raise
    return archive, allowed


def _check_whole_archive(
    name: str,
    content: bytes,
    infos: list[zipfile.ZipInfo],
    *,
    limits: ArchiveLimits,
    budget: Budget,
) -> int:
    """The bytes the archive may inflate; ApplicationError when its directory is over a limit."""
    files = [info for info in infos if not info.is_dir()]
    if len(files) > min(limits.max_members, budget.members_left):
        raise ApplicationError(
            f"{name}: the ZIP holds {len(files):,} files; the limit is "
            f"{min(limits.max_members, budget.members_left):,}."
        )
    total = sum(info.file_size for info in files)
    allowed = min(limits.max_total_bytes, budget.bytes_left)
    if total > allowed:
        raise ApplicationError(
            f"{name}: the ZIP would unpack to {total:,} bytes; the limit is {allowed:,} "
            "(a ZIP bomb?)."
        )
    compressed = max(len(content), 1)
    if total > RATIO_CHECK_FLOOR_BYTES and total / compressed > limits.max_ratio:
        raise ApplicationError(
            f"{name}: the ZIP is compressed {total / compressed:,.0f} to 1, more than the limit "
            f"of {limits.max_ratio:,.0f} to 1 (a ZIP bomb?)."
        )
    budget.bytes_left -= total
    budget.members_left -= len(files)
    return allowed


def _member_path(filename: str) -> str:
    path = filename.replace("\\", "/")
    path = "".join(char for char in path if char.isprintable())
    return path[-MAX_MEMBER_PATH_LENGTH:] or "(no name)"


def _member_problem(info: zipfile.ZipInfo, path: str, *, limits: ArchiveLimits) -> str | None:
    """Why this member may not be read, or None."""
    parts = PurePosixPath(path).parts
    if path.startswith("/") or _WINDOWS_DRIVE.match(path):
        return "an absolute path; files must sit inside the archive."
    if ".." in parts:
        return "a path that climbs out of the archive (..)."
    if info.create_system == UNIX_CREATOR:
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            return "a symbolic link; links are never followed."
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            return "not a regular file (a device, pipe or socket)."
    if info.flag_bits & ENCRYPTED_FLAG:
        return "password-protected; upload it without a password."
    if (
        parts[-1] in OS_METADATA_NAMES
        or parts[-1].startswith("._")
        or (OS_METADATA_FOLDERS & set(parts))
    ):
        return "operating-system metadata, not a submission."
    if info.file_size > limits.max_member_bytes:
        return (
            f"{info.file_size:,} bytes is over the limit of {limits.max_member_bytes:,} bytes "
            "per file."
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_CHECK_FLOOR_BYTES and ratio > limits.max_ratio:
        return f"compressed {ratio:,.0f} to 1, more than the limit of {limits.max_ratio:,.0f} to 1."
    return None


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, allowed: int, *, name: str
) -> tuple[bytes, str | None]:
    """The member's bytes, read in chunks and refused once more than `allowed` come out."""
    data = bytearray()
    try:
        with archive.open(info) as member:
            while chunk := member.read(READ_CHUNK_BYTES):
                data += chunk
                if len(data) > allowed:
                    raise ApplicationError(
                        f"{name}: the ZIP unpacks to more bytes than the limit allows "
                        "(a ZIP bomb?)."
                    )
    except NotImplementedError:
        return b"", "compressed with a method this server cannot read; use ordinary ZIP."
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError):
        return b"", "damaged inside the ZIP (its checksum or data is wrong)."
    return bytes(data), None
