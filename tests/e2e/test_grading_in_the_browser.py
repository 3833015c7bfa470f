"""An educator grades a class in the browser; a student reads feedback and asks for a regrade."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from grading.models import Assignment, Enrolment, RegradeRequest, Review
from grading.services.courses import course_create, enrolment_set
from tests.ingest.builders import make_zip

pytestmark = pytest.mark.slow

PASSWORD = "e2e-password-123"
ESSAYS = {
    "ana": "Recursion calls itself.\nThe base case stops it.\n",
    "ben": "A loop repeats.\nRecursion is a loop.\n",
}


@pytest.fixture
def people(django_user_model):
    educator = django_user_model.objects.create_user("teacher", password=PASSWORD)
    course = course_create(code="E2E101", title="Browser course", created_by=educator)
    students = {}
    for username in ESSAYS:
        students[username] = django_user_model.objects.create_user(
            username, password=PASSWORD, first_name=username.title()
        )
        enrolment_set(course=course, user=students[username], role=Enrolment.Role.STUDENT)
    return {"educator": educator, "course": course, **students}


def test_an_educator_grades_a_class_and_a_student_asks_for_a_regrade(
    visitor, people, celery_worker_process, scripted_model, tmp_path
):
    teacher = visitor("educator")
    page = teacher.page
    teacher.log_in("teacher", PASSWORD)
    teacher.snap("courses")

    # Create an assignment with a new two-criterion rubric.
    page.get_by_role("link", name="E2E101").click()
    teacher.snap("course")
    page.get_by_role("link", name="New assignment").click()
    page.locator("#id_title").fill("Recursion essay")
    page.locator("#id_task").fill("Explain recursion.")
    page.get_by_label("New rubric's name").fill("Essay rubric")
    page.locator("#id_criteria-0-title").fill("Correctness")
    page.locator("#id_criteria-0-max_points").fill("4")
    page.locator("#id_criteria-0-levels").fill("Right | 4 | Correct\nWrong | 0 | Incorrect")
    page.locator("#id_criteria-1-title").fill("Clarity")
    page.locator("#id_criteria-1-max_points").fill("2")
    page.locator("#id_criteria-1-levels").fill("Clear | 2\nUnclear | 0")
    teacher.snap("new-assignment")
    page.get_by_role("button", name="Create assignment").click()
    assignment = Assignment.objects.get(title="Recursion essay")
    assert assignment.rubric_version.criteria.count() == 2

    # Upload the class as one ZIP, matched to students by a roster.
    class_zip = tmp_path / "class.zip"
    class_zip.write_bytes(
        make_zip({f"essay-{name}.md": text.encode() for name, text in ESSAYS.items()})
    )
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "student id,name,email,file name\n"
        + "".join(f"{name},{name.title()},,essay-{name}.md\n" for name in ESSAYS)
    )
    page.get_by_role("link", name="Upload submissions").click()
    page.get_by_label("Files").set_input_files(str(class_zip))
    page.get_by_label("Roster CSV (optional)").set_input_files(str(roster))
    teacher.snap("upload")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/uploads/*/")
    # The worker reads the ZIP in the background; the result page fills in when it is done.
    page.get_by_text("2 file(s) uploaded.").wait_for(timeout=120_000)

    # Grade the class; the progress bar reaches 100% without reloading the page.
    page.get_by_role("link", name="Back to the assignment").click()
    page.get_by_role("button", name="Grade all with AI").click()
    # A function, not an expression: Playwright evaluates expressions with eval(), which the
    # page's Content-Security-Policy refuses.
    page.wait_for_function(
        "() => document.querySelector('[data-progress=percent]').value === 100", timeout=120_000
    )
    assert page.locator("[data-progress=succeeded]").inner_text() == "2"
    teacher.snap("assignment-graded")
    page.reload()

    # Review ana's submission: override the first criterion and save.
    page.get_by_role("row", name=re.compile("Ana")).get_by_role("link", name="Review").click()
    assert "Recursion calls itself." in page.content()
    teacher.snap("review")
    correctness = assignment.rubric_version.criteria.get(order=1)
    page.locator(f"#id_points_{correctness.pk}").fill("3")
    page.locator(f"#id_comment_{correctness.pk}").fill("Close, name the base case.")
    page.get_by_role("button", name="Save and approve").click()
    assert "Review saved and approved." in page.content()

    # Bulk release both students' grades from the dashboard.
    page.get_by_role("link", name="All submissions").click()
    page.get_by_role("checkbox", name=re.compile("Select Ana")).check()
    page.get_by_role("checkbox", name=re.compile("Select Ben")).check()
    page.get_by_role("button", name="Approve and release selected").click()
    assert "Released 2 grade(s)." in page.content()
    assert Review.objects.filter(released=True).count() == 2
    teacher.snap("released")

    # Export the gradebook.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.reader(io.StringIO(Path(download_info.value.path()).read_text())))
    assert [row[0] for row in rows[1:]] == ["ana", "ben"]

    page.get_by_role("link", name="Analytics").click()
    teacher.snap("analytics")

    # Ana reads her feedback and asks for a regrade.
    ana = visitor("student")
    ana.log_in("ana", PASSWORD)
    ana.snap("my-work")
    ana.page.get_by_role("link", name=re.compile("read feedback")).click()
    assert "Close, name the base case." in ana.page.content()
    ana.page.get_by_text("Ask for a regrade").click()
    ana.page.get_by_label("C1 Correctness").check()
    ana.page.get_by_label("Why?").fill("I named the base case in line 2.")
    ana.snap("feedback")
    ana.page.get_by_role("button", name="Send request").click()
    assert "regrade request was sent" in ana.page.content()

    # The educator answers and raises the grade.
    page.get_by_role("link", name="Regrade requests").click()
    teacher.snap("regrades")
    page.get_by_role("link", name="Answer").click()
    page.get_by_label("Response to the student").fill("Yes, line 2 has it. Full marks.")
    page.get_by_label("Change the grade").check()
    page.get_by_label(re.compile("C1 Correctness")).fill("4")
    teacher.snap("regrade-answer")
    page.get_by_role("button", name="Send answer").click()
    assert RegradeRequest.objects.get().status == RegradeRequest.Status.ACCEPTED

    ana.page.reload()
    assert "Yes, line 2 has it. Full marks." in ana.page.content()
    assert "Accepted" in ana.page.content()

    # Ben cannot open Ana's feedback.
    ben = visitor("other-student")
    ben.log_in("ben", PASSWORD)
    response = ben.page.goto(ana.page.url)
    assert response.status == 404
