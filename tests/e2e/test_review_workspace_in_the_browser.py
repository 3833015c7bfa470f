"""The review workspace in Chromium: click a level, reload, the draft is back; leave with an
unsaved edit and come back to it; approving needs intent; a bank comment goes in with a click;
the student reads exactly the feedback the educator released."""

from __future__ import annotations

import pytest
from django.urls import reverse

from grading.models import CommentBankEntry, Review, ReviewDraft
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.workspace import comment_bank_add

pytestmark = pytest.mark.slow
WAIT_MS = 10_000


@pytest.fixture
def graded_pair(assignment, student, classmate, educator, make_submission, scripted_model):
    submissions = [
        make_submission(assignment, student, "Recursion calls itself until a base case."),
        make_submission(assignment, classmate, "A loop repeats."),
    ]
    for submission in submissions:
        run = grading_run_request(submission=submission, requested_by=educator)
        grading_run_execute(run_id=run.pk)
        submission.refresh_from_db()
    comment_bank_add(assignment=assignment, text="Name the base case.", created_by=educator)
    return submissions


def wait_for_draft(page) -> None:
    page.locator("#draft-status", has_text="Draft saved").wait_for(timeout=WAIT_MS)


def test_levels_drafts_intent_and_the_comment_bank(visitor, graded_pair, educator):
    first = graded_pair[1]  # "classmate" comes before "student": "n" leads from one to the other
    criteria = list(first.assignment.rubric_version.criteria.order_by("order"))
    teacher = visitor("workspace")
    page = teacher.page
    teacher.log_in(educator.username, "pw-" + educator.username)
    page.goto(reverse("submission_review", args=[first.pk]))
    teacher.snap_sizes("review-workspace")

    # Click the lowest level of the first criterion: its points go in the box, then a reload.
    first_points = page.locator(f"#id_points_{criteria[0].pk}")
    lowest = page.locator(f"fieldset[data-criterion='{criteria[0].pk}'] .level-card").last
    lowest_points = lowest.get_attribute("data-points")
    lowest.click()
    assert first_points.input_value() == lowest_points
    assert lowest.get_attribute("aria-pressed") == "true"
    wait_for_draft(page)
    page.reload()
    assert page.locator(f"#id_points_{criteria[0].pk}").input_value() == lowest_points
    assert page.locator("#draft-restored").is_visible()

    # Number keys: "1" picks the first level of the current criterion, then moves on.
    page.locator(f"fieldset[data-criterion='{criteria[1].pk}'] .level-card").first.focus()
    page.keyboard.press("1")
    top = page.locator(f"fieldset[data-criterion='{criteria[1].pk}'] .level-card").first
    assert page.locator(f"#id_points_{criteria[1].pk}").input_value() == top.get_attribute(
        "data-points"
    )

    # A bank comment goes into the overall feedback with a click, and is counted.
    feedback = page.locator("#id_comment")
    feedback.fill("")
    page.get_by_role("button", name="Insert").click()
    assert feedback.input_value() == "Name the base case."
    page.locator(".bank-uses", has_text="1").wait_for(timeout=WAIT_MS)
    assert CommentBankEntry.objects.get().uses == 1

    # An unsaved edit, then "n": the edit is sent before leaving, and is there on coming back.
    feedback.fill("Edited just before leaving.")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("n")
    page.wait_for_url(f"**{reverse('submission_review', args=[graded_pair[0].pk])}")
    page.keyboard.press("p")
    page.wait_for_url(f"**{reverse('submission_review', args=[first.pk])}")
    assert page.locator("#id_comment").input_value() == "Edited just before leaving."

    # "a" only brings "Save and approve" into focus; nothing is approved until Enter.
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("a")
    assert page.evaluate("() => document.activeElement.id") == "approve-button"
    assert not Review.objects.filter(submission=first).exists()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Review saved and approved." in page.content()
    review = Review.objects.get(submission=first)
    assert review.approved_at is not None and review.comment == "Edited just before leaving."
    assert not ReviewDraft.objects.filter(submission=first).exists()


def test_the_student_reads_exactly_the_released_feedback(visitor, graded_pair, educator, student):
    first = graded_pair[0]
    teacher = visitor("feedback-owner")
    page = teacher.page
    teacher.log_in(educator.username, "pw-" + educator.username)
    page.goto(reverse("submission_review", args=[first.pk]))
    feedback = page.locator("#id_comment")
    assert feedback.input_value() == first.latest_run.feedback  # the AI's draft to start from
    feedback.fill("Clear and correct.\nNext time, test the base case.")
    with page.expect_navigation():
        page.get_by_role("button", name="Approve and release").click()

    reader = visitor("feedback-reader")
    reader.log_in(student.username, "pw-" + student.username)
    reader.page.goto(reverse("my_feedback", args=[first.pk]))
    shown = reader.page.locator("#released-feedback").inner_text()
    assert shown == "Clear and correct.\nNext time, test the base case."
    reader.snap_sizes("released-feedback")


def test_an_assignment_edit_is_saved_and_audited(visitor, assignment, educator):
    teacher = visitor("assignment-edit")
    page = teacher.page
    teacher.log_in(educator.username, "pw-" + educator.username)
    page.goto(reverse("assignment_detail", args=[assignment.pk]))
    page.get_by_role("link", name="Edit", exact=True).click()
    teacher.snap_sizes("assignment-edit")
    page.get_by_label("Title").fill("Explain recursion, revised")
    page.get_by_label("Students may read the grader's reasoning trace").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save changes").click()
    assert "Saved: title, students see trace." in page.content()
    page.get_by_role("link", name="Edit", exact=True).click()
    changes = page.locator("#assignment-changes").inner_text()
    assert "title: “Explain recursion” → “Explain recursion, revised”" in changes
    assert "students_see_trace: “False” → “True”" in changes
