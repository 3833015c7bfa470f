"""Schema-driven fuzzing: schemathesis sends generated requests to the running app, signed in as
an educator and as a student, and checks every response against the OpenAPI document.

Each operation is fuzzed with valid and with invalid input, once against the ids of real objects
(a course, assignment, graded and released submission, run, rubric, regrade request), so the
requests reach past the lookups, and once with generated ids. Bounded and repeatable: a few
examples per operation, derandomized, no example database.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from grading.services.regrades import regrade_request_create

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("scripted_model")]

EXAMPLES_PER_OPERATION = 4
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
REQUEST_TIMEOUT_SECONDS = 30
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def real_ids(released, student, course, assignment, rubric_version) -> dict[str, int]:
    regrade = regrade_request_create(submission=released, student=student, reason="Look again.")
    return {
        "course_id": course.pk,
        "assignment_id": assignment.pk,
        "submission_id": released.pk,
        "run_id": released.latest_run_id,
        "rubric_id": rubric_version.rubric_id,
        "version_id": rubric_version.pk,
        "regrade_id": regrade.pk,
    }


def fuzz_operation(operation, *, base_url: str, headers: dict, path_ids: dict | None) -> None:
    names = {parameter.name for parameter in operation.path_parameters}
    fixed = {name: value for name, value in (path_ids or {}).items() if name in names} or None
    modes = [GenerationMode.POSITIVE]
    # Invalid input needs something to break besides the path, unless the path is generated.
    if not fixed or len(operation.query) or len(operation.body):
        modes.append(GenerationMode.NEGATIVE)
    for mode in modes:

        @FUZZ_SETTINGS
        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
        def check(case):
            case.call_and_validate(
                base_url=base_url, headers=headers, checks=CHECKS, timeout=REQUEST_TIMEOUT_SECONDS
            )

        check()


@pytest.mark.parametrize("role", ["educator", "student"])
def test_no_server_errors_and_every_response_fits_the_schema(
    role, request, transactional_db, live_server, real_ids, monkeypatch
):
    # Hundreds of requests in seconds: throttling would turn most of them into 429s.
    monkeypatch.setitem(UserRateThrottle.THROTTLE_RATES, "user", None)
    monkeypatch.setitem(AnonRateThrottle.THROTTLE_RATES, "anon", None)
    user = request.getfixturevalue(role)
    headers = {"Authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"}
    document = APIClient().get(reverse("api_schema"), HTTP_ACCEPT="application/json").json()
    schema = schemathesis.openapi.from_dict(document)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for path_ids in (real_ids, None):
            try:
                fuzz_operation(
                    operation, base_url=live_server.url, headers=headers, path_ids=path_ids
                )
            except (Exception, BaseExceptionGroup) as error:  # report every operation's failure
                failures.append(
                    f"{operation.label} ({'real' if path_ids else 'generated'} ids): {error}"[:3000]
                )
    assert not failures, "\n\n".join(failures)
