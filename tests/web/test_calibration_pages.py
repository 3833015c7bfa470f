"""Calibration sets in the browser: import from a dataset or a CSV beside a ZIP, see the labels,
and stay apart from the class: not on the roster, the student pages or the gradebook."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from grading.models import CalibrationSet
from grading.services.calibration import calibration_import_dataset
from tests.calibration_files import class_zip, dataset
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def dataset_upload(data=None) -> SimpleUploadedFile:
    body = json.dumps(data or dataset(), ensure_ascii=False).encode()
    return SimpleUploadedFile("essais-é.json", body, content_type="application/json")


@pytest.fixture
def calibration_set(course, educator) -> CalibrationSet:
    return calibration_import_dataset(
        course=course, data=dataset(), created_by=educator
    ).calibration_set


def test_an_educator_imports_a_dataset_and_sees_what_was_left_out(course, educator):
    page = client_for(educator).post(
        reverse("calibration_import", args=[course.pk]), {"dataset": dataset_upload()}
    )

    assert page.status_code == 200
    body = page.content.decode()
    calibration_set = CalibrationSet.objects.get()
    assert "3 imported" in body and "3 left out" in body
    assert reverse("calibration_set", args=[calibration_set.pk]) in body
    assert "Entry 3" in body and "no such band" in body
    assert "student_id" in body  # the ignored field is reported
    assert calibration_set.source == "essais-é.json"


def test_the_set_page_lists_pseudonyms_and_their_labels(calibration_set, educator):
    page = client_for(educator).get(reverse("calibration_set", args=[calibration_set.pk]))

    body = page.content.decode()
    assert page.status_code == 200
    assert f"calib-{calibration_set.pk}-1" in body
    assert "Imported label" in body and "Holistic" in body
    assert "Exemples précis — très bien." in body
    assert "Écrivez un essai sur la récursivité" in body


def test_a_csv_and_zip_import_through_the_page(course, educator, rubric_version):
    csv_text = "student_or_file,criterion,points_or_level,comment\na,C1,4,\na,C2,Clear,\nb,C1,7,\n"
    page = client_for(educator).post(
        reverse("calibration_import", args=[course.pk]),
        {
            "labels": SimpleUploadedFile("labels.csv", csv_text.encode()),
            "archive": SimpleUploadedFile("class.zip", class_zip({"a.txt": "A", "b.txt": "B"})),
            "rubric_version": rubric_version.pk,
            "task": "Explain recursion.",
        },
    )

    body = page.content.decode()
    assert "1 imported" in body
    assert "Line 4" in body and "7 is outside 0–4" in body
    assert CalibrationSet.objects.get().assignment.submissions.count() == 1


def test_a_form_without_files_says_what_is_missing(course, educator):
    page = client_for(educator).post(reverse("calibration_import", args=[course.pk]), {})

    assert "Upload a dataset file, or a labels CSV" in page.content.decode()
    assert not CalibrationSet.objects.exists()


def test_a_file_that_is_not_json_is_refused_with_a_reason(course, educator):
    page = client_for(educator).post(
        reverse("calibration_import", args=[course.pk]),
        {"dataset": SimpleUploadedFile("x.json", b"{not json")},
    )

    assert "not valid JSON" in page.content.decode()


def test_the_course_page_lists_sets_apart_from_assignments_and_students(
    course, educator, assignment, calibration_set
):
    page = client_for(educator).get(reverse("course_detail", args=[course.pk]))

    body = page.content.decode()
    assignments, rest = body.split("<h2>Calibration sets</h2>")
    sets, students = rest.split("<h2>Students")
    # The set's assignment is listed once, as a set; its pseudonyms are no students.
    assert calibration_set.name in sets
    assert reverse("assignment_detail", args=[calibration_set.assignment.pk]) not in assignments
    assert assignment.title in assignments
    assert "calib-" not in students and "Students (2)" in body
    assert reverse("calibration_import", args=[course.pk]) in body
    listing = client_for(educator).get(reverse("course_list")).context["courses"]
    assert listing.get(pk=course.pk).assignment_count == 1


def test_students_never_see_a_calibration_assignment(student, assignment, calibration_set):
    client = client_for(student)

    page = client.get(reverse("my_submissions")).content.decode()
    assert assignment.title in page and calibration_set.name not in page
    upload = client.get(reverse("my_upload", args=[calibration_set.assignment.pk]))
    assert upload.status_code == 404


def test_a_calibration_set_has_no_gradebook(educator, calibration_set):
    response = client_for(educator).get(
        reverse("gradebook_download", args=[calibration_set.assignment.pk]), follow=True
    )

    assert "has no gradebook" in response.content.decode()
    assert "text/csv" not in response["Content-Type"]


def test_other_courses_educators_and_students_cannot_import(
    course, outsider_educator, student, calibration_set
):
    url = reverse("calibration_import", args=[course.pk])
    assert client_for(outsider_educator).post(url, {"dataset": dataset_upload()}).status_code == 404
    assert client_for(student).post(url, {"dataset": dataset_upload()}).status_code == 403
    assert CalibrationSet.objects.count() == 1


def test_the_page_takes_the_points_of_each_band(course, educator):
    client_for(educator).post(
        reverse("calibration_import", args=[course.pk]),
        {"dataset": dataset_upload(), "excellent": "10", "good": "7"},
    )

    assignment = CalibrationSet.objects.get().assignment
    best = assignment.submissions.get(original_name="entry-0001.txt").review
    assert best.total == 20  # "excellent" on both criteria, 10 each
    assert assignment.submissions.get(original_name="entry-0006.txt").review.total == 14


def test_the_set_assignment_page_says_what_it_is(educator, calibration_set, assignment):
    client = client_for(educator)
    page = client.get(reverse("assignment_detail", args=[calibration_set.assignment.pk]))
    assert "holds the calibration set" in page.content.decode()
    assert reverse("calibration_set", args=[calibration_set.pk]) in page.content.decode()
    other = client.get(reverse("assignment_detail", args=[assignment.pk])).content.decode()
    assert "holds the calibration set" not in other
