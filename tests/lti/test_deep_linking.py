"""Deep linking: the educator picks or creates an assignment; the LMS gets a signed link with a
line item scored out of the rubric's total."""

from __future__ import annotations

import urllib.request
from html.parser import HTMLParser
from urllib.parse import urlencode

from grading.lti.models import LtiContext
from grading.models import Assignment
from tests.lti.conftest import launch
from tests.lti.simulator import INSTRUCTOR, LEARNER

DL_CLAIMS = "https://purl.imsglobal.org/spec/lti-dl/claim/"


class FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == "lti-deep-link-return":
            self.action = attrs["action"]
        if tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value", "")


def return_to_platform(response) -> None:
    """Do what the page's script does: post the JWT to the platform."""
    reader = FormReader()
    reader.feed(response.content.decode())
    body = urlencode({"JWT": reader.fields["JWT"]}).encode()
    with urllib.request.urlopen(reader.action, data=body, timeout=10) as answer:
        assert answer.status == 200


def deep_link_launch(client, sim):
    response = launch(
        client,
        sim,
        sim.claims(sub="teacher-1", role=INSTRUCTOR, message_type="LtiDeepLinkingRequest"),
    )
    assert response["Location"] == "/lti/deep-link/"
    return LtiContext.objects.get().course


def test_an_educator_picks_an_assignment_and_the_lms_gets_a_link_with_a_line_item(
    client, sim, platform, rubric_version
):
    course = deep_link_launch(client, sim)
    assignment = course.assignments.create(
        title="Essay", task="Write.", rubric_version=rubric_version
    )
    page = client.get("/lti/deep-link/")
    assert "Essay" in page.content.decode()

    return_to_platform(client.post("/lti/deep-link/", {"assignment": assignment.pk}))

    [reply] = sim.recorded.deep_link_replies  # verified against AAIE's published JWKS
    assert reply["iss"] == "aaie-client"
    assert reply[DL_CLAIMS + "data"] == "opaque-platform-data"
    assert (
        reply["https://purl.imsglobal.org/spec/lti/claim/message_type"] == "LtiDeepLinkingResponse"
    )
    [item] = reply[DL_CLAIMS + "content_items"]
    assert item["type"] == "ltiResourceLink"
    assert item["url"] == "http://testserver/lti/launch/"
    assert item["custom"] == {"aaie_assignment_id": str(assignment.pk)}
    # The rubric scores 4 + 2: the LMS column must be out of 6 for passback to mean anything.
    assert item["lineItem"] == {
        "scoreMaximum": 6,
        "label": "Essay",
        "resourceId": f"aaie-assignment-{assignment.pk}",
    }


def test_an_educator_creates_an_assignment_while_linking(client, sim, platform, rubric_version):
    course = deep_link_launch(client, sim)
    response = client.post(
        "/lti/deep-link/",
        {"title": "Lab report", "task": "Report on the lab.", "rubric_version": rubric_version.pk},
    )
    return_to_platform(response)
    created = Assignment.objects.get(course=course, title="Lab report")
    [reply] = sim.recorded.deep_link_replies
    assert reply[DL_CLAIMS + "content_items"][0]["custom"]["aaie_assignment_id"] == str(created.pk)


def test_a_new_assignment_needs_its_fields(client, sim, platform):
    deep_link_launch(client, sim)
    response = client.post("/lti/deep-link/", {"title": "Only a title"})
    assert response.status_code == 200
    assert "Needed for a new assignment." in response.content.decode()


def test_a_student_cannot_deep_link(client, sim, platform):
    response = launch(
        client, sim, sim.claims(sub="learner", role=LEARNER, message_type="LtiDeepLinkingRequest")
    )
    assert response.status_code == 403
    assert client.get("/lti/deep-link/").status_code in (302, 404)
