"""Gradebook CSV layouts that Canvas and Moodle import."""

import csv
import io

import pytest
from django.urls import reverse

from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.reviews import review_save
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


@pytest.fixture
def reviewed(assignment, student, classmate, educator, make_submission):
    """The student reviewed with full marks; the classmate graded by the AI but not reviewed."""
    student.email = "=cmd|'/c calc'!A1@example.org"
    student.save()
    submission = make_submission(assignment, student)
    make_submission(assignment, classmate, "Classmate essay")
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    criteria = list(assignment.rubric_version.criteria.all())
    review_save(
        submission=submission,
        actor=educator,
        points={c.pk: c.max_points for c in criteria},
        comments={},
        comment="",
    )
    return sum(c.max_points for c in criteria)


def download(educator, assignment, layout: str):
    url = reverse("gradebook_download", args=[assignment.pk])
    return client_for(educator).get(url, {"format": layout})


def rows_by_username(rows: list[list[str]], column: int) -> dict[str, list[str]]:
    return {row[column]: row for row in rows[1:]}


def test_the_canvas_layout_has_canvas_headers_and_the_final_total(assignment, educator, reviewed):
    response = download(educator, assignment, "canvas")

    assert "-canvas.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        f"Explain recursion ({assignment.pk})",
    ]
    by_user = rows_by_username(rows, column=2)
    assert by_user["student"][5] == str(reviewed)
    assert by_user["student"][3].startswith("'=cmd")  # the formula is defused
    assert by_user["classmate"][5] == ""  # not reviewed: Canvas leaves the grade alone


def test_the_moodle_layout_has_an_identifier_and_a_grade_column(assignment, educator, reviewed):
    response = download(educator, assignment, "moodle")

    assert "-moodle.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Email address", "Username", "Explain recursion"]
    by_user = rows_by_username(rows, column=1)
    assert by_user["student"] == ["'=cmd|'/c calc'!A1@example.org", "student", str(reviewed)]
    assert by_user["classmate"][2] == ""


def test_an_assignment_title_that_is_a_formula_is_defused_in_the_header(
    assignment, educator, reviewed
):
    assignment.title = "@SUM(A1:A9)"
    assignment.save()
    for layout in ("canvas", "moodle"):
        header = next(
            csv.reader(io.StringIO(download(educator, assignment, layout).content.decode()))
        )
        assert header[-1].startswith("'@SUM")


def test_the_default_export_is_unchanged_and_unknown_layouts_are_refused(
    assignment, educator, reviewed
):
    url = reverse("gradebook_download", args=[assignment.pk])
    header = next(csv.reader(io.StringIO(client_for(educator).get(url).content.decode())))
    assert header[:3] == ["Username", "Name", "Email"]
    assert download(educator, assignment, "blackboard").status_code == 404


def test_the_assignment_page_links_each_layout(assignment, educator):
    content = client_for(educator).get(reverse("assignment_detail", args=[assignment.pk]))
    html = content.content.decode()
    url = reverse("gradebook_download", args=[assignment.pk])
    assert f'href="{url}?format=canvas"' in html
    assert f'href="{url}?format=moodle"' in html
