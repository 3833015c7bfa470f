"""Trying a model profile on a calibration set: the runs, the report, the command, the pages."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from grading.models import (
    Evaluation,
    GradingRun,
    ModelProfile,
    Review,
)
from grading.services.evaluation import evaluation_report, evaluation_request
from grading.services.grading import grading_run_execute
from grading.vocabulary import Provenance
from tests.calibration import make_calibration_set
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]

# The person's points per criterion order (C1 of 4, C2 of 2), one mark per essay.
MARKS = [{1: 4, 2: 2}, {1: 2, 2: 2}, {1: 0, 2: 0}, {1: 4, 2: 2}, {1: 4, 2: 0}, {1: 2, 2: 2}]


@pytest.fixture
def calibration_set(course, rubric_version, educator):
    return make_calibration_set(course, rubric_version, educator, MARKS)


def grade_inline(evaluation: Evaluation) -> None:
    for run_id in evaluation.runs.values_list("pk", flat=True):
        grading_run_execute(run_id=run_id)


def test_an_evaluation_grades_every_entry_as_a_trial(calibration_set, educator):
    evaluation = evaluation_request(
        calibration_set=calibration_set, profile=None, requested_by=educator
    )
    assert evaluation.runs.count() == len(MARKS)
    grade_inline(evaluation)
    assert set(evaluation.runs.values_list("status", flat=True)) == {GradingRun.Status.SUCCEEDED}
    for review in Review.objects.filter(submission__assignment=calibration_set.assignment):
        review.submission.refresh_from_db()
        assert review.submission.latest_run is None  # a trial never becomes the grade
        assert review.provenance == Provenance.IMPORTED and not review.released


def test_the_report_compares_the_marks_with_the_ai(calibration_set, educator):
    evaluation = evaluation_request(
        calibration_set=calibration_set, profile=None, requested_by=educator
    )
    grade_inline(evaluation)
    report = evaluation_report(evaluation=evaluation)
    assert report.done
    assert report.agreement.judged == len(MARKS)
    # By hand, from the AI's own results beside the marks.
    ai_c1 = {
        run.submission_id: run.results.get(criterion__order=1).points
        for run in evaluation.runs.all()
    }
    human_c1 = {
        review.submission_id: review.criteria.get(criterion__order=1).points
        for review in Review.objects.filter(submission__assignment=calibration_set.assignment)
    }
    gaps = [ai_c1[pk] - human_c1[pk] for pk in human_c1]
    c1 = report.agreement.criteria[0]
    assert c1.figures.count == len(MARKS)
    assert c1.figures.exact == pytest.approx(sum(gap == 0 for gap in gaps) / len(MARKS))
    assert c1.figures.mean_signed_difference == pytest.approx(sum(gaps) / len(MARKS))
    # The worst disagreements come first, and each names a real gap between the totals.
    totals = {run.submission_id: run.total for run in evaluation.runs.all()}
    for item in report.worst:
        assert item.ai_total == totals[item.submission_id]
        assert item.gap != 0
    assert [abs(item.gap) for item in report.worst] == sorted(
        (abs(item.gap) for item in report.worst), reverse=True
    )
    assert report.usage.graded == len(MARKS) and report.usage.mean_answer_tokens > 0
    data = report.as_dict()
    assert data["done"] and len(data["worst_disagreements"]) == len(report.worst)


def test_one_profile_at_a_time_per_set(calibration_set, educator):
    evaluation_request(calibration_set=calibration_set, profile=None, requested_by=educator)
    with pytest.raises(Exception, match="being graded already"):
        evaluation_request(calibration_set=calibration_set, profile=None, requested_by=educator)
    # Nothing half-made: the refused request left no evaluation behind.
    assert Evaluation.objects.count() == 1


def test_the_command_grades_compares_two_profiles_and_writes_reports(
    calibration_set, tmp_path, capsys
):
    ModelProfile.objects.create(name="Scripted B", backend="scripted", model="scripted")
    call_command(
        "evaluate",
        "--calibration",
        calibration_set.name,
        "--profile",
        "default",
        "--profile",
        "Scripted B",
        "--inline",
        "--json",
        str(tmp_path / "report.json"),
        "--html",
        str(tmp_path / "report.html"),
    )
    out = capsys.readouterr().out
    assert "default (settings): 6 compared with a mark" in out
    assert "Scripted B: 6 compared with a mark" in out
    reports = json.loads((tmp_path / "report.json").read_text())
    assert [report["profile"] for report in reports] == ["default (settings)", "Scripted B"]
    assert all(report["done"] for report in reports)
    assert "Largest disagreements" in (tmp_path / "report.html").read_text()


def test_the_command_names_what_it_cannot_find(calibration_set):
    with pytest.raises(Exception, match="No model profile 'nope'"):
        call_command("evaluate", "--calibration", str(calibration_set.pk), "--profile", "nope")
    with pytest.raises(Exception, match="No calibration set"):
        call_command("evaluate", "--calibration", "missing", "--profile", "default")


def test_the_pages_start_an_evaluation_show_its_report_and_compare(
    calibration_set, educator, outsider_educator
):
    web = client_for(educator)
    response = web.post(reverse("evaluation_new", args=[calibration_set.pk]), {"profile": ""})
    evaluation = Evaluation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("evaluation_report", args=[evaluation.pk])
    grade_inline(evaluation)
    page = web.get(response["Location"]).content.decode()
    assert "Agreement with the set's marks" in page
    worst = evaluation_report(evaluation=evaluation).worst[0]
    link = f"{reverse('submission_review', args=[worst.submission_id])}?run={worst.run_id}"
    assert link in page
    # The link opens that trial run on the review page, not the (absent) current grade.
    review_page = web.get(link).content.decode()
    assert f"You are looking at run {worst.run_id}" in review_page
    body = web.get(reverse("evaluation_report_json", args=[evaluation.pk])).json()
    assert body["agreement"]["judged"] == len(MARKS)

    second = evaluation_request(
        calibration_set=calibration_set, profile=None, requested_by=educator
    )
    grade_inline(second)
    compare = web.get(reverse("evaluation_compare", args=[evaluation.pk, second.pk]))
    assert compare.status_code == 200
    assert compare.content.decode().count("Compared with a mark") == 2
    # Another course's educator learns nothing about the set.
    outsider = client_for(outsider_educator)
    assert outsider.get(reverse("evaluation_report", args=[evaluation.pk])).status_code == 404
    assert outsider.get(reverse("evaluation_new", args=[calibration_set.pk])).status_code == 404
