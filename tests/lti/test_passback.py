"""Grade passback (AGS) against the simulator: scale, comment, scopes, regrade, audit, and the
dashboard's view of failures."""

from __future__ import annotations

import pytest

from grading.lti.models import LtiGradePost, LtiIdentity, LtiResourceLink
from grading.lti.passback import PassbackError, grade_post_send, grade_posts_create
from grading.lti.tasks import lti_grade_post_send
from grading.models import AuditEvent, Enrolment
from grading.services.regrades import regrade_request_answer, regrade_request_create
from grading.services.reviews import review_release, review_save
from tests.conftest import client_for
from tests.lti.conftest import launch
from tests.lti.simulator import INSTRUCTOR, LEARNER, SCORE_SCOPE

CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"


@pytest.fixture
def lms_submission(client, sim, platform, rubric_version, make_submission):
    """A submission of a student who came from the LMS, to an assignment placed in it."""
    launch(client, sim, sim.claims(sub="teacher-1", role=INSTRUCTOR))
    client.logout()
    link = LtiResourceLink.objects.get()
    assignment = link.context.course.assignments.create(
        title="Essay", task="Write.", rubric_version=rubric_version
    )
    claims = sim.claims(sub="learner-1", role=LEARNER)
    claims[CUSTOM] = {"aaie_assignment_id": str(assignment.pk)}
    launch(client, sim, claims)
    student = LtiIdentity.objects.get(sub="learner-1").user
    return make_submission(assignment, student)


def release(submission, educator, points: int, comment: str = "Clear and correct."):
    criteria = submission.assignment.rubric_version.criteria.all()
    review = review_save(
        submission=submission,
        actor=educator,
        points={c.pk: min(points, c.max_points) for c in criteria},
        comments={},
        comment=comment,
    )
    return review_release(review=review, actor=educator)


def test_release_sends_the_passback_task_after_commit(
    lms_submission, educator, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("aaie.celery.app.send_task", lambda name, args: sent.append((name, args)))
    with django_capture_on_commit_callbacks() as callbacks:
        release(lms_submission, educator, points=4)
        # Nothing leaves before the release commits (the worker test sends it for real).
        assert not LtiGradePost.objects.exists()
    for callback in callbacks:
        callback()
    post = LtiGradePost.objects.get()
    assert sent == [("grading.lti.tasks.lti_grade_post_send", [post.pk])]
    assert (post.score_given, post.score_maximum, post.status) == (6, 6, "pending")


def test_a_release_posts_the_score_on_the_rubric_scale_with_the_comment(
    sim, lms_submission, educator
):
    release(lms_submission, educator, points=4)  # 4 of 4 and 2 of 2
    [post] = grade_posts_create(submission_id=lms_submission.pk)
    grade_post_send(post_id=post.pk)

    [score] = sim.recorded.scores
    assert score["url"] == "/lineitems/1/scores"
    assert score["content_type"] == "application/vnd.ims.lis.v1.score+json"
    body = score["body"]
    assert (body["scoreGiven"], body["scoreMaximum"]) == (6, 6)
    assert body["userId"] == "learner-1"
    assert body["comment"] == "Clear and correct."
    assert (body["activityProgress"], body["gradingProgress"]) == ("Completed", "FullyGraded")
    # The bearer token was granted the launch's AGS scopes, score among them.
    assert SCORE_SCOPE in score["scopes"]
    assert sim.recorded.token_requests[-1]["scopes"] == sorted(score["scopes"])
    post.refresh_from_db()
    assert (post.status, post.attempts) == (LtiGradePost.Status.SENT, 1)
    assert AuditEvent.objects.filter(
        submission=lms_submission, action="lms_grade_sent", new_value="6/6"
    ).exists()


def test_an_unchanged_grade_is_not_posted_twice_and_a_regrade_change_is(
    sim, lms_submission, educator
):
    release(lms_submission, educator, points=2)  # 2 of 4 and 2 of 2
    [first] = grade_posts_create(submission_id=lms_submission.pk)
    grade_post_send(post_id=first.pk)
    assert grade_posts_create(submission_id=lms_submission.pk) == []

    request = regrade_request_create(
        submission=lms_submission, student=lms_submission.student, reason="C1 deserves more."
    )
    c1 = lms_submission.assignment.rubric_version.criteria.get(order=1)
    regrade_request_answer(
        regrade_request=request, actor=educator, response="Agreed.", points={c1.pk: 4}
    )
    [second] = grade_posts_create(submission_id=lms_submission.pk)
    grade_post_send(post_id=second.pk)
    assert [s["body"]["scoreGiven"] for s in sim.recorded.scores] == [4, 6]


def test_a_transient_failure_is_counted_audited_and_left_pending(sim, lms_submission, educator):
    release(lms_submission, educator, points=4)
    [post] = grade_posts_create(submission_id=lms_submission.pk)
    sim.score_failures_left = 1
    with pytest.raises(PassbackError) as raised:
        grade_post_send(post_id=post.pk)
    assert raised.value.transient
    post.refresh_from_db()
    assert (post.status, post.attempts) == (LtiGradePost.Status.PENDING, 1)
    assert post.error_history == ["HTTP 503 from the LMS"]
    assert AuditEvent.objects.filter(action="lms_grade_failed").count() == 1
    grade_post_send(post_id=post.pk)
    post.refresh_from_db()
    assert (post.status, post.attempts) == (LtiGradePost.Status.SENT, 2)


def test_without_the_score_scope_a_post_fails_for_good(sim, lms_submission, educator):
    context = LtiResourceLink.objects.get().context
    context.ags_scopes = ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"]
    context.save()
    release(lms_submission, educator, points=4)
    [post] = grade_posts_create(submission_id=lms_submission.pk)
    with pytest.raises(PassbackError) as raised:
        grade_post_send(post_id=post.pk)
    assert not raised.value.transient
    post.refresh_from_db()
    assert post.status == LtiGradePost.Status.FAILED
    assert sim.recorded.scores == []


def test_the_assignment_page_shows_failed_posts_and_sends_them_again(
    sim, lms_submission, educator, django_capture_on_commit_callbacks
):
    release(lms_submission, educator, points=4)
    [post] = grade_posts_create(submission_id=lms_submission.pk)
    LtiGradePost.objects.filter(pk=post.pk).update(
        status=LtiGradePost.Status.FAILED, attempts=7, error_history=["HTTP 503 from the LMS"]
    )
    teacher = LtiIdentity.objects.get(sub="teacher-1").user
    web = client_for(teacher)
    page = web.get(f"/assignments/{lms_submission.assignment_id}/").content.decode()
    assert "Grades sent to the LMS" in page
    assert "HTTP 503 from the LMS" in page and "Send failed grades again" in page


def test_a_student_from_outside_the_lms_is_not_posted(
    sim, lms_submission, educator, student, make_submission
):
    Enrolment.objects.create(
        course=lms_submission.assignment.course, user=student, role=Enrolment.Role.STUDENT
    )
    other = make_submission(lms_submission.assignment, student)
    release(other, educator, points=4)
    assert grade_posts_create(submission_id=other.pk) == []


def test_the_task_gives_up_after_its_retries_and_the_post_shows_failed(
    sim, lms_submission, educator, settings
):
    settings.AAIE_LTI_PASSBACK_MAX_RETRIES = 0
    release(lms_submission, educator, points=4)
    [post] = grade_posts_create(submission_id=lms_submission.pk)
    sim.score_failures_left = 1
    lti_grade_post_send.apply(args=[post.pk])
    post.refresh_from_db()
    assert (post.status, post.attempts) == (LtiGradePost.Status.FAILED, 1)
