"""Which enrolled student a file belongs to: by a roster CSV, or by the file's name.

A roster has a header row; the columns are found by name (student id, name, email, file name, in
any order, common spellings accepted). A row names its student by student id (the username here)
or email. A file is matched, first, by a roster row that names it; otherwise by a student's
username, roster student id, email name or full name appearing in its path as a whole word.
A file that matches nobody, or more than one student, is unmatched — with the reason — and left
for the educator to assign.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from grading.errors import ApplicationError

MAX_ROSTER_BYTES = 1024 * 1024
MAX_ROSTER_ROWS = 5000
MAX_FIELD_CHARS = 255
MIN_IDENTIFIER_CHARS = 3  # shorter names ("al", "7") would match inside unrelated words
SNIFF_CHARS = 4096
MAX_NAMES_IN_REASON = 3

COLUMN_ALIASES = {
    "student_id": {"student id", "studentid", "id", "id number", "idnumber", "username", "user",
                   "login", "student number", "sid"},
    "name": {"name", "full name", "fullname", "student name", "student"},
    "email": {"email", "e mail", "email address", "mail"},
    "file_name": {"file", "file name", "filename", "submission", "submission file", "path"},
}  # fmt: skip


@dataclass(frozen=True)
class StudentRef:
    """An enrolled student as matching sees them; `key` is the user's primary key."""

    key: int
    username: str
    email: str = ""
    full_name: str = ""


@dataclass(frozen=True)
class RosterRow:
    line: int
    student_id: str
    name: str
    email: str
    file_name: str


@dataclass(frozen=True)
class Match:
    student: int | None  # StudentRef.key, or None when unmatched
    reason: str  # how it matched, or why it did not


@dataclass
class Roster:
    rows: list[RosterRow] = field(default_factory=list)


def parse_roster(content: bytes) -> Roster:
    """The roster's rows; ApplicationError when the CSV cannot be used at all."""
    if len(content) > MAX_ROSTER_BYTES:
        raise ApplicationError(f"The roster is over the limit of {MAX_ROSTER_BYTES:,} bytes.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApplicationError("The roster is not UTF-8 text; save it as CSV (UTF-8).") from None
    if "\x00" in text:
        raise ApplicationError("The roster is not a CSV file (it holds NUL bytes).")
    try:
        dialect = csv.Sniffer().sniff(text[:SNIFF_CHARS], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader, None)
        columns = _columns(header or [])
        roster = Roster()
        for row in reader:
            if reader.line_num > MAX_ROSTER_ROWS + 1:
                raise ApplicationError(f"The roster has more than {MAX_ROSTER_ROWS:,} rows.")
            values = {
                key: (row[index].strip()[:MAX_FIELD_CHARS] if index < len(row) else "")
                for key, index in columns.items()
            }
            if any(values.values()):
                roster.rows.append(
                    RosterRow(
                        line=reader.line_num,
                        student_id=values.get("student_id", ""),
                        name=values.get("name", ""),
                        email=values.get("email", ""),
                        file_name=values.get("file_name", ""),
                    )
                )
    except csv.Error as error:
        raise ApplicationError(
            f"The roster is not valid CSV (line {reader.line_num}): {error}."
        ) from None
    return roster


def _columns(header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        normal = " ".join(re.sub(r"[_\-.]", " ", title.strip().lower()).split())
        for key, aliases in COLUMN_ALIASES.items():
            if normal in aliases and key not in columns:
                columns[key] = index
    if "student_id" not in columns and "email" not in columns:
        raise ApplicationError(
            "The roster needs a header row with a 'student id' (username) or 'email' column; "
            "optional columns: 'name', 'file name'."
        )
    return columns


class StudentMatcher:
    """Matches file paths to enrolled students; `warnings` lists roster rows it could not use."""

    def __init__(self, students: list[StudentRef], roster: Roster | None = None) -> None:
        self.warnings: list[str] = []
        by_username = {s.username.casefold(): s for s in students}
        by_email = {s.email.casefold(): s for s in students if s.email}
        self._by_key = {s.key: s for s in students}
        self._files: dict[str, list[tuple[RosterRow, StudentRef | None]]] = {}
        identifiers: dict[int, set[str]] = {s.key: _identifiers(s) for s in students}
        for row in roster.rows if roster else []:
            student = by_username.get(row.student_id.casefold()) or by_email.get(
                row.email.casefold()
            )
            if student is None:
                who = row.student_id or row.email or row.name
                self.warnings.append(
                    f"Roster line {row.line}: no student '{who}' is enrolled in this course."
                )
            elif row.student_id:
                identifiers[student.key].add(_fold(row.student_id))
            if row.file_name:
                for key in _file_keys(row.file_name):
                    self._files.setdefault(key, []).append((row, student))
        self._patterns = [
            (key, re.compile("|".join(_pattern(i) for i in sorted(ids, key=len, reverse=True))))
            for key, ids in identifiers.items()
            if ids
        ]

    def match(self, path: str) -> Match:
        named = self._roster_rows_naming(path)
        if named:
            students = {student.key for _, student in named if student is not None}
            if len(students) == 1 and len(named) == 1:
                row, student = named[0]
                return Match(student.key, f"roster line {row.line}")
            if not students:
                row = named[0][0]
                who = row.student_id or row.email or row.name
                return Match(None, f"roster line {row.line} names '{who}', who is not enrolled.")
            lines = ", ".join(str(row.line) for row, _ in named[:MAX_NAMES_IN_REASON])
            return Match(None, f"more than one roster row names this file (lines {lines}).")
        folded = _fold(path)
        found = [key for key, pattern in self._patterns if pattern.search(folded)]
        if len(found) == 1:
            return Match(found[0], f"name matches {self._by_key[found[0]].username}")
        if found:
            names = ", ".join(self._by_key[key].username for key in found[:MAX_NAMES_IN_REASON])
            return Match(None, f"the name matches more than one student ({names}).")
        return Match(None, "no roster row, username, student id or name matches this file.")

    def _roster_rows_naming(self, path: str) -> list[tuple[RosterRow, StudentRef | None]]:
        for key in _file_keys(path):
            if key in self._files:
                return self._files[key]
        return []


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _file_keys(path: str) -> list[str]:
    """The full path first, then the base name: a roster may give either."""
    normal = _fold(path.replace("\\", "/").strip().strip("/"))
    return list(dict.fromkeys([normal, PurePosixPath(normal).name]))


def _identifiers(student: StudentRef) -> set[str]:
    found = {_fold(student.username)}
    local_part = student.email.partition("@")[0]
    if local_part:
        found.add(_fold(local_part))
    words = _fold(student.full_name).split()
    if len(words) >= 2:
        found.add(" ".join(words))
        found.add(" ".join([words[-1], *words[:-1]]))  # "Smith Alice", as many LMS exports write
    return {item for item in found if len(item.replace(" ", "")) >= MIN_IDENTIFIER_CHARS}


def _pattern(identifier: str) -> str:
    """The identifier as a whole word; spaces in a name match any separator or none."""
    body = r"[\W_]*".join(re.escape(part) for part in identifier.split(" "))
    return rf"(?<![^\W_]){body}(?![^\W_])"
