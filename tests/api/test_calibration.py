"""The calibration-set endpoint: import a dataset or a CSV beside a ZIP, list a course's sets."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from grading.models import CalibrationSet, Submission
from grading.vocabulary import Provenance
from tests.api.conftest import api_for
from tests.calibration_files import class_zip, dataset

pytestmark = pytest.mark.django_db


def upload(data) -> SimpleUploadedFile:
    return SimpleUploadedFile("set.json", json.dumps(data, ensure_ascii=False).encode())


def test_a_dataset_import_answers_with_the_set_and_what_was_left_out(course, educator):
    response = api_for(educator).post(
        reverse("api_calibration_sets", args=[course.pk]),
        {"dataset": upload(dataset()), "name": "Essais"},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["stored"] == 3 and body["calibration_set"]["submissions"] == 3
    assert body["calibration_set"]["name"] == "Essais"
    assert body["calibration_set"]["source"] == "set.json"
    assert [problem["where"] for problem in body["problems"]] == ["Entry 3", "Entry 4", "Entry 5"]
    assert any("student_id" in warning for warning in body["warnings"])
    assignment = CalibrationSet.objects.get().assignment
    assert body["calibration_set"]["assignment"] == assignment.pk
    reviews = [submission.review for submission in assignment.submissions.all()]
    assert {review.provenance for review in reviews} == {Provenance.IMPORTED}


def test_the_list_shows_the_course_sets_only(course, educator, outsider_educator):
    api_for(educator).post(
        reverse("api_calibration_sets", args=[course.pk]),
        {"dataset": upload(dataset())},
        format="multipart",
    )

    listing = api_for(educator).get(reverse("api_calibration_sets", args=[course.pk])).json()
    assert listing["count"] == 1 and listing["results"][0]["name"] == "rub_it_0001"
    # The course's assignments list (students and educators) leaves the set's assignment out.
    assignments = api_for(educator).get(reverse("api_assignments", args=[course.pk])).json()
    assert assignments["count"] == 0


def test_a_csv_with_its_zip_imports_the_good_rows(course, educator, rubric_version):
    csv_text = "student_or_file,criterion,points_or_level,comment\na,C1,4,ok\na,C2,0,\nb,C9,1,\n"
    response = api_for(educator).post(
        reverse("api_calibration_sets", args=[course.pk]),
        {
            "labels": SimpleUploadedFile("l.csv", csv_text.encode()),
            "archive": SimpleUploadedFile("c.zip", class_zip({"a.md": "# A", "b.md": "B"})),
            "rubric_version": rubric_version.pk,
            "task": "Explain.",
        },
        format="multipart",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["stored"] == 1
    reasons = " ".join(problem["reason"] for problem in body["problems"])
    assert "no criterion 'C9'" in reasons
    assert Submission.objects.get().original_name == "a.md"


def test_nothing_good_is_a_400_that_lists_why(course, educator):
    data = dataset()
    data["submissions"] = [{"final_submission": "x", "quality": "meh"}]

    response = api_for(educator).post(
        reverse("api_calibration_sets", args=[course.pk]),
        {"dataset": upload(data)},
        format="multipart",
    )

    assert response.status_code == 400
    assert "Entry 1: quality 'meh'" in json.dumps(response.json())
    assert not CalibrationSet.objects.exists()


def test_neither_a_dataset_nor_labels_is_refused(course, educator):
    response = api_for(educator).post(
        reverse("api_calibration_sets", args=[course.pk]), {"name": "x"}, format="multipart"
    )

    assert response.status_code == 400
    assert "Upload a dataset file" in response.json()["error"]["message"]


def test_a_student_of_the_course_cannot_import(course, student):
    response = api_for(student).post(
        reverse("api_calibration_sets", args=[course.pk]),
        {"dataset": upload(dataset())},
        format="multipart",
    )

    assert response.status_code == 403
    assert not CalibrationSet.objects.exists()


def test_band_points_come_as_json_in_the_form(course, educator):
    response = api_for(educator).post(
        reverse("api_calibration_sets", args=[course.pk]),
        {"dataset": upload(dataset()), "band_points": json.dumps({"excellent": 9})},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    assert Submission.objects.get(original_name="entry-0001.txt").review.total == 18
    wrong = api_for(educator).post(
        reverse("api_calibration_sets", args=[course.pk]),
        {"dataset": upload(dataset()), "band_points": "[1, 2]"},
        format="multipart",
    )
    assert wrong.status_code == 400
    assert "Band points must be an object" in wrong.json()["error"]["message"]


def test_a_calibration_set_is_hidden_from_students_and_takes_no_uploads(course, educator, student):
    api_for(educator).post(
        reverse("api_calibration_sets", args=[course.pk]),
        {"dataset": upload(dataset())},
        format="multipart",
    )
    assignment = CalibrationSet.objects.get().assignment

    assert api_for(student).get(reverse("api_assignment", args=[assignment.pk])).status_code == 404
    response = api_for(educator).post(
        reverse("api_submissions", args=[assignment.pk]),
        {"files": [SimpleUploadedFile("s.txt", b"mine")], "student": "student"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "takes no uploads" in json.dumps(response.json())
    assert not assignment.submissions.filter(student=student).exists()
