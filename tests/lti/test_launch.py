"""Launches through the platform simulator: sign-in, roles, landing pages, and every refusal."""

from __future__ import annotations

import time

import pytest
from jwcrypto.jwk import JWK

from grading.lti.models import LtiContext, LtiIdentity, LtiResourceLink
from grading.models import Enrolment
from grading.services.reviews import review_release, review_save
from tests.lti.conftest import launch, login_redirect
from tests.lti.simulator import INSTRUCTOR, LEARNER, PlatformSimulator

CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"


def test_an_educator_launch_signs_in_links_the_course_and_lands_on_the_course(
    client, sim, platform
):
    response = launch(client, sim, sim.claims(sub="teacher-1", role=INSTRUCTOR))

    context = LtiContext.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/courses/{context.course_id}/"  # no assignment linked yet
    identity = LtiIdentity.objects.get(issuer=sim.issuer, sub="teacher-1")
    assert not identity.user.has_usable_password()  # LMS users never get an AAIE password
    assert identity.user.first_name == "Teacher-1"
    assert Enrolment.objects.get(user=identity.user).role == Enrolment.Role.EDUCATOR
    assert context.course.title == "Biology 101"
    assert context.memberships_url == f"{sim.url}/nrps/course-ctx-1"
    # The session works: the course page opens for the new educator.
    assert client.get(response["Location"]).status_code == 200


def test_a_second_launch_reuses_the_same_user(client, sim, platform):
    launch(client, sim, sim.claims(sub="teacher-1", role=INSTRUCTOR))
    client.logout()
    launch(client, sim, sim.claims(sub="teacher-1", role=INSTRUCTOR))
    assert LtiIdentity.objects.count() == 1


def test_an_educator_lands_on_the_assignment_of_a_deep_linked_link(
    client, sim, platform, rubric_version
):
    launch(client, sim, sim.claims(sub="teacher-1", role=INSTRUCTOR))
    course = LtiContext.objects.get().course
    assignment = course.assignments.create(
        title="Essay", task="Write.", rubric_version=rubric_version
    )
    claims = sim.claims(sub="teacher-1", role=INSTRUCTOR)
    claims[CUSTOM] = {"aaie_assignment_id": str(assignment.pk)}
    response = launch(client, sim, claims)
    assert response["Location"] == f"/assignments/{assignment.pk}/"
    link = LtiResourceLink.objects.get()
    assert link.assignment == assignment
    assert link.lineitem_url == f"{sim.url}/lineitems/1"


def test_a_link_cannot_open_an_assignment_of_another_course(client, sim, platform, assignment):
    claims = sim.claims(sub="teacher-1", role=INSTRUCTOR)
    claims[CUSTOM] = {"aaie_assignment_id": str(assignment.pk)}  # CS101, not the LMS course
    response = launch(client, sim, claims)
    assert LtiResourceLink.objects.get().assignment is None
    assert response["Location"] == f"/courses/{LtiContext.objects.get().course_id}/"


@pytest.fixture
def linked_assignment(client, sim, platform, rubric_version):
    """An assignment of the LMS course, placed by the simulator's resource link."""
    launch(client, sim, sim.claims(sub="teacher-1", role=INSTRUCTOR))
    client.logout()
    course = LtiContext.objects.get().course
    return course.assignments.create(
        title="Essay", task="Write.", rubric_version=rubric_version, students_may_upload=True
    )


def student_claims(sim: PlatformSimulator, assignment) -> dict:
    claims = sim.claims(sub="learner-1", role=LEARNER)
    claims[CUSTOM] = {"aaie_assignment_id": str(assignment.pk)}
    return claims


def test_a_student_launch_lands_on_the_upload_page(client, sim, linked_assignment):
    response = launch(client, sim, student_claims(sim, linked_assignment))
    assert response["Location"] == f"/me/assignments/{linked_assignment.pk}/upload/"
    user = LtiIdentity.objects.get(sub="learner-1").user
    enrolment = Enrolment.objects.get(user=user)
    assert (enrolment.role, enrolment.course) == (
        Enrolment.Role.STUDENT,
        linked_assignment.course,
    )
    assert client.get(response["Location"]).status_code == 200


def test_a_student_with_a_released_grade_lands_on_the_feedback(
    client, sim, linked_assignment, make_submission, educator
):
    launch(client, sim, student_claims(sim, linked_assignment))
    client.logout()
    student = LtiIdentity.objects.get(sub="learner-1").user
    submission = make_submission(linked_assignment, student)
    criteria = linked_assignment.rubric_version.criteria.all()
    review = review_save(
        submission=submission,
        actor=educator,
        points={c.pk: 1 for c in criteria},
        comments={},
        comment="Good.",
    )
    review_release(review=review, actor=educator)

    response = launch(client, sim, student_claims(sim, linked_assignment))
    assert response["Location"] == f"/me/submissions/{submission.pk}/"
    assert client.get(response["Location"]).status_code == 200


def test_an_observer_is_refused(client, sim, platform):
    claims = sim.claims(
        sub="parent", role="http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"
    )
    response = launch(client, sim, claims)
    assert response.status_code == 403
    assert not LtiIdentity.objects.exists()


# --- Refusals: each would let someone in who should not be -----------------------------------


def assert_refused(response, reason: str) -> None:
    assert response.status_code == 403
    assert reason in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_a_token_signed_with_another_key_is_refused(client, sim, platform):
    forger = JWK.generate(kty="RSA", size=2048)
    response = launch(client, sim, sim.claims(sub="x", role=INSTRUCTOR), key=forger)
    assert_refused(response, "Signature verification failed")


def test_a_token_for_another_tool_is_refused(client, sim, platform):
    response = launch(client, sim, sim.claims(sub="x", role=INSTRUCTOR, aud="another-tool"))
    assert_refused(response, "Registration not found")


def test_a_token_with_several_audiences_must_name_aaie_as_azp(client, sim, platform):
    claims = sim.claims(sub="x", role=INSTRUCTOR, aud=["aaie-client", "another-tool"])
    response = launch(client, sim, {**claims, "azp": "another-tool"})
    assert_refused(response, "azp")


def test_a_replayed_launch_is_refused(client, sim, platform):
    claims = sim.claims(sub="x", role=INSTRUCTOR)
    auth = login_redirect(client, sim, claims)
    form = {"id_token": sim.launch_token(auth, claims), "state": auth["state"]}
    assert client.post("/lti/launch/", form).status_code == 302
    client.logout()
    assert_refused(client.post("/lti/launch/", form), "Invalid Nonce")


def test_an_expired_token_is_refused(client, sim, platform):
    past = int(time.time()) - 3600
    response = launch(client, sim, sim.claims(sub="x", role=INSTRUCTOR, iat=past, exp=past + 60))
    assert_refused(response, "Signature has expired")


def test_a_token_without_expiry_is_refused(client, sim, platform):
    claims = sim.claims(sub="x", role=INSTRUCTOR)
    del claims["exp"]
    assert_refused(launch(client, sim, claims), "exp")


def test_an_unknown_deployment_is_refused(client, sim, platform):
    claims = sim.claims(sub="x", role=INSTRUCTOR)
    claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] = "not-registered"
    assert_refused(launch(client, sim, claims), "Unable to find deployment")


def test_a_launch_without_the_state_cookie_is_refused(client, sim, platform):
    claims = sim.claims(sub="x", role=INSTRUCTOR)
    auth = login_redirect(client, sim, claims)
    client.cookies.clear()  # another browser: it never started this login
    response = client.post(
        "/lti/launch/", {"id_token": sim.launch_token(auth, claims), "state": auth["state"]}
    )
    assert_refused(response, "State not found")


def test_a_login_from_an_unregistered_platform_is_refused(client, sim):
    response = client.get(
        "/lti/login/",
        {"iss": sim.issuer, "login_hint": "h", "target_link_uri": "x", "client_id": "aaie-client"},
    )
    assert response.status_code == 400
