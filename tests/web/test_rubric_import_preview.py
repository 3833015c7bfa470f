"""The rubric import page: a preview with warnings and weights before anything is saved, then
the saved (or reused) rubric offering its task to a new assignment."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from grading.models import Rubric, RubricVersion
from tests.calibration_files import dataset
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("course")]  # educator teaches
BAND_POINTS = {"excellent": "4", "good": "3", "average": "2", "needs_improvement": "1", "poor": "0"}


def preview(client, data: dict, **fields):
    body = json.dumps(data, ensure_ascii=False).encode()
    return client.post(
        reverse("rubric_import"),
        {"file": SimpleUploadedFile("essais.json", body), **BAND_POINTS, **fields},
    )


def save(client, page, **fields):
    """Post the preview's form back as its "Save" button does."""
    context = page.context
    return client.post(
        reverse("rubric_import"),
        {
            "content": context["content"],
            "file_name": context["file_name"],
            "action": "save",
            **BAND_POINTS,
            **fields,
        },
    )


def test_the_preview_warns_and_saves_nothing(educator):
    data = {**dataset(), "version_note": "x"}
    page = preview(client_for(educator), data, poor="5")

    body = page.content.decode()
    assert page.status_code == 200 and "Preview: nothing is saved yet" in body
    assert "no &#x27;average&#x27; band" in body
    assert "the points are reversed" in body
    assert "version_note" in body
    assert "Écrivez un essai" in body and "Domain: Informatique" in body
    assert not Rubric.objects.exists()


def test_saving_after_the_preview_keeps_weights_prompt_and_domain(educator, course):
    client = client_for(educator)
    page = preview(client, dataset())

    response = save(client, page, points_1="10")

    version = RubricVersion.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("rubric_imported", args=[version.pk])
    criterion = version.criteria.get(order=1)
    assert criterion.max_points == 10
    assert [lv.points for lv in criterion.levels.all()] == [10, 8, 5, 3, 0]
    assert version.rubric.domain == "Informatique"
    done = client.get(response["Location"]).content.decode()
    link = f"{reverse('assignment_new', args=[course.pk])}?from_rubric={version.pk}"
    assert "Create an assignment with this task" in done and link in done
    form = client.get(link).context["form"]
    assert form.initial["task"] == dataset()["prompt"]
    assert form.initial["rubric_version"] == version.pk


def test_the_same_file_again_reuses_the_rubric_and_says_so(educator):
    client = client_for(educator)
    save(client, preview(client, dataset()))

    page = preview(client, dataset())
    assert "already has this rubric" in page.content.decode()
    response = save(client, page)

    assert response["Location"].endswith("?reused=1")
    assert Rubric.objects.count() == 1
    assert "Already in the library" in client.get(response["Location"]).content.decode()


def test_a_different_rubric_of_the_same_name_gets_a_unique_name(educator):
    client = client_for(educator)
    save(client, preview(client, dataset()))

    page = preview(client, dataset(), excellent="9")
    assert "will be saved as <strong>rub_it_0001 (2)</strong>" in page.content.decode()
    save(client, page, excellent="9")

    assert sorted(Rubric.objects.values_list("name", flat=True)) == [
        "rub_it_0001",
        "rub_it_0001 (2)",
    ]


def test_the_json_export_gives_prompt_and_domain_back(educator):
    client = client_for(educator)
    save(client, preview(client, dataset()))
    version = RubricVersion.objects.get()

    for fmt in ("json", "dataset"):
        exported = client.get(reverse("rubric_export", args=[version.pk, fmt])).json()
        assert exported["domain"] == "Informatique"
        assert exported["prompt"] == dataset()["prompt"]
