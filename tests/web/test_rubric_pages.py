"""The rubric library pages: list, edit as a new version, import and export."""

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from grading.models import GradingRun, Rubric, RubricVersion
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.reviews import review_approve, review_save, submission_opened
from grading.services.rubric_library import CSV_COLUMNS
from grading.services.rubrics import rubric_create, rubric_version_create
from tests.conftest import client_for, two_criteria

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("course")]  # makes the educator


def editor_rows(*rows: dict, initial: int = 0) -> dict:
    data = {
        "criteria-TOTAL_FORMS": str(len(rows)),
        "criteria-INITIAL_FORMS": str(initial),
        "criteria-MIN_NUM_FORMS": "0",
        "criteria-MAX_NUM_FORMS": "30",
    }
    for index, row in enumerate(rows):
        data.update({f"criteria-{index}-{name}": value for name, value in row.items()})
    return data


def test_the_library_lists_versions_and_shows_which_are_locked(
    educator, outsider_educator, submission, rubric_version
):
    grading_run_request(submission=submission, requested_by=educator)
    own = client_for(educator).get(reverse("rubric_list")).content.decode()
    assert "Short answer" in own and "Locked: used by a grade" in own
    assert reverse("rubric_edit", args=[rubric_version.rubric_id]) in own
    other = client_for(outsider_educator).get(reverse("rubric_list")).content.decode()
    assert "Short answer" in other  # the library is shared, so others may reuse it
    assert reverse("rubric_edit", args=[rubric_version.rubric_id]) not in other


def test_the_editor_starts_from_the_newest_version(educator, rubric_version):
    page = client_for(educator).get(reverse("rubric_edit", args=[rubric_version.rubric_id]))
    text = page.content.decode()
    assert "Correctness" in text and "Excellent | 4 | Fully correct." in text
    assert "Clear | 2\n" in text or "Clear | 2<" in text


def test_saving_makes_a_new_version_in_the_chosen_order(educator, rubric_version, submission):
    grading_run_request(submission=submission, requested_by=educator)
    response = client_for(educator).post(
        reverse("rubric_edit", args=[rubric_version.rubric_id]),
        editor_rows(
            {
                "order": "2",
                "title": "Correctness",
                "max_points": "4",
                "levels": "Right | 4\nNo | 0",
            },
            {
                "order": "1",
                "title": "Clarity",
                "max_points": "2",
                "levels": "Clear | 2\nUnclear | 0",
            },
            {"order": "", "title": "", "max_points": "", "levels": ""},
        ),
    )
    assert response.status_code == 302
    versions = list(RubricVersion.objects.filter(rubric=rubric_version.rubric).order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    new = versions[1]
    assert [c.title for c in new.criteria.order_by("order")] == ["Clarity", "Correctness"]
    # The locked version is untouched.
    assert [c.title for c in versions[0].criteria.order_by("order")] == ["Correctness", "Clarity"]
    assert [lv.label for lv in versions[0].criteria.get(order=1).levels.all()] == [
        "Excellent",
        "Partial",
        "Wrong",
    ]


def test_an_invalid_edit_shows_why_and_saves_nothing(educator, rubric_version):
    response = client_for(educator).post(
        reverse("rubric_edit", args=[rubric_version.rubric_id]),
        editor_rows(
            {"order": "1", "title": "Only", "max_points": "2", "levels": "One | 5\nNo | 0"}
        ),
    )
    assert response.status_code == 200
    assert "outside 0–2" in response.content.decode()
    assert RubricVersion.objects.filter(rubric=rubric_version.rubric).count() == 1


def test_only_the_author_or_an_admin_edits(outsider_educator, admin_user, rubric_version):
    url = reverse("rubric_edit", args=[rubric_version.rubric_id])
    rows = editor_rows({"title": "X", "max_points": "1", "levels": "Yes | 1\nNo | 0"})
    assert client_for(outsider_educator).post(url, rows).status_code == 403
    assert RubricVersion.objects.filter(rubric=rubric_version.rubric).count() == 1
    assert client_for(admin_user).post(url, rows).status_code == 302
    assert RubricVersion.objects.filter(rubric=rubric_version.rubric).count() == 2


def import_file(user, file_name: str, content: bytes, **fields):
    return client_for(user).post(
        reverse("rubric_import"),
        {
            "file": SimpleUploadedFile(file_name, content),
            "excellent": "10",
            "good": "8",
            "average": "5",
            "needs_improvement": "2",
            "poor": "0",
            "action": "save",
            **fields,
        },
    )


def test_export_and_import_round_trip_in_every_format(educator, rubric_version):
    client = client_for(educator)
    for fmt, suffix in (("json", ".json"), ("csv", ".csv")):
        response = client.get(reverse("rubric_export", args=[rubric_version.pk, fmt]))
        assert response.status_code == 200
        assert f'filename="short-answer-v1{suffix}"' in response["Content-Disposition"]
        imported = import_file(educator, f"copy{suffix}", response.content, name=f"Copy {fmt}")
        assert imported.status_code == 302, imported.content.decode()[:2000]
        copy = RubricVersion.objects.get(rubric__name=f"Copy {fmt}")
        assert [(c.title, c.max_points) for c in copy.criteria.order_by("order")] == [
            ("Correctness", 4),
            ("Clarity", 2),
        ]
        assert [(lv.label, lv.points) for lv in copy.criteria.get(order=1).levels.all()] == [
            ("Excellent", 4),
            ("Partial", 2),
            ("Wrong", 0),
        ]
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(
                    reverse("rubric_export", args=[rubric_version.pk, "csv"])
                ).content.decode()
            )
        )
    )
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 1 + 3 + 2


def test_dataset_import_uses_the_chosen_band_points(educator):
    dataset = {
        "rubric": {
            "rubric_id": "essay-7",
            "criteria": [
                {
                    "criterion_id": "c1",
                    "name": "Argument",
                    "description": "Is it argued?",
                    "performance_descriptors": {
                        band: f"{band} work"
                        for band in ("excellent", "good", "average", "needs_improvement", "poor")
                    },
                }
            ],
        },
        "prompt": "Argue.",
    }
    response = import_file(educator, "d.json", json.dumps(dataset).encode())
    assert response.status_code == 302
    criterion = RubricVersion.objects.get(rubric__name="essay-7").criteria.get()
    assert criterion.max_points == 10
    assert [lv.points for lv in criterion.levels.all()] == [10, 8, 5, 2, 0]
    exported = client_for(educator).get(
        reverse("rubric_export", args=[criterion.rubric_version_id, "dataset"])
    )
    assert exported.json()["rubric"]["criteria"][0]["performance_descriptors"]["poor"] == (
        "poor work"
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("r.json", b"{not json", "neither CSV nor valid JSON"),
        ("r.csv", b"title,points\nA,1\n", "lacks the columns"),
        ("r.csv", b"\xff\xfe bad", "not UTF-8"),
        ("r.csv", b",".join(c.encode() for c in CSV_COLUMNS) + b"\nA,,2,Top,x,\n", "whole number"),
    ],
)
def test_a_bad_file_is_refused_with_a_reason(educator, name, content, message):
    response = import_file(educator, name, content)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Rubric.objects.exists()


def test_an_unknown_export_format_is_not_found(educator, rubric_version):
    url = reverse("rubric_export", args=[rubric_version.pk, "xml"])
    assert client_for(educator).get(url).status_code == 404


def test_students_get_no_library(student, rubric_version):
    assert client_for(student).get(reverse("rubric_list")).status_code == 403
    url = reverse("rubric_export", args=[rubric_version.pk, "json"])
    assert client_for(student).get(url).status_code == 403


@pytest.fixture
def version_2(rubric_version, educator):
    return rubric_version_create(
        rubric=rubric_version.rubric, criteria=two_criteria(), created_by=educator
    )


@pytest.fixture
def reviewed(submission, educator):
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    submission_opened(submission=submission, actor=educator)  # as the review page records
    points = {r.criterion_id: r.points for r in run.results.all()}
    review = review_save(
        submission=submission, actor=educator, points=points, comments={}, comment=""
    )
    return review_approve(review=review, actor=educator)


@pytest.mark.usefixtures("scripted_model")
def test_the_assignment_page_offers_other_versions(educator, assignment, version_2, reviewed):
    text = client_for(educator).get(reverse("assignment_rubric", args=[assignment.pk])).content
    text = text.decode()
    assert "Switch to v2" in text and "Try on 1 reviewed submission(s)" in text
    assert reverse("rubric_tuning", args=[assignment.pk, version_2.pk]) in text


@pytest.mark.usefixtures("scripted_model")
def test_trial_then_tuning_page_then_adopt(educator, assignment, submission, version_2, reviewed):
    client = client_for(educator)
    response = client.post(reverse("rubric_trial", args=[assignment.pk]), {"version": version_2.pk})
    assert response["Location"] == reverse("rubric_tuning", args=[assignment.pk, version_2.pk])
    trial = GradingRun.objects.get(rubric_version=version_2)
    grading_run_execute(run_id=trial.pk)
    page = client.get(response["Location"]).content.decode()
    assert "matched by order" in page and "C1 v2: Correctness" in page
    assert "Not in this version" not in page
    assignment.refresh_from_db()
    assert assignment.rubric_version_id != version_2.pk  # a trial switches nothing
    client.post(
        reverse("assignment_rubric_switch", args=[assignment.pk]), {"version": version_2.pk}
    )
    assignment.refresh_from_db()
    assert assignment.rubric_version_id == version_2.pk
    assert GradingRun.objects.filter(rubric_version=version_2).count() == 1  # no regrade asked


@pytest.mark.usefixtures("scripted_model")
def test_switch_with_regrade_and_compare(educator, assignment, submission, version_2, reviewed):
    client = client_for(educator)
    client.post(
        reverse("assignment_rubric_switch", args=[assignment.pk]),
        {"version": version_2.pk, "regrade": "on"},
    )
    new = GradingRun.objects.get(rubric_version=version_2)
    grading_run_execute(run_id=new.pk)
    new.refresh_from_db()
    page = client.get(
        reverse("rubric_compare", args=[assignment.pk, reviewed.based_on_run.rubric_version_id])
    )
    text = page.content.decode()
    assert "v1 beside v2" in text and f"<td>{new.total}</td>" in text


def test_a_version_of_another_rubric_is_refused(educator, assignment):
    other = rubric_create(name="Other", criteria=two_criteria(), created_by=educator)
    client = client_for(educator)
    response = client.post(
        reverse("assignment_rubric_switch", args=[assignment.pk]), {"version": other.pk}
    )
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.rubric_version_id != other.pk
    assert client.get(reverse("rubric_compare", args=[assignment.pk, other.pk])).status_code == 404
