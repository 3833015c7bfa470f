"""The review workspace: autosaved drafts, the comment bank, and feedback the educator owns."""

import pytest
from django.urls import reverse

from grading.models import CommentBankEntry, RegradeRequest, ReviewDraft
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.regrades import regrade_request_answer, regrade_request_create
from grading.services.reviews import review_release, review_save
from grading.services.workspace import comment_bank_add
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


@pytest.fixture
def graded(submission, educator):
    grading_run_execute(run_id=grading_run_request(submission=submission, requested_by=educator).pk)
    submission.refresh_from_db()
    return submission


def criteria_of(submission):
    return list(submission.assignment.rubric_version.criteria.order_by("order"))


def review_url(submission) -> str:
    return reverse("submission_review", args=[submission.pk])


def save_draft(user, submission, fields: dict):
    return client_for(user).post(reverse("review_draft", args=[submission.pk]), fields)


def test_a_draft_survives_a_reload_and_a_second_tab(graded, educator):
    first = criteria_of(graded)[0]
    response = save_draft(
        educator, graded, {f"points_{first.pk}": "1", "comment": "Half way there.", "evil": "x"}
    )
    assert response.status_code == 200 and "saved_at" in response.json()
    assert ReviewDraft.objects.get().fields == {
        f"points_{first.pk}": "1",
        "comment": "Half way there.",
    }

    page = client_for(educator).get(review_url(graded)).content.decode()  # a fresh session
    assert "Your unsaved changes from" in page
    assert f'name="points_{first.pk}" value="1"' in page
    assert "Half way there." in page


def test_saving_the_review_ends_the_draft_and_a_newer_save_hides_an_old_draft(
    graded, educator, outsider_educator
):
    criteria = criteria_of(graded)
    save_draft(educator, graded, {"comment": "draft text"})
    form = {f"points_{c.pk}": "0" for c in criteria} | {"comment": "Saved text", "action": "save"}
    client_for(educator).post(review_url(graded), form)
    assert not ReviewDraft.objects.exists()

    save_draft(educator, graded, {"comment": "stale draft"})
    ReviewDraft.objects.update(updated_at="2000-01-01T00:00:00Z")
    page = client_for(educator).get(review_url(graded)).content.decode()
    assert "stale draft" not in page and "Saved text" in page
    assert save_draft(outsider_educator, graded, {"comment": "x"}).status_code == 404


def test_discarding_a_draft_returns_to_the_saved_review(graded, educator):
    save_draft(educator, graded, {"comment": "not this"})
    client_for(educator).post(review_url(graded), {"action": "discard_draft"})
    assert not ReviewDraft.objects.exists()


def test_the_comment_bank_adds_counts_and_removes_comments(
    graded, educator, admin_user, outsider_educator
):
    assignment = graded.assignment
    client = client_for(educator)
    client.post(
        reverse("comment_bank_create", args=[assignment.pk]),
        {"text": "  Name the base case.  ", "next": review_url(graded)},
    )
    entry = CommentBankEntry.objects.get()
    assert entry.text == "Name the base case."
    assert "Name the base case." in client.get(review_url(graded)).content.decode()

    count_url = reverse("comment_bank_count", args=[entry.pk])
    assert client.post(count_url).json() == {"uses": 1}
    assert client.post(count_url).json() == {"uses": 2}
    assert client_for(outsider_educator).post(count_url).status_code == 404

    other = comment_bank_add(assignment=assignment, text="Cite the text.", created_by=educator)
    client_for(admin_user).post(reverse("comment_bank_remove", args=[other.pk]))
    assert list(CommentBankEntry.objects.values_list("text", flat=True)) == ["Name the base case."]


def test_an_external_next_address_is_not_followed(graded, educator):
    response = client_for(educator).post(
        reverse("comment_bank_create", args=[graded.assignment_id]),
        {"text": "Fine.", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("assignment_detail", args=[graded.assignment_id])


def test_the_overall_feedback_starts_as_the_ai_draft_and_the_student_reads_what_was_released(
    graded, educator, student
):
    page = client_for(educator).get(review_url(graded)).content.decode()
    ai_feedback = graded.latest_run.feedback
    assert ai_feedback and ai_feedback in page.split('id="id_comment"')[1].split("</textarea>")[0]

    criteria = criteria_of(graded)
    form = {f"points_{c.pk}": str(c.max_points) for c in criteria}
    client_for(educator).post(
        review_url(graded), form | {"comment": "Edited by me.", "action": "release"}
    )
    feedback_url = reverse("my_feedback", args=[graded.pk])

    def released_feedback() -> str:
        page = client_for(student).get(feedback_url).content.decode()
        return page.split('id="released-feedback">')[1].split("</div>")[0]

    assert "Edited by me." in released_feedback()
    assert ai_feedback not in released_feedback()

    # An edit saved after the release stays with the educator until it is released again.
    client_for(educator).post(
        review_url(graded), form | {"comment": "Second go.", "action": "save"}
    )
    assert "Edited by me." in released_feedback()
    client_for(educator).post(
        review_url(graded), form | {"comment": "Second go.", "action": "release"}
    )
    assert "Second go." in released_feedback()


def test_a_regrade_answer_rewrites_the_comment_the_student_reads(graded, educator, student):
    criteria = criteria_of(graded)
    review = review_save(
        submission=graded,
        actor=educator,
        points={c.pk: 0 for c in criteria},
        comments={criteria[0].pk: "Missing the base case."},
        comment="",
    )
    review_release(review=review, actor=educator)
    regrade = regrade_request_create(submission=graded, student=student, reason="Line 2.")
    url = reverse("regrade_answer", args=[regrade.pk])
    form = {f"points_{c.pk}": "0" for c in criteria} | {f"comment_{c.pk}": "" for c in criteria}
    form |= {
        "response": "You are right.",
        "change_grade": "on",
        f"points_{criteria[0].pk}": str(criteria[0].max_points),
        f"comment_{criteria[0].pk}": "The base case is in line 2.",
    }
    client_for(educator).post(url, form)
    assert RegradeRequest.objects.get().status == RegradeRequest.Status.ACCEPTED
    seen = client_for(student).get(reverse("my_feedback", args=[graded.pk])).content.decode()
    assert "The base case is in line 2." in seen and "Missing the base case." not in seen
    body = client_for(student).get(reverse("my_feedback", args=[graded.pk]))
    assert body.status_code == 200


def test_a_regrade_answer_without_comments_keeps_them(graded, educator, student):
    criteria = criteria_of(graded)
    review = review_save(
        submission=graded,
        actor=educator,
        points={c.pk: 0 for c in criteria},
        comments={criteria[0].pk: "Kept."},
        comment="",
    )
    review_release(review=review, actor=educator)
    regrade = regrade_request_create(submission=graded, student=student, reason="Why?")
    regrade_request_answer(
        regrade_request=regrade,
        actor=educator,
        response="Raised.",
        points={criteria[0].pk: criteria[0].max_points},
    )
    review.refresh_from_db()
    released = review.released_grade["criteria"][0]
    assert (released["points"], released["comment"]) == (criteria[0].max_points, "Kept.")
