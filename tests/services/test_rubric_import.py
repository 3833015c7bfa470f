"""Rubric import that keeps what it reads: warnings before saving, weights, prompt and domain,
unique names and reuse of an identical rubric."""

from __future__ import annotations

import pytest

from grading.errors import ApplicationError
from grading.models import Rubric
from grading.services.rubric_library import (
    CSV_COLUMNS,
    rubric_csv_plan,
    rubric_export,
    rubric_export_dataset,
    rubric_import_plan,
    rubric_plan_save,
)
from tests.calibration_files import dataset

pytestmark = pytest.mark.django_db


def test_the_plan_warns_of_a_missing_band_and_ignored_fields_before_saving():
    data = {**dataset(), "version_note": "x"}
    data["rubric"]["criteria"][0]["weight"] = 2

    plan = rubric_import_plan(data=data)

    text = "\n".join(plan.warnings)
    assert "Criterion 2: no 'average' band; it has 4 levels, not 5." in text
    assert "The file: the field 'version_note' is not read" in text
    assert "Criterion 1: the field 'weight' is not read" in text
    assert "submissions" in text  # a rubric import does not keep the entries
    assert plan.prompt.startswith("Écrivez") and plan.domain == "Informatique"
    assert not Rubric.objects.exists()


def test_reversed_and_tied_band_points_are_warned_of():
    points = {"excellent": 0, "good": 1, "average": 1, "needs_improvement": 3, "poor": 4}

    warnings = "\n".join(rubric_import_plan(data=dataset(), band_points=points).warnings)

    assert "'good' (1) is worth more than 'excellent' (0): the points are reversed" in warnings
    assert "'Good' and 'Average' are both worth 1 points" in warnings


def test_a_native_or_csv_rubric_with_tied_levels_is_warned_of():
    native = {
        "format": "aaie.rubric/1",
        "name": "Tied",
        "criteria": [
            {
                "title": "A",
                "max_points": 2,
                "levels": [{"label": "Hi", "points": 2}, {"label": "Also hi", "points": 2}],
            }
        ],
    }
    assert any("both worth 2" in w for w in rubric_import_plan(data=native).warnings)
    csv_text = ",".join(CSV_COLUMNS) + "\nA,,2,Hi,2,\nA,,2,Lo,2,\n"
    assert any("both worth 2" in w for w in rubric_csv_plan(csv_text=csv_text, name="T").warnings)


def test_each_criterion_can_be_weighted_its_levels_scaled():
    plan = rubric_import_plan(data=dataset(), criterion_points={2: 20})

    first, second = plan.criteria
    assert first.max_points == 4 and [lv.points for lv in first.levels] == [4, 3, 2, 1, 0]
    assert second.max_points == 20 and [lv.points for lv in second.levels] == [20, 15, 5, 0]
    with pytest.raises(ApplicationError, match="no criterion 3"):
        rubric_import_plan(data=dataset(), criterion_points={3: 5})


def test_prompt_and_domain_survive_an_export_in_both_shapes(educator):
    version, _ = rubric_plan_save(plan=rubric_import_plan(data=dataset()), created_by=educator)

    native = rubric_export(rubric_version=version)
    assert native["domain"] == "Informatique" and native["prompt"].startswith("Écrivez")
    again = rubric_import_plan(data=native)
    assert (again.domain, again.prompt) == (native["domain"], native["prompt"])
    shaped = rubric_export_dataset(rubric_version=version)
    assert shaped["domain"] == "Informatique" and shaped["prompt"] == native["prompt"]
    back = rubric_import_plan(data=shaped)
    assert [len(c.levels) for c in back.criteria] == [5, 4]  # the missing band stays missing


def test_an_identical_rubric_is_reused_and_a_different_one_gets_a_unique_name(educator):
    first, reused = rubric_plan_save(plan=rubric_import_plan(data=dataset()), created_by=educator)
    assert not reused and first.rubric.name == "rub_it_0001"

    same, reused = rubric_plan_save(plan=rubric_import_plan(data=dataset()), created_by=educator)
    assert reused and same == first

    heavier = rubric_import_plan(data=dataset(), criterion_points={1: 8})
    second, reused = rubric_plan_save(plan=heavier, created_by=educator)
    third, _ = rubric_plan_save(
        plan=rubric_import_plan(data=dataset(), criterion_points={1: 12}), created_by=educator
    )
    assert not reused
    assert (second.rubric.name, third.rubric.name) == ("rub_it_0001 (2)", "rub_it_0001 (3)")
    # Importing the weighted one again finds its numbered copy.
    assert rubric_plan_save(plan=heavier, created_by=educator) == (second, True)
    assert Rubric.objects.count() == 3
