"""Matching files to students: roster rows first, then names in the path; never a guess."""

from __future__ import annotations

import pytest

from grading.errors import ApplicationError
from grading.ingest.roster import StudentMatcher, StudentRef, parse_roster

ALICE = StudentRef(key=1, username="asmith", email="alice@uni.example", full_name="Alice Smith")
BOB = StudentRef(key=2, username="bjones", email="bob@uni.example", full_name="Bob Jones")
STUDENTS = [ALICE, BOB]


def test_a_roster_row_naming_the_file_decides():
    roster = parse_roster(
        b"Student ID,Name,Email,File name\n"
        b"asmith,Alice Smith,,essay1.docx\n"
        b",,bob@uni.example,x.py\n"
    )
    matcher = StudentMatcher(STUDENTS, roster)
    assert matcher.match("class/essay1.docx").student == ALICE.key
    assert matcher.match("x.py").student == BOB.key  # by email
    assert matcher.warnings == []


def test_columns_are_found_by_name_in_any_order_and_with_semicolons():
    roster = parse_roster("file;email\r\nsub-7.txt;ALICE@uni.example\r\n".encode("utf-8-sig"))
    assert StudentMatcher(STUDENTS, roster).match("sub-7.txt").student == ALICE.key


@pytest.mark.parametrize(
    ("path", "student"),
    [
        ("asmith_essay.pdf", ALICE.key),  # username, underscore as a separator
        ("Alice Smith_12345_assignsubmission_file_/essay.docx", ALICE.key),  # LMS folder
        ("SMITH-ALICE.txt", ALICE.key),  # surname first
        ("bob.py", BOB.key),  # the email's name
        ("notes/bjones/main.py", BOB.key),
    ],
)
def test_a_name_in_the_path_matches_a_student(path, student):
    assert StudentMatcher(STUDENTS).match(path).student == student


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("README.md", "no roster row"),
        ("asmithson.txt", "no roster row"),  # a username inside a longer word is no match
        ("asmith-and-bjones.txt", "more than one student"),
    ],
)
def test_no_match_or_two_matches_leaves_the_file_unmatched_with_a_reason(path, reason):
    match = StudentMatcher(STUDENTS).match(path)
    assert match.student is None
    assert reason in match.reason


def test_a_roster_student_id_is_matched_in_file_names():
    roster = parse_roster(b"username,student number\nasmith,\n")
    matcher = StudentMatcher(STUDENTS, roster)
    assert matcher.match("asmith.txt").student == ALICE.key


def test_a_roster_row_for_someone_not_enrolled_is_a_warning_and_its_file_stays_unmatched():
    roster = parse_roster(b"student id,file name\nzed,zed.txt\n")
    matcher = StudentMatcher(STUDENTS, roster)
    assert matcher.warnings == ["Roster line 2: no student 'zed' is enrolled in this course."]
    match = matcher.match("zed.txt")
    assert match.student is None and "not enrolled" in match.reason


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,file\nAlice,a.txt\n", "'student id'"),
        ("student id\nälice\n".encode("latin-1"), "not UTF-8"),
        (b"student id\n\x00\n", "NUL"),
    ],
)
def test_an_unusable_roster_is_refused_with_a_reason(content, message):
    with pytest.raises(ApplicationError, match=message):
        parse_roster(content)
