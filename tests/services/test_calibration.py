"""Calibration sets from the AAIE dataset JSON and from a CSV beside a class ZIP."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from grading.errors import ApplicationError
from grading.models import AuditEvent, CalibrationSet, Review, Submission
from grading.services.calibration import calibration_import_csv, calibration_import_dataset
from grading.vocabulary import Provenance
from tests.calibration_files import class_zip, dataset

pytestmark = pytest.mark.django_db


def test_a_dataset_becomes_a_set_of_imported_approved_unreleased_grades(course, educator):
    result = calibration_import_dataset(course=course, data=dataset(), created_by=educator)

    calibration_set = result.calibration_set
    assert result.stored == 3
    # Each bad entry is named with its reason, and none of it is stored.
    reasons = {problem.where: problem.reason for problem in result.problems}
    assert set(reasons) == {"Entry 3", "Entry 4", "Entry 5"}
    assert "no such band" in reasons["Entry 3"]
    assert "final_submission" in reasons["Entry 4"]
    assert "superb" in reasons["Entry 5"]
    assert any("student_id" in warning for warning in result.warnings)
    assert any("no 'average' band" in warning for warning in result.warnings)

    assignment = calibration_set.assignment
    assert assignment.task == "Écrivez un essai sur la récursivité — 500 mots."
    assert assignment.rubric_version.rubric.domain == "Informatique"
    submissions = list(assignment.submissions.order_by("student__username"))
    assert len(submissions) == 3
    first = Submission.objects.get(assignment=assignment, original_name="entry-0001.txt")
    assert first.text == "La récursivité s'appelle elle-même. 再帰 ✓"
    assert first.original_file.read().decode() == first.text
    assert len(first.content_hash) == 64
    review = first.review
    assert review.provenance == Provenance.IMPORTED
    assert review.holistic is True
    assert review.approved_at is not None and review.released is False
    points = {item.criterion.title: item.points for item in review.criteria.all()}
    assert points == {"Thèse": 4, "Evidence": 4}
    comments = {item.criterion.title: item.comment for item in review.criteria.all()}
    assert comments == {"Thèse": "", "Evidence": "Exemples précis — très bien."}
    poor = Submission.objects.get(assignment=assignment, original_name="entry-0002.txt").review
    assert sorted(item.points for item in poor.criteria.all()) == [0, 0]


def test_pseudonyms_are_inactive_unenrolled_and_cannot_log_in(course, educator):
    result = calibration_import_dataset(course=course, data=dataset(), created_by=educator)

    for submission in result.calibration_set.assignment.submissions.select_related("student"):
        student = submission.student
        assert student.username.startswith(f"calib-{result.calibration_set.pk}-")
        assert not student.is_active
        assert not student.has_usable_password()
        assert not student.enrolments.exists()


def test_weights_and_band_points_follow_the_rubric_import(course, educator):
    result = calibration_import_dataset(
        course=course,
        data=dataset(),
        created_by=educator,
        name="Essays 2025",
        criterion_points={1: 10},
    )

    assert result.calibration_set.name == "Essays 2025"
    first = Submission.objects.get(
        assignment=result.calibration_set.assignment, original_name="entry-0006.txt"
    )
    points = {item.criterion.order: item.points for item in first.review.criteria.all()}
    assert points == {1: 8, 2: 3}  # "good" is 3 of 4, scaled to 10 → 7.5 → 8
    assert first.review.criteria.get(criterion__order=1).comment == "Clear thesis."


def test_an_unknown_criterion_in_feedback_leaves_the_entry_out(course, educator):
    data = dataset()
    data["submissions"] = [
        {"final_submission": "x", "quality": "good", "feedback": {"style": "Nice."}},
        {"final_submission": "y", "quality": "good"},
    ]

    result = calibration_import_dataset(course=course, data=data, created_by=educator)

    assert result.stored == 1
    assert "no criterion 'style'" in result.problems[0].reason


def test_a_file_with_no_good_entry_stores_nothing(course, educator):
    data = dataset()
    data["submissions"] = [{"final_submission": "x", "quality": "meh"}]

    result = calibration_import_dataset(course=course, data=data, created_by=educator)

    assert result.calibration_set is None and result.stored == 0
    assert not CalibrationSet.objects.exists() and not Submission.objects.exists()


def test_too_many_entries_are_refused_whole(course, educator, monkeypatch):
    monkeypatch.setattr("grading.services.calibration.MAX_ENTRIES", 2)

    with pytest.raises(ApplicationError, match="more than the 2"):
        calibration_import_dataset(course=course, data=dataset(), created_by=educator)
    assert not Submission.objects.exists()


def test_a_failure_while_storing_leaves_nothing_half_stored(
    course, educator, monkeypatch, settings
):
    calls = []

    def fail_on_second(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(**kwargs)

    import grading.services.calibration as calibration

    real = calibration.review_approve
    monkeypatch.setattr(calibration, "review_approve", fail_on_second)

    with pytest.raises(RuntimeError):
        calibration_import_dataset(course=course, data=dataset(), created_by=educator)
    assert not Submission.objects.exists()
    assert not Review.objects.exists() and not CalibrationSet.objects.exists()
    assert not AuditEvent.objects.exists()
    # The first entry's file was written before the failure; it is removed with its row.
    assert not [path for path in settings.MEDIA_ROOT.rglob("*") if path.is_file()]


def test_a_csv_beside_a_class_zip_imports_its_good_rows(course, educator, rubric_version):
    csv_text = "\n".join(
        [
            "student_or_file,criterion,points_or_level,comment",
            "ada.txt,C1,Excellent,Très bien",  # line 2: level label
            "ada.txt,Clarity,2,",  # line 3: title and points
            "bob,C1,3,",  # line 4: points inside 0-4 but the stem "bob" matches bob.py
            "bob,C2,Unclear,",
            "cy.txt,C1,9,",  # line 6: out of bounds → cy left out whole
            "cy.txt,C2,2,",
            "dee.txt,C3,1,",  # line 8: no criterion C3
            "eve.txt,C1,2,",  # line 9: eve has no C2 label
            "zed.txt,C1,2,",  # no such file
            "zed.txt,C2,2,",
        ]
    )
    zip_content = class_zip(
        {
            "class/ada.txt": "Ada's answer — naïve café",
            "class/bob.py": "def f(n):\n    return f(n - 1) if n else 0\n",
            "class/cy.txt": "Cy",
            "class/dee.txt": "Dee",
            "class/eve.txt": "Eve",
            "class/unlabelled.txt": "Nobody marked this",
        }
    )

    result = calibration_import_csv(
        course=course,
        rubric_version=rubric_version,
        task="Explain recursion.",
        csv_text=csv_text,
        zip_name="essays.zip",
        zip_content=zip_content,
        created_by=educator,
    )

    assert result.stored == 2
    problems = [(problem.where, problem.reason) for problem in result.problems]
    text = repr(problems)
    assert ("Line 6", "9 is outside 0–4 for C1 Correctness") in problems
    assert any(where == "Line 8" and "no criterion 'C3'" in why for where, why in problems)
    assert "eve.txt: not imported: no label for C2 Clarity" in text
    assert "zed.txt: no file of that name in the ZIP" in text
    assert "class/unlabelled.txt" in text
    assignment = result.calibration_set.assignment
    assert assignment.task == "Explain recursion." and result.calibration_set.name == "essays"
    ada = Submission.objects.get(assignment=assignment, original_name="ada.txt")
    assert ada.text == "Ada's answer — naïve café"
    assert {item.criterion.key: item.points for item in ada.review.criteria.all()} == {
        "C1": 4,
        "C2": 2,
    }
    assert ada.review.criteria.get(criterion__order=1).comment == "Très bien"
    assert ada.review.holistic is False and ada.review.provenance == Provenance.IMPORTED
    bob = Submission.objects.get(assignment=assignment, original_name="bob.py")
    assert sum(item.points for item in bob.review.criteria.all()) == 3


def test_a_csv_without_its_columns_is_refused(course, educator, rubric_version):
    with pytest.raises(ApplicationError, match="lacks the columns"):
        calibration_import_csv(
            course=course,
            rubric_version=rubric_version,
            task="t",
            csv_text="file,points\na,1\n",
            zip_name="a.zip",
            zip_content=class_zip({"a.txt": "a"}),
            created_by=educator,
        )


def test_the_command_imports_a_dataset_and_prints_a_summary(course, educator, tmp_path):
    path = tmp_path / "essais.json"
    path.write_text(json.dumps(dataset(), ensure_ascii=False), encoding="utf-8")
    out = io.StringIO()

    call_command(
        "import_calibration", "--course", "cs101", "--file", str(path), "--as", "educator",
        stdout=out,
    )  # fmt: skip

    text = out.getvalue()
    calibration_set = CalibrationSet.objects.get()
    assert f"Imported 3 submission(s) into calibration set {calibration_set.pk}" in text
    assert "Entry 3: quality 'average' is not a level" in text
    assert calibration_set.created_by == educator and calibration_set.source == "essais.json"


def test_the_command_imports_a_csv_beside_a_zip(course, rubric_version, tmp_path):
    (tmp_path / "labels.csv").write_text(
        "student_or_file,criterion,points_or_level,comment\na,C1,2,\na,C2,0,\n", encoding="utf-8"
    )
    (tmp_path / "class.zip").write_bytes(class_zip({"a.txt": "A"}))
    out = io.StringIO()

    call_command(
        "import_calibration", "--course", "CS101", "--csv", str(tmp_path / "labels.csv"),
        "--zip", str(tmp_path / "class.zip"), "--rubric-version", str(rubric_version.pk),
        "--task", "Explain.", stdout=out,
    )  # fmt: skip

    assert "Imported 1 submission(s)" in out.getvalue()
    assert Submission.objects.get().review.total == 2


def test_the_command_fails_loudly_when_nothing_is_good(course, tmp_path):
    data = dataset()
    data["submissions"] = [{"final_submission": "x", "quality": "meh"}]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_calibration", "--course", "CS101", "--file", str(path))
    with pytest.raises(CommandError, match="No course"):
        call_command("import_calibration", "--course", "NOPE", "--file", str(path))
