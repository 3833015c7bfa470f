"""The rubric library over the API: create, new versions, import and export."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from grading.models import Rubric, RubricVersion
from tests.api.conftest import api_for
from tests.calibration_files import dataset

# `course` makes `educator` an educator: the library is for educators.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("course")]

BANDS = {"excellent": 10, "good": 8, "average": 5, "needs_improvement": 2, "poor": 0}


def full_dataset() -> dict:
    descriptors = {band: f"{band} work" for band in BANDS}
    return {
        "rubric": {
            "rubric_id": "essay-2025",
            "criteria": [
                {
                    "criterion_id": "arg",
                    "name": "Argument",
                    "description": "Is the claim supported?",
                    "performance_descriptors": descriptors,
                },
                {
                    "criterion_id": "style",
                    "name": "Style",
                    "description": "",
                    "performance_descriptors": descriptors,
                },
            ],
        },
        "prompt": "Argue for or against homework.",
    }


def test_a_dataset_rubric_imports_with_the_points_the_caller_chose(educator):
    response = api_for(educator).post(
        reverse("api_rubric_import"), {"data": full_dataset(), "band_points": BANDS}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["prompt"] == "Argue for or against homework."
    version = body["rubric_version"]
    assert version["rubric_name"] == "essay-2025"
    assert [c["title"] for c in version["criteria"]] == ["Argument", "Style"]
    levels = version["criteria"][0]["levels"]
    assert [(level["label"], level["points"]) for level in levels] == [
        ("Excellent", 10),
        ("Good", 8),
        ("Average", 5),
        ("Needs improvement", 2),
        ("Poor", 0),
    ]
    assert version["max_total"] == 20


def test_the_dataset_export_has_the_bands_again(educator):
    client = api_for(educator)
    imported = client.post(reverse("api_rubric_import"), {"data": full_dataset()}).json()
    version_id = imported["rubric_version"]["id"]
    exported = client.get(reverse("api_rubric_version_export_dataset", args=[version_id])).json()
    assert exported["rubric"]["rubric_id"] == "essay-2025"
    first = exported["rubric"]["criteria"][0]
    assert first["name"] == "Argument"
    assert first["performance_descriptors"]["needs_improvement"] == "needs_improvement work"


def test_a_native_export_imports_again_unchanged(educator, rubric_version):
    client = api_for(educator)
    exported = client.get(reverse("api_rubric_version_export", args=[rubric_version.pk])).json()
    imported = client.post(reverse("api_rubric_import"), {"data": exported, "name": "Copy"}).json()
    again = client.get(
        reverse("api_rubric_version_export", args=[imported["rubric_version"]["id"]])
    ).json()
    assert again["criteria"] == exported["criteria"]
    assert again["name"] == "Copy"


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"format": "aaie.rubric/1", "name": "X", "criteria": "nope"},
        {"format": "aaie.rubric/1", "name": "X", "criteria": [{"title": "T", "max_points": 10**9}]},
        {"rubric": {"rubric_id": "r", "criteria": [{"name": "A", "performance_descriptors": {}}]}},
        {
            "rubric": {
                "rubric_id": "r",
                "criteria": [{"name": "A", "performance_descriptors": {"great": "?"}}],
            }
        },
    ],
)
def test_bad_rubric_json_is_refused_with_a_reason(educator, data):
    response = api_for(educator).post(reverse("api_rubric_import"), {"data": data})
    assert response.status_code == 400
    assert response.json()["error"]["message"]
    assert not RubricVersion.objects.exists()  # nothing half-imported


def test_a_new_version_leaves_the_old_one_as_it_was(educator, rubric_version):
    client = api_for(educator)
    response = client.post(
        reverse("api_rubric_versions", args=[rubric_version.rubric_id]),
        {
            "criteria": [
                {
                    "title": "Only one",
                    "max_points": 3,
                    "levels": [{"label": "Yes", "points": 3}, {"label": "No", "points": 0}],
                }
            ]
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["number"] == 2
    assert rubric_version.criteria.count() == 2
    rubric = client.get(reverse("api_rubric", args=[rubric_version.rubric_id])).json()
    assert [v["number"] for v in rubric["versions"]] == [1, 2]


def test_the_preview_warns_and_saves_nothing_then_the_import_keeps_prompt_and_domain(
    educator, course
):
    client = api_for(educator)
    preview = client.post(
        reverse("api_rubric_import_preview"),
        {"data": dataset(), "criterion_points": {"2": 8}},
        format="json",
    )
    assert preview.status_code == 200, preview.content
    body = preview.json()
    assert any("no 'average' band" in warning for warning in body["warnings"])
    assert body["criteria"][1]["max_points"] == 8 and body["reuses"] is None
    assert not Rubric.objects.exists()

    imported = client.post(
        reverse("api_rubric_import"),
        {"data": dataset(), "criterion_points": {"2": 8}},
        format="json",
    ).json()
    assert imported["reused"] is False and imported["domain"] == "Informatique"
    assert imported["rubric_version"]["criteria"][1]["max_points"] == 8
    again = client.post(
        reverse("api_rubric_import"),
        {"data": dataset(), "criterion_points": {"2": 8}},
        format="json",
    ).json()
    assert again["reused"] is True
    assert again["rubric_version"]["id"] == imported["rubric_version"]["id"]
    version_id = imported["rubric_version"]["id"]
    exported = client.get(reverse("api_rubric_version_export", args=[version_id])).json()
    assert exported["domain"] == "Informatique" and exported["prompt"].startswith("Écrivez")
    shaped = client.get(reverse("api_rubric_version_export_dataset", args=[version_id])).json()
    assert shaped["domain"] == "Informatique" and shaped["prompt"] == exported["prompt"]


def test_criterion_points_must_name_criteria_by_number(educator, course):
    response = api_for(educator).post(
        reverse("api_rubric_import"),
        {"data": full_dataset(), "criterion_points": {"first": 3}},
        format="json",
    )
    assert response.status_code == 400
    assert "criterion numbers" in json.dumps(response.json())
