"""An educator imports a calibration set in the browser: from the course page, a dataset file
made here (five bands, a criterion missing one, per-criterion feedback, non-ASCII text) becomes
a set whose page lists its pseudonymous submissions and their imported labels."""

from __future__ import annotations

import json

import pytest

from grading.models import CalibrationSet
from grading.services.courses import course_create
from tests.calibration_files import dataset

pytestmark = pytest.mark.slow

PASSWORD = "e2e-password-123"
# Far above the few seconds the scripted model needs, for a busy two-core machine.
REPORT_TIMEOUT_MS = 180_000


@pytest.fixture
def course(django_user_model):
    educator = django_user_model.objects.create_user("teacher", password=PASSWORD)
    return course_create(code="CAL101", title="Calibration course", created_by=educator)


def test_an_educator_imports_a_calibration_set_and_reads_its_labels(visitor, course, tmp_path):
    file = tmp_path / "essais-2025.json"
    file.write_text(json.dumps(dataset(), ensure_ascii=False), encoding="utf-8")
    teacher = visitor("calibration")
    teacher.log_in("teacher", PASSWORD)
    page = teacher.page

    page.goto(f"/courses/{course.pk}/")
    page.get_by_role("link", name="Import a calibration set").click()
    page.get_by_label("AAIE dataset file").set_input_files(str(file))
    page.get_by_label("Name of the set").fill("Essais 2025")
    page.get_by_role("button", name="Import").click()
    page.wait_for_load_state()

    status = page.get_by_role("status")
    assert "3 imported" in status.inner_text() and "3 left out" in status.inner_text()
    assert page.get_by_role("cell", name="Entry 3").is_visible()
    teacher.snap("import-result")

    page.get_by_role("link", name="Essais 2025").click()
    page.wait_for_load_state()
    calibration_set = CalibrationSet.objects.get()
    assert page.get_by_role("heading", name="Calibration set: Essais 2025").is_visible()
    table = page.get_by_role("table").inner_text()
    assert f"calib-{calibration_set.pk}-1" in table
    assert "Exemples précis — très bien." in table
    assert table.count("Imported label") == 3 and "Holistic" in table
    teacher.snap("set")

    # The course page lists it as a set, not among the class's assignments.
    page.goto(f"/courses/{course.pk}/")
    assert page.get_by_role("link", name="Essais 2025").is_visible()
    assert "No assignments yet." in page.inner_text("main")
    teacher.snap("course")


def test_a_rubric_import_previews_its_warnings_then_offers_its_task(visitor, course, tmp_path):
    file = tmp_path / "rubric.json"
    data = {key: value for key, value in dataset().items() if key != "submissions"}
    file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    teacher = visitor("rubric-import")
    teacher.log_in("teacher", PASSWORD)
    page = teacher.page

    page.goto("/rubrics/import/")
    page.get_by_label("Rubric file").set_input_files(str(file))
    page.get_by_role("button", name="Preview").click()
    page.wait_for_load_state()
    assert "no 'average' band" in page.get_by_role("alert").inner_text()
    teacher.snap("preview")

    page.get_by_label("C1 Thèse: maximum points").fill("10")
    page.get_by_role("button", name="Save to the library").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Imported rub_it_0001 v1").is_visible()
    teacher.snap("imported")

    page.get_by_role("link", name="Create an assignment with this task in CAL101").click()
    page.wait_for_load_state()
    assert page.get_by_label("Task").input_value() == dataset()["prompt"]


def test_an_educator_tries_a_profile_on_a_set_and_follows_a_disagreement(
    visitor, course, celery_worker_process, scripted_model, tmp_path
):
    """Import a set, grade it with a profile through the real worker, read the report, and open
    the largest disagreement's run on the review page."""
    file = tmp_path / "essais-2025.json"
    file.write_text(json.dumps(dataset(), ensure_ascii=False), encoding="utf-8")
    teacher = visitor("evaluation")
    teacher.log_in("teacher", PASSWORD)
    page = teacher.page
    page.goto(f"/courses/{course.pk}/calibration-sets/import/")
    page.get_by_label("AAIE dataset file").set_input_files(str(file))
    page.get_by_label("Name of the set").fill("Essais 2025")
    page.get_by_role("button", name="Import").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Essais 2025").click()

    page.get_by_role("link", name="Try a model profile on this set").click()
    teacher.snap("try-a-profile")
    page.get_by_role("button", name="Grade the set with this profile").click()
    page.wait_for_load_state()
    # The report reloads itself while the worker grades; wait until it says it is done.
    page.wait_for_selector("#evaluation[data-active='false']", timeout=REPORT_TIMEOUT_MS)
    assert page.get_by_role("heading", name="Agreement with the set's marks").is_visible()
    facts = page.locator("dl.facts").inner_text()
    assert "3 succeeded" in facts
    teacher.snap("report")

    disagreements = page.get_by_role("table").filter(has_text="AI − mark")
    first = disagreements.get_by_role("link").first
    run_id = first.get_attribute("href").split("run=")[1]
    first.click()
    page.wait_for_load_state()
    assert page.get_by_text(f"You are looking at run {run_id}").is_visible()
    assert page.get_by_text("Imported label").first.is_visible()
    teacher.snap("disagreement")
