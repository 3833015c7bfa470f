"""Gradebook CSV layouts that Canvas and Moodle import."""

import csv
import io

import pytest
from django.urls import reverse

from grading.services.gradebook import canvas_column_title
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.reviews import review_release, review_save
from tests.api.conftest import api_for
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


@pytest.fixture
def reviewed(assignment, student, classmate, educator, make_submission):
    """The student's full marks released; the classmate graded by the AI but not reviewed."""
    student.email = "=cmd|'/c calc'!A1@Example.org"
    student.last_name = "Lovelace"
    student.save()
    submission = make_submission(assignment, student)
    make_submission(assignment, classmate, "Classmate essay")
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    criteria = list(assignment.rubric_version.criteria.all())
    review = review_save(
        submission=submission,
        actor=educator,
        points={c.pk: c.max_points for c in criteria},
        comments={},
        comment="Well argued.",
    )
    review_release(review=review, actor=educator)
    return sum(c.max_points for c in criteria)


def download(educator, assignment, layout: str):
    url = reverse("gradebook_download", args=[assignment.pk])
    return client_for(educator).get(url, {"format": layout})


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def rows_by_username(rows: list[list[str]], column: int) -> dict[str, list[str]]:
    return {row[column]: row for row in rows[1:]}


def test_the_canvas_layout_follows_canvas_importer_rules(assignment, educator, reviewed):
    response = download(educator, assignment, "canvas")

    assert "-canvas.csv" in response["Content-Disposition"]
    rows = csv_rows(response)
    # A plain title: "Title (123)" would be read as Canvas's assignment 123.
    assert rows[0] == ["Student", "SIS Login ID", "Section", "Explain recursion"]
    # The points possible row lets Canvas create the assignment with the right maximum.
    assert rows[1] == ["Points Possible", "", "", str(reviewed)]
    by_user = rows_by_username(rows, column=1)
    assert by_user["student"] == ["Lovelace, Student", "student", "", str(reviewed)]
    assert by_user["classmate"][3] == ""  # not released: Canvas leaves the grade alone


def test_a_title_ending_in_a_number_in_brackets_is_not_taken_for_a_canvas_id(
    assignment, educator, reviewed
):
    assignment.title = "Essay (2)"
    assignment.save()
    header = csv_rows(download(educator, assignment, "canvas"))[0]
    assert header[-1] == "Essay (2) [AAIE]"
    assert canvas_column_title("Essay (draft)") == "Essay (draft)"


def test_the_moodle_layout_has_identity_grade_and_feedback_columns(assignment, educator, reviewed):
    response = download(educator, assignment, "moodle")

    assert "-moodle.csv" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == [
        "First name",
        "Last name",
        "Username",
        "Email address",
        "Explain recursion",
        "Explain recursion (Feedback)",
    ]
    by_user = rows_by_username(rows, column=2)
    # Moodle compares emails case-sensitively: written exactly as stored, formula defused.
    assert by_user["student"] == [
        "Student",
        "Lovelace",
        "student",
        "'=cmd|'/c calc'!A1@Example.org",
        str(reviewed),
        "Well argued.",
    ]
    assert by_user["classmate"][4:] == ["", ""]


def test_every_export_keeps_the_released_grade_after_a_re_upload(
    assignment, educator, student, reviewed, make_submission
):
    make_submission(assignment, student, "A second attempt, not graded yet")

    canvas = rows_by_username(csv_rows(download(educator, assignment, "canvas")), column=1)
    assert canvas["student"][3] == str(reviewed)
    moodle = rows_by_username(csv_rows(download(educator, assignment, "moodle")), column=2)
    assert moodle["student"][4] == str(reviewed)
    url = reverse("gradebook_download", args=[assignment.pk])
    plain = csv_rows(client_for(educator).get(url))
    row = dict(zip(plain[0], rows_by_username(plain, column=0)["student"], strict=True))
    assert row["Attempt"] == "2" and row["Released"] == "no"  # the newest attempt, unreleased
    assert row["Released total"] == str(reviewed) and row["Released attempt"] == "1"
    body = api_for(educator).get(reverse("api_gradebook", args=[assignment.pk])).json()
    api_row = next(r for r in body["rows"] if r["student"]["username"] == "student")
    assert (api_row["attempt"], api_row["released_total"]) == (2, reviewed)


def test_an_approved_but_unreleased_grade_is_not_sent_to_an_lms(
    assignment, educator, classmate, reviewed
):
    submission = classmate.submissions.get()
    criteria = list(assignment.rubric_version.criteria.all())
    review_save(
        submission=submission,
        actor=educator,
        points={c.pk: 1 for c in criteria},
        comments={},
        comment="",
    )
    canvas = rows_by_username(csv_rows(download(educator, assignment, "canvas")), column=1)
    assert canvas["classmate"][3] == ""


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
