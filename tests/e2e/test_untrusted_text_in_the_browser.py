"""Untrusted text — model output, file names, rubric text, submissions — stays text in a browser.

Every payload would set window.__xss or open a dialog if it ever ran as markup or script.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from grading.models import CriterionResult, Enrolment, GradingRun
from grading.services.courses import assignment_create, course_create, enrolment_set
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.reviews import review_release, review_save
from grading.services.rubrics import CriterionInput, LevelInput, rubric_create
from grading.services.submissions import submission_create

pytestmark = pytest.mark.slow

PASSWORD = "e2e-password-123"
PAYLOADS = [
    "<script>window.__xss = 1; alert(1)</script>",
    '"><img src=x onerror="window.__xss=2;alert(2)">',
    '<svg onload="window.__xss=3"></svg>',
    "javascript:window.__xss=4",
]
PAYLOAD = " ".join(PAYLOADS)


@pytest.fixture
def poisoned(django_user_model, scripted_model):
    teacher = django_user_model.objects.create_user("teacher", password=PASSWORD)
    pupil = django_user_model.objects.create_user(
        "pupil", password=PASSWORD, first_name=PAYLOADS[1]
    )
    course = course_create(code="XSS1", title=PAYLOADS[0], created_by=teacher)
    enrolment_set(course=course, user=pupil, role=Enrolment.Role.STUDENT)
    version = rubric_create(
        name=PAYLOAD,
        criteria=[
            CriterionInput(
                title=PAYLOADS[2],
                description=PAYLOAD,
                max_points=2,
                levels=[LevelInput("Good", 2, PAYLOAD), LevelInput("Bad", 0, PAYLOADS[0])],
            )
        ],
        created_by=teacher,
    )
    assignment = assignment_create(
        course=course, title=PAYLOADS[1], task=PAYLOAD, rubric_version=version
    )
    assignment.students_see_trace = True
    assignment.save()
    submission = submission_create(
        assignment=assignment,
        student=pupil,
        upload=SimpleUploadedFile('"><img src=x onerror=alert(5)>.txt', PAYLOAD.encode()),
        uploaded_by=teacher,
    )
    run = grading_run_request(submission=submission, requested_by=teacher)
    grading_run_execute(run_id=run.pk)
    # What a model could write: payloads in the trace, feedback, justification and evidence.
    GradingRun.objects.filter(pk=run.pk).update(
        reasoning_trace=PAYLOAD, feedback=PAYLOAD, raw_answer=PAYLOAD
    )
    CriterionResult.objects.filter(run=run).update(
        justification=PAYLOAD, evidence=[{"quote": PAYLOADS[1], "verified": False}]
    )
    submission.refresh_from_db()
    review = review_save(
        submission=submission,
        actor=teacher,
        points={r.criterion_id: r.points for r in run.results.all()},
        comments={r.criterion_id: PAYLOADS[0] for r in run.results.all()},
        comment=PAYLOAD,
    )
    review_release(review=review, actor=teacher)
    return {"assignment": assignment, "submission": submission, "course": course}


def visit_and_check(person, path: str, label: str) -> None:
    dialogs: list[str] = []
    person.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    person.page.goto(path)
    person.page.wait_for_load_state("load")
    person.page.locator("details").evaluate_all("(nodes) => nodes.forEach(d => d.open = true)")
    person.page.wait_for_timeout(200)
    assert person.page.evaluate("window.__xss") is None, f"script ran on {label}"
    assert dialogs == [], f"a dialog opened on {label}: {dialogs}"
    shown = person.page.inner_text("main")
    assert any(payload in shown for payload in PAYLOADS), label  # shown as plain text
    person.snap(label)


def test_payloads_render_as_text_on_every_page(visitor, poisoned):
    teacher = visitor("xss-educator")
    teacher.log_in("teacher", PASSWORD)
    assignment, submission = poisoned["assignment"], poisoned["submission"]
    visit_and_check(teacher, f"/courses/{poisoned['course'].pk}/", "course")
    visit_and_check(teacher, f"/assignments/{assignment.pk}/", "dashboard")
    visit_and_check(teacher, f"/submissions/{submission.pk}/review/", "review")
    visit_and_check(teacher, f"/assignments/{assignment.pk}/analytics/", "analytics")

    pupil = visitor("xss-student")
    pupil.log_in("pupil", PASSWORD)
    visit_and_check(pupil, f"/me/submissions/{submission.pk}/", "feedback")
