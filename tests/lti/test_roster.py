"""Roster sync (NRPS) against the simulator: new students enrolled, dropped ones inactive with
their work kept; the course page's button and the periodic task."""

from __future__ import annotations

import pytest

from grading.errors import ApplicationError
from grading.lti.models import LtiContext, LtiIdentity, LtiMembership
from grading.lti.roster import roster_sync
from grading.lti.tasks import lti_roster_sync, lti_rosters_sync
from grading.models import Course, Enrolment, Submission
from tests.conftest import client_for
from tests.lti.conftest import launch
from tests.lti.simulator import INSTRUCTOR, LEARNER, NRPS_SCOPE


def member(user_id: str, role: str = LEARNER, status: str = "Active") -> dict:
    return {
        "user_id": user_id,
        "roles": [role],
        "status": status,
        "given_name": user_id.title(),
        "family_name": "Member",
        "email": f"{user_id}@lms.example",
    }


@pytest.fixture
def context(client, sim, platform) -> LtiContext:
    launch(client, sim, sim.claims(sub="teacher-1", role=INSTRUCTOR))
    return LtiContext.objects.get()


def students(course) -> set[str]:
    return set(
        LtiIdentity.objects.filter(
            user__enrolments__course=course, user__enrolments__role=Enrolment.Role.STUDENT
        ).values_list("sub", flat=True)
    )


def test_a_sync_enrols_the_lms_students_with_the_nrps_scope(sim, context):
    sim.members = [member("teacher-1", INSTRUCTOR), member("ana"), member("ben")]
    result = roster_sync(context_id=context.pk)
    assert (result.enrolled, result.deactivated) == (2, 0)  # the teacher was enrolled already
    assert students(context.course) == {"ana", "ben"}
    assert LtiIdentity.objects.get(sub="ana").user.email == "ana@lms.example"
    assert sim.recorded.token_requests[-1]["scopes"] == [NRPS_SCOPE]


def test_a_dropped_student_is_marked_inactive_and_keeps_their_work(
    sim, context, rubric_version, make_submission
):
    sim.members = [member("ana"), member("ben")]
    roster_sync(context_id=context.pk)
    ben = LtiIdentity.objects.get(sub="ben").user
    assignment = context.course.assignments.create(
        title="Essay", task="Write.", rubric_version=rubric_version
    )
    make_submission(assignment, ben)

    sim.members = [member("ana"), member("ben", status="Inactive")]
    result = roster_sync(context_id=context.pk)

    assert result.deactivated == 1
    assert students(context.course) == {"ana"}
    assert LtiMembership.objects.get(user=ben).active is False
    assert Submission.objects.filter(student=ben).count() == 1  # their work stays
    # Back in the LMS: active again.
    sim.members = [member("ana"), member("ben")]
    assert roster_sync(context_id=context.pk).enrolled == 1
    assert students(context.course) == {"ana", "ben"}


def test_a_student_missing_from_the_list_is_dropped_but_teachers_and_others_stay(
    sim, context, student
):
    Enrolment.objects.create(course=context.course, user=student, role=Enrolment.Role.STUDENT)
    sim.members = [member("ana")]
    roster_sync(context_id=context.pk)
    sim.members = []
    roster_sync(context_id=context.pk)
    # The teacher (launched) and the student enrolled by hand in AAIE are not the LMS's to drop.
    assert Enrolment.objects.filter(course=context.course, user=student).exists()
    assert Enrolment.objects.filter(
        course=context.course, role=Enrolment.Role.EDUCATOR, user__lti_identities__sub="teacher-1"
    ).exists()
    assert students(context.course) == set()


def test_a_failed_sync_is_kept_on_the_course(sim, context):
    context.memberships_url = f"{sim.url}/missing"
    context.save()
    with pytest.raises(ApplicationError):
        roster_sync(context_id=context.pk)
    context.refresh_from_db()
    assert "Roster sync failed" in context.roster_sync_error


def test_the_course_page_offers_the_sync_and_the_button_queues_it(
    sim, context, django_capture_on_commit_callbacks
):
    educator = LtiIdentity.objects.get(sub="teacher-1").user
    web = client_for(educator)
    page = web.get(f"/courses/{context.course_id}/").content.decode()
    assert "Sync roster" in page and "Biology 101" in page
    with django_capture_on_commit_callbacks() as callbacks:
        response = web.post(f"/lti/courses/{context.course_id}/sync-roster/")
    assert response.status_code == 302
    assert len(callbacks) == 1  # the task is sent once the request's work is committed


def test_only_the_courses_educators_may_sync(context, student, outsider_educator):
    url = f"/lti/courses/{context.course_id}/sync-roster/"
    assert client_for(student).post(url).status_code == 403
    # An educator of another course must not learn that the course exists.
    assert client_for(outsider_educator).post(url).status_code == 404


def test_the_periodic_task_syncs_every_linked_course_with_a_roster(context, monkeypatch):
    sent = []
    monkeypatch.setattr(lti_roster_sync, "delay", sent.append)
    LtiContext.objects.create(
        deployment=context.deployment,
        context_id="no-roster",
        course=Course.objects.create(code="NR1", title="No roster"),
    )
    lti_rosters_sync()
    assert sent == [context.pk]  # the course without a roster service is left alone
