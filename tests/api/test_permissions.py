"""Every endpoint against every role, with the web's rules.

Roles: anonymous; the student who owns the submission; a classmate (another student of the
course); the course's educator; an educator of another course (outsider); an admin. Educator-only
endpoints answer 403 to students; another course's objects answer 404 as if they did not exist;
a student sees only their own submission, and its review only once released.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from grading.models import Evaluation
from grading.services.regrades import regrade_request_create
from grading.services.uploads import upload_accept
from tests.api.conftest import api_for
from tests.calibration import make_calibration_set
from tests.calibration_files import dataset

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]

ROLES = ("anonymous", "student", "classmate", "educator", "outsider", "admin")


@dataclass(frozen=True)
class Call:
    method: str
    route: str
    args: Callable[[dict], list] = lambda objects: []
    body: Callable[[dict], dict] | None = None
    multipart: bool = False


def _regrade(objects: dict):
    return regrade_request_create(
        submission=objects["submission"], student=objects["student"], reason="Please look again."
    )


def _rubric_body(objects: dict) -> dict:
    return {
        "name": "Essay",
        "criteria": [
            {
                "title": "Argument",
                "max_points": 2,
                "levels": [{"label": "Good", "points": 2}, {"label": "Weak", "points": 0}],
            }
        ],
    }


def _review_body(objects: dict) -> dict:
    results = objects["submission"].latest_run.results.all()
    return {"criteria": [{"criterion_id": r.criterion_id, "points": r.points} for r in results]}


def _assignment_body(objects: dict) -> dict:
    return {"title": "New", "task": "Do it.", "rubric_version": objects["rubric_version"].pk}


def _upload_body(objects: dict) -> dict:
    return {"files": [SimpleUploadedFile("b.txt", b"An answer.")], "student": "student"}


def _dataset(objects: dict) -> dict:
    criterion = {
        "criterion_id": "c",
        "name": "Clarity",
        "description": "",
        "performance_descriptors": {"excellent": "Clear.", "poor": "Unclear."},
    }
    return {"data": {"rubric": {"rubric_id": "r1", "criteria": [criterion]}, "prompt": "Write."}}


def _calibration_body(objects: dict) -> dict:
    body = json.dumps(dataset(), ensure_ascii=False).encode()
    return {"dataset": SimpleUploadedFile("set.json", body)}


A, S, RUB = "assignment", "submission", "rubric_version"
CALLS: dict[str, tuple[Call, dict[str, int]]] = {
    # name: (call, expected status per role, anonymous always 401)
    "courses list": (
        Call("get", "api_courses"),
        dict(student=200, classmate=200, educator=200, outsider=200, admin=200),
    ),
    "courses create": (
        Call("post", "api_courses", body=lambda o: {"code": "N1", "title": "New"}),
        dict(student=403, classmate=403, educator=201, outsider=201, admin=201),
    ),
    "course detail": (
        Call("get", "api_course", lambda o: [o["course"].pk]),
        dict(student=200, classmate=200, educator=200, outsider=404, admin=200),
    ),
    "enrolments list": (
        Call("get", "api_enrolments", lambda o: [o["course"].pk]),
        dict(student=403, classmate=403, educator=200, outsider=404, admin=200),
    ),
    "enrolments set": (
        Call(
            "post",
            "api_enrolments",
            lambda o: [o["course"].pk],
            lambda o: {"username": "classmate", "role": "student"},
        ),
        dict(student=403, classmate=403, educator=200, outsider=404, admin=200),
    ),
    "assignments list": (
        Call("get", "api_assignments", lambda o: [o["course"].pk]),
        dict(student=200, classmate=200, educator=200, outsider=404, admin=200),
    ),
    "assignments create": (
        Call("post", "api_assignments", lambda o: [o["course"].pk], _assignment_body),
        dict(student=403, classmate=403, educator=201, outsider=404, admin=201),
    ),
    "assignment detail": (
        Call("get", "api_assignment", lambda o: [o[A].pk]),
        dict(student=200, classmate=200, educator=200, outsider=404, admin=200),
    ),
    "course agreement": (
        Call("get", "api_course_agreement", lambda o: [o["course"].pk]),
        dict(student=403, classmate=403, educator=200, outsider=404, admin=200),
    ),
    "evaluations create": (
        Call("post", "api_evaluations", lambda o: [o["calibration_set"].pk], lambda o: {}),
        dict(student=403, classmate=403, educator=202, outsider=404, admin=202),
    ),
    "evaluation detail": (
        Call("get", "api_evaluation", lambda o: [o["evaluation"].pk]),
        dict(student=403, classmate=403, educator=200, outsider=404, admin=200),
    ),
    "rubrics list": (
        Call("get", "api_rubrics"),
        dict(student=403, classmate=403, educator=200, outsider=200, admin=200),
    ),
    "rubrics create": (
        Call("post", "api_rubrics", body=_rubric_body),
        dict(student=403, classmate=403, educator=201, outsider=201, admin=201),
    ),
    "rubric detail": (
        Call("get", "api_rubric", lambda o: [o[RUB].rubric_id]),
        dict(student=403, classmate=403, educator=200, outsider=200, admin=200),
    ),
    "rubric new version": (
        Call(
            "post",
            "api_rubric_versions",
            lambda o: [o[RUB].rubric_id],
            lambda o: {"criteria": _rubric_body(o)["criteria"]},
        ),
        dict(student=403, classmate=403, educator=201, outsider=403, admin=201),
    ),
    "rubric version detail": (
        Call("get", "api_rubric_version", lambda o: [o[RUB].pk]),
        dict(student=403, classmate=403, educator=200, outsider=200, admin=200),
    ),
    "rubric version export": (
        Call("get", "api_rubric_version_export", lambda o: [o[RUB].pk]),
        dict(student=403, classmate=403, educator=200, outsider=200, admin=200),
    ),
    "rubric version dataset export": (
        Call("get", "api_rubric_version_export_dataset", lambda o: [o[RUB].pk]),
        dict(student=403, classmate=403, educator=200, outsider=200, admin=200),
    ),
    "rubric import": (
        Call("post", "api_rubric_import", body=_dataset),
        dict(student=403, classmate=403, educator=201, outsider=201, admin=201),
    ),
    "calibration sets list": (
        Call("get", "api_calibration_sets", lambda o: [o["course"].pk]),
        dict(student=403, classmate=403, educator=200, outsider=404, admin=200),
    ),
    "calibration sets import": (
        Call(
            "post",
            "api_calibration_sets",
            lambda o: [o["course"].pk],
            _calibration_body,
            multipart=True,
        ),
        dict(student=403, classmate=403, educator=201, outsider=404, admin=201),
    ),
    "rubric import preview": (
        Call("post", "api_rubric_import_preview", body=_dataset),
        dict(student=403, classmate=403, educator=200, outsider=200, admin=200),
    ),
    "submissions list": (
        Call("get", "api_submissions", lambda o: [o[A].pk]),
        dict(student=200, classmate=200, educator=200, outsider=404, admin=200),
    ),
    "submissions upload": (
        Call("post", "api_submissions", lambda o: [o[A].pk], _upload_body, multipart=True),
        # the assignment does not let students upload
        dict(student=403, classmate=403, educator=202, outsider=404, admin=202),
    ),
    "upload detail": (
        Call("get", "api_upload", lambda o: [o["batch"].pk]),
        # the student's own upload; their classmate's is not theirs to see
        dict(student=200, classmate=404, educator=200, outsider=404, admin=200),
    ),
    "submission detail": (
        Call("get", "api_submission", lambda o: [o[S].pk]),
        dict(student=200, classmate=404, educator=200, outsider=404, admin=200),
    ),
    "grading runs list": (
        Call("get", "api_submission_runs", lambda o: [o[S].pk]),
        dict(student=403, classmate=403, educator=200, outsider=404, admin=200),
    ),
    "grading run start": (
        Call("post", "api_submission_runs", lambda o: [o[S].pk]),
        dict(student=403, classmate=403, educator=202, outsider=404, admin=202),
    ),
    "grading run detail": (
        Call("get", "api_run", lambda o: [o[S].latest_run_id]),
        dict(student=403, classmate=403, educator=200, outsider=404, admin=200),
    ),
    # The run has ended, so the educator's cancel is refused as a conflict, not a permission.
    "grading run cancel": (
        Call("post", "api_run_cancel", lambda o: [o[S].latest_run_id]),
        dict(student=403, classmate=403, educator=400, outsider=404, admin=400),
    ),
    "assignment grade all": (
        Call("post", "api_assignment_grade", lambda o: [o[A].pk]),
        dict(student=403, classmate=403, educator=202, outsider=404, admin=202),
    ),
    "assignment cancel grading": (
        Call("post", "api_assignment_grading_cancel", lambda o: [o[A].pk]),
        dict(student=403, classmate=403, educator=200, outsider=404, admin=200),
    ),
    "assignment retry failed": (
        Call("post", "api_assignment_grading_retry", lambda o: [o[A].pk]),
        dict(student=403, classmate=403, educator=202, outsider=404, admin=202),
    ),
    "assignment progress": (
        Call("get", "api_assignment_progress", lambda o: [o[A].pk]),
        dict(student=403, classmate=403, educator=200, outsider=404, admin=200),
    ),
    "gradebook json": (
        Call("get", "api_gradebook", lambda o: [o[A].pk]),
        dict(student=403, classmate=403, educator=200, outsider=404, admin=200),
    ),
    "gradebook csv": (
        Call("get", "api_gradebook_csv", lambda o: [o[A].pk]),
        dict(student=403, classmate=403, educator=200, outsider=404, admin=200),
    ),
    "analytics": (
        Call("get", "api_analytics", lambda o: [o[A].pk]),
        dict(student=403, classmate=403, educator=200, outsider=404, admin=200),
    ),
    "review read (released)": (
        Call("get", "api_review", lambda o: [o[S].pk]),
        dict(student=200, classmate=404, educator=200, outsider=404, admin=200),
    ),
    "review save": (
        Call("put", "api_review", lambda o: [o[S].pk], _review_body),
        dict(student=403, classmate=403, educator=200, outsider=404, admin=200),
    ),
    "review approve": (
        Call("post", "api_review_approve", lambda o: [o[S].pk]),
        dict(student=403, classmate=403, educator=200, outsider=404, admin=200),
    ),
    "review release": (
        Call("post", "api_review_release", lambda o: [o[S].pk]),
        dict(student=403, classmate=403, educator=200, outsider=404, admin=200),
    ),
    "regrade request create": (
        Call(
            "post",
            "api_regrade_create",
            lambda o: [o[S].pk],
            lambda o: {"reason": "The example works."},
        ),
        dict(student=201, classmate=404, educator=403, outsider=404, admin=403),
    ),
    "regrade requests list": (
        Call("get", "api_regrades"),
        dict(student=200, classmate=200, educator=200, outsider=200, admin=200),
    ),
    "regrade request detail": (
        Call("get", "api_regrade", lambda o: [_regrade(o).pk]),
        dict(student=200, classmate=404, educator=200, outsider=404, admin=200),
    ),
    "regrade request answer": (
        Call(
            "post",
            "api_regrade_answer",
            lambda o: [_regrade(o).pk],
            lambda o: {"response": "Looked again; it stands."},
        ),
        dict(student=403, classmate=403, educator=200, outsider=404, admin=200),
    ),
}


def test_every_api_route_is_in_the_matrix():
    # A new route fails here until its permissions are written down above.
    from grading.api.urls import urlpatterns

    names = {pattern.name for pattern in urlpatterns} - {"api_not_found"}
    covered = {call.route for call, _ in CALLS.values()}
    assert names <= covered, names - covered


@pytest.fixture
def objects(released, course, assignment, rubric_version, student, educator, outsider_educator):
    calibration_set = make_calibration_set(course, rubric_version, educator, [{1: 4, 2: 2}])
    return {
        "calibration_set": calibration_set,
        "evaluation": Evaluation.objects.create(
            calibration_set=calibration_set, profile_name="default (settings)"
        ),
        "course": course,
        "assignment": assignment,
        "submission": released,
        "rubric_version": rubric_version,
        "student": student,
        "batch": upload_accept(
            assignment=assignment,
            uploads=[SimpleUploadedFile("mine.txt", b"my text")],
            uploaded_by=student,
            student=student,
        ),
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(CALLS))
def test_each_role_gets_what_the_web_gives_it(name, role, objects, users_by_role):
    call, expected = CALLS[name]
    url = reverse(call.route, args=call.args(objects))
    body = call.body(objects) if call.body else {}
    client = api_for(users_by_role[role])
    response = getattr(client, call.method)(
        url, body, format="multipart" if call.multipart else "json"
    )
    want = 401 if role == "anonymous" else expected[role]
    assert response.status_code == want, (role, name, response.content[:300])
    if want >= 400:
        assert "error" in response.json()
