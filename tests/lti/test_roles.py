"""LMS roles → AAIE course roles: teaching roles teach, learners learn, the rest stay out."""

import pytest

from grading.errors import ApplicationError
from grading.lti.launch import course_role

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ([LIS + "membership#Instructor"], "educator"),
        ([LIS + "membership/Instructor#TeachingAssistant"], "educator"),
        ([LIS + "membership#ContentDeveloper"], "educator"),
        (["Instructor"], "educator"),  # the short form LTI 1.3 allows for context roles
        ([LIS + "membership#Learner", LIS + "institution/person#Student"], "student"),
        ([LIS + "membership#Learner", LIS + "membership#Instructor"], "educator"),
    ],
)
def test_roles_map_to_course_roles(roles, expected):
    assert course_role(roles) == expected


@pytest.mark.parametrize(
    "roles",
    [
        [LIS + "membership#Mentor"],
        # An institution-wide instructor is no instructor of this course.
        [LIS + "institution/person#Instructor"],
        [LIS + "system/person#Administrator"],
        [],
    ],
)
def test_other_roles_may_not_use_aaie(roles):
    with pytest.raises(ApplicationError):
        course_role(roles)
