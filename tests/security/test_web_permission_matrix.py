"""Every web route against every role, with objects from the educator's course.

Roles: anonymous, the owning student, a classmate, the course's educator, an educator of another
course (who must not learn that the objects exist: 404), and an admin. A route missing from the
matrix fails the test, so a new page cannot ship unchecked. The API has its own matrix in
tests/api/test_permissions.py; Django's admin checks staff itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLResolver, get_resolver, reverse

from grading.models import Evaluation, ModelProfile, UploadBatch
from grading.services.calibration import calibration_import_dataset
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.regrades import regrade_request_create
from grading.services.reviews import review_release, review_save
from grading.services.submissions import submission_create
from grading.services.uploads import upload_accept
from grading.services.workspace import comment_bank_add
from tests.calibration_files import dataset
from tests.conftest import client_for
from tests.ingest.builders import make_pdf

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]

ROLES = ("anonymous", "student", "classmate", "educator", "outsider", "admin")
LOGIN = "login"  # expected: a redirect to the login page
OK_OR_REDIRECT = "ok"  # expected: 200, or 302 to a page that is not the login page
# Routes served by other checks, not by this matrix.
NOT_IN_MATRIX_PREFIXES = ("admin/", "api/v1/")


@dataclass(frozen=True)
class Route:
    method: str
    args: Callable[[dict], list]
    expected: dict[str, int | str]


def everyone(outcome) -> dict[str, int | str]:
    return {role: outcome for role in ROLES}


def signed_in(outcome) -> dict[str, int | str]:
    return {"anonymous": LOGIN, **{role: outcome for role in ROLES[1:]}}


# An educator page about one object of the educator's course.
TEACHING = {
    "anonymous": LOGIN,
    "student": 403,
    "classmate": 403,
    "educator": OK_OR_REDIRECT,
    "outsider": 404,
    "admin": OK_OR_REDIRECT,
}
# The file a student handed in: not even a site admin who does not teach the course.
ORIGINAL = {
    "anonymous": LOGIN,
    "student": 200,
    "classmate": 404,
    "educator": 200,
    "outsider": 404,
    "admin": 404,
}
# An educator page that lists what the educator may see: outsiders see their own (empty) list.
EDUCATOR_LIST = {**TEACHING, "outsider": OK_OR_REDIRECT}
NO_ARGS: Callable[[dict], list] = lambda o: []  # noqa: E731
COURSE = lambda o: [o["course"].pk]  # noqa: E731
ASSIGNMENT = lambda o: [o["assignment"].pk]  # noqa: E731
SUBMISSION = lambda o: [o["submission"].pk]  # noqa: E731

MATRIX: dict[str, Route] = {
    "login": Route("get", NO_ARGS, everyone(200)),
    "logout": Route("post", NO_ARGS, everyone(302)),
    "password_reset": Route("get", NO_ARGS, everyone(200)),
    "password_reset_done": Route("get", NO_ARGS, everyone(200)),
    "password_reset_confirm": Route("get", lambda o: ["Mg", "bad-token"], everyone(200)),
    "password_reset_complete": Route("get", NO_ARGS, everyone(200)),
    "password_change": Route("get", NO_ARGS, signed_in(200)),
    "password_change_done": Route("get", NO_ARGS, signed_in(200)),
    "healthz": Route("get", NO_ARGS, everyone(200)),
    # The API's description is public on purpose: it holds no data.
    "api_schema": Route("get", NO_ARGS, everyone(200)),
    "api_docs": Route("get", NO_ARGS, everyone(200)),
    "api_tokens": Route("get", NO_ARGS, {**EDUCATOR_LIST}),
    "home": Route("get", NO_ARGS, signed_in(302)),
    "course_list": Route("get", NO_ARGS, EDUCATOR_LIST),
    # Only admins create courses unless AAIE_EDUCATORS_CREATE_COURSES (test_assignment_edit.py).
    "course_new": Route(
        "get", NO_ARGS, {**TEACHING, "educator": 403, "outsider": 403, "admin": 200}
    ),
    "course_detail": Route("get", COURSE, TEACHING),
    "roster_import": Route("get", COURSE, TEACHING),
    "assignment_new": Route("get", COURSE, TEACHING),
    "assignment_detail": Route("get", ASSIGNMENT, TEACHING),
    "assignment_edit": Route("get", ASSIGNMENT, TEACHING),
    "submission_upload": Route("get", ASSIGNMENT, TEACHING),
    "upload_batch_detail": Route("get", lambda o: [o["batch"].pk], TEACHING),
    "upload_batch_status": Route("get", lambda o: [o["batch"].pk], TEACHING),
    "unmatched_uploads": Route("get", ASSIGNMENT, TEACHING),
    "grade_assignment": Route("post", ASSIGNMENT, TEACHING),
    "grading_progress": Route("get", ASSIGNMENT, TEACHING),
    "grading_cancel": Route("post", ASSIGNMENT, TEACHING),
    "grading_retry_failed": Route("post", ASSIGNMENT, TEACHING),
    "gradebook_download": Route("get", ASSIGNMENT, TEACHING),
    "assignment_analytics": Route("get", ASSIGNMENT, TEACHING),
    "course_agreement": Route("get", COURSE, TEACHING),
    # Pooled over what the reader teaches: an outsider sees figures from their own courses.
    "rubric_version_agreement": Route(
        "get", lambda o: [o["assignment"].rubric_version_id], EDUCATOR_LIST
    ),
    "profile_agreement": Route("get", lambda o: [o["profile"].pk], EDUCATOR_LIST),
    "evaluation_new": Route("get", lambda o: [o["calibration_set"].pk], TEACHING),
    "evaluation_report": Route("get", lambda o: [o["evaluation"].pk], TEACHING),
    "evaluation_report_json": Route("get", lambda o: [o["evaluation"].pk], TEACHING),
    "evaluation_compare": Route(
        "get", lambda o: [o["evaluation"].pk, o["evaluation"].pk], TEACHING
    ),
    "release_selected": Route("post", ASSIGNMENT, TEACHING),
    "grade_submission": Route("post", SUBMISSION, TEACHING),
    "cancel_submission_run": Route("post", SUBMISSION, TEACHING),
    "submission_review": Route("get", SUBMISSION, TEACHING),
    "run_trace": Route("get", SUBMISSION, TEACHING),
    "regrade_list": Route("get", NO_ARGS, EDUCATOR_LIST),
    # The rubric library is shared by all educators; only its author or an admin edits a rubric.
    "rubric_list": Route("get", NO_ARGS, EDUCATOR_LIST),
    "rubric_import": Route("get", NO_ARGS, EDUCATOR_LIST),
    "rubric_imported": Route("get", lambda o: [o["assignment"].rubric_version_id], EDUCATOR_LIST),
    "rubric_edit": Route(
        "get", lambda o: [o["assignment"].rubric_version.rubric_id], {**TEACHING, "outsider": 403}
    ),
    "rubric_export": Route(
        "get", lambda o: [o["assignment"].rubric_version_id, "csv"], EDUCATOR_LIST
    ),
    "assignment_rubric": Route("get", ASSIGNMENT, TEACHING),
    "assignment_rubric_switch": Route("post", ASSIGNMENT, TEACHING),
    "rubric_trial": Route("post", ASSIGNMENT, TEACHING),
    "rubric_compare": Route(
        "get", lambda o: [o["assignment"].pk, o["assignment"].rubric_version_id], TEACHING
    ),
    "rubric_tuning": Route(
        "get", lambda o: [o["assignment"].pk, o["assignment"].rubric_version_id], TEACHING
    ),
    "regrade_answer": Route("get", lambda o: [o["regrade"].pk], TEACHING),
    "calibration_import": Route("get", COURSE, TEACHING),
    "calibration_set": Route("get", lambda o: [o["calibration_set"].pk], TEACHING),
    # The original file: the course's educators and the owning student, nobody else.
    "submission_original": Route("get", SUBMISSION, ORIGINAL),
    "submission_page": Route("get", lambda o: [o["pdf_submission"].pk, 1], ORIGINAL),
    # The review workspace: drafts and the assignment's comment bank.
    "review_draft": Route("post", SUBMISSION, TEACHING),
    "comment_bank_create": Route("post", ASSIGNMENT, TEACHING),
    "comment_bank_count": Route("post", lambda o: [o["bank_entry"].pk], TEACHING),
    # Roles go in order: the course's educator removes the comment, so the admin after them
    # finds nothing left (404); test_workspace.py checks that an admin may remove one.
    "comment_bank_remove": Route(
        "post", lambda o: [o["bank_entry"].pk], {**TEACHING, "admin": 404}
    ),
    # Student pages: only one's own work; an educator is no student of the course.
    "my_submissions": Route("get", NO_ARGS, signed_in(200)),
    "my_upload": Route(
        "get",
        ASSIGNMENT,
        {
            "anonymous": LOGIN,
            "student": 200,
            "classmate": 200,
            "educator": 404,
            "outsider": 404,
            "admin": 404,
        },
    ),
    # A student's own upload: its educators see it on the educator's pages.
    "my_upload_result": Route(
        "get",
        lambda o: [o["own_batch"].pk],
        {
            "anonymous": LOGIN,
            "student": 200,
            "classmate": 404,
            "educator": 404,
            "outsider": 404,
            "admin": 404,
        },
    ),
    "my_upload_status": Route(
        "get",
        lambda o: [o["own_batch"].pk],
        {
            "anonymous": LOGIN,
            "student": 200,
            "classmate": 404,
            "educator": 404,
            "outsider": 404,
            "admin": 404,
        },
    ),
    "my_feedback": Route(
        "get",
        SUBMISSION,
        {
            "anonymous": LOGIN,
            "student": 200,
            "classmate": 404,
            "educator": 404,
            "outsider": 404,
            "admin": 404,
        },
    ),
    # LTI (grading/lti): public keys and Canvas's JSON are for LMSs to fetch; login and launch
    # refuse anything that is not a platform's request; deep linking needs a launch first.
    "lti_jwks": Route("get", NO_ARGS, everyone(200)),
    "lti_canvas_json": Route("get", NO_ARGS, everyone(200)),
    "lti_configuration": Route(
        "get", NO_ARGS, {**{role: 403 for role in ROLES}, "anonymous": LOGIN, "admin": 200}
    ),
    "lti_login": Route("get", NO_ARGS, everyone(400)),
    "lti_launch": Route("post", NO_ARGS, everyone(403)),
    "lti_deep_link": Route("get", NO_ARGS, signed_in(404)),
    "lti_roster_sync": Route("post", COURSE, TEACHING),
    "lti_passback_retry": Route("post", ASSIGNMENT, TEACHING),
}


def web_route_names() -> set[str]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif not (prefix + str(pattern.pattern)).startswith(NOT_IN_MATRIX_PREFIXES):
                yield pattern.name

    return set(walk(get_resolver().url_patterns))


def test_every_web_route_is_in_the_matrix():
    assert web_route_names() == set(MATRIX), (
        "Add new routes to MATRIX with the outcome each role must get."
    )


@pytest.fixture
def objects(course, assignment, submission, student, educator, classmate):
    """A released, regraded submission and an upload batch, all in the educator's course."""
    assignment.students_may_upload = True
    assignment.save()
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    submission.refresh_from_db()
    points = {r.criterion_id: r.points for r in submission.latest_run.results.all()}
    review = review_save(
        submission=submission, actor=educator, points=points, comments={}, comment=""
    )
    review_release(review=review, actor=educator)
    regrade = regrade_request_create(submission=submission, student=student, reason="Please")
    client_for(educator).post(
        reverse("submission_upload", args=[assignment.pk]),
        {"student": classmate.pk, "files": [SimpleUploadedFile("c.txt", b"classmate text")]},
    )
    calibration_set = calibration_import_dataset(
        course=course, data=dataset(), created_by=educator
    ).calibration_set
    return {
        "calibration_set": calibration_set,
        "evaluation": Evaluation.objects.create(
            calibration_set=calibration_set, profile_name="default (settings)"
        ),
        "profile": ModelProfile.objects.create(name="Scripted", backend="scripted", model="s"),
        "course": course,
        "assignment": assignment,
        "submission": submission,
        "regrade": regrade,
        "batch": UploadBatch.objects.get(uploaded_by=educator),
        "own_batch": upload_accept(
            assignment=assignment,
            uploads=[SimpleUploadedFile("mine.txt", b"my text")],
            uploaded_by=student,
            student=student,
        ),
        "pdf_submission": submission_create(
            assignment=assignment,
            student=student,
            upload=SimpleUploadedFile("essay.pdf", make_pdf(["Recursion needs a base case."])),
            uploaded_by=educator,
        ),
        "bank_entry": comment_bank_add(
            assignment=assignment, text="Name the base case.", created_by=educator
        ),
    }


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_role_gets_what_the_matrix_says(name, objects, users_by_role):
    route = MATRIX[name]
    url = reverse(name, args=route.args(objects))
    wrong = []
    for role in ROLES:
        response = getattr(client_for(users_by_role[role]), route.method)(url)
        expected = route.expected[role]
        location = response.get("Location", "")
        if expected == LOGIN:
            ok = response.status_code == 302 and location.startswith(reverse("login"))
        elif expected == OK_OR_REDIRECT:
            ok = response.status_code == 200 or (
                response.status_code == 302 and not location.startswith(reverse("login"))
            )
        else:
            ok = response.status_code == expected
        if not ok:
            wrong.append(f"{role}: got {response.status_code} {location}, expected {expected}")
    assert not wrong, f"{route.method.upper()} {url}\n" + "\n".join(wrong)
