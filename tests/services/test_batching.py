"""A worker grades the queued runs of one assignment together, in one model batch."""

from __future__ import annotations

import pytest

from grading import worker
from grading.llm.backends.scripted import ScriptedBackend
from grading.models import GradingRun
from grading.services.courses import assignment_create
from grading.services.grading import (
    TransientGradingError,
    grading_run_execute,
    grading_run_request,
    grading_runs_request_for_assignment,
)
from grading.services.pipeline import grading_run_heartbeat
from tests.pipeline.conftest import make_class

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


@pytest.fixture
def batch_sizes(monkeypatch) -> list[int]:
    """The size of every batch the scripted backend is asked for."""
    sizes: list[int] = []
    original = ScriptedBackend.generate_batch

    def recording(self, requests, **kwargs):
        sizes.append(len(requests))
        return original(self, requests, **kwargs)

    monkeypatch.setattr(ScriptedBackend, "generate_batch", recording)
    return sizes


def queued_runs(assignment, texts: list[str], educator) -> list[GradingRun]:
    make_class(assignment, texts)
    grading_runs_request_for_assignment(assignment=assignment, requested_by=educator)
    return list(GradingRun.objects.filter(submission__assignment=assignment).order_by("pk"))


def test_one_task_grades_the_queued_runs_of_its_assignment_in_one_batch(
    assignment, educator, settings, batch_sizes
):
    settings.AAIE_DEFAULT_MODEL = {**settings.AAIE_DEFAULT_MODEL, "batch_size": 3}
    runs = queued_runs(assignment, [f"Essay {n}" for n in range(5)], educator)
    claimed: list[list[int]] = []

    grading_run_execute(run_id=runs[1].pk, on_claimed=claimed.append)

    # Its own run first, then the oldest queued runs, up to the batch size.
    assert claimed == [[runs[1].pk, runs[0].pk, runs[2].pk]]
    assert batch_sizes == [3]
    statuses = dict(GradingRun.objects.values_list("pk", "status"))
    assert [statuses[run.pk] for run in runs] == ["succeeded"] * 3 + ["queued"] * 2
    task_ids = {GradingRun.objects.get(pk=pk).task_id for pk in claimed[0]}
    assert len(task_ids) == 1  # the companions name the task that graded them

    grading_run_execute(run_id=runs[0].pk)  # a companion's own task: nothing left to do
    assert batch_sizes == [3]


def test_self_consistency_samples_count_against_the_batch_size(
    assignment, educator, settings, batch_sizes
):
    settings.AAIE_DEFAULT_MODEL = {**settings.AAIE_DEFAULT_MODEL, "batch_size": 5}
    assignment.self_consistency_samples = 2
    assignment.save()
    runs = queued_runs(assignment, [f"Essay {n}" for n in range(4)], educator)

    grading_run_execute(run_id=runs[0].pk)

    assert batch_sizes == [4]  # two runs of two samples; a third run would not fit
    graded = GradingRun.objects.filter(status="succeeded")
    assert graded.count() == 2
    assert all(len(run.samples) == 2 for run in graded)


def test_runs_with_another_model_snapshot_are_not_batched(
    assignment, educator, settings, batch_sizes
):
    runs = queued_runs(assignment, ["Essay 0", "Essay 1", "Essay 2"], educator)
    other = runs[2]
    other.model_snapshot = {**other.model_snapshot, "temperature": 0.9}
    other.save()

    grading_run_execute(run_id=runs[0].pk)

    assert batch_sizes == [2]
    other.refresh_from_db()
    assert other.status == GradingRun.Status.QUEUED


def test_runs_of_another_assignment_are_not_batched(
    assignment, course, rubric_version, educator, student, classmate, make_submission, batch_sizes
):
    other_assignment = assignment_create(
        course=course, title="Another", task="Another task.", rubric_version=rubric_version
    )
    mine = grading_run_request(
        submission=make_submission(assignment, student), requested_by=educator
    )
    theirs = grading_run_request(
        submission=make_submission(other_assignment, classmate), requested_by=educator
    )

    grading_run_execute(run_id=mine.pk)

    assert batch_sizes == [1]
    theirs.refresh_from_db()
    assert theirs.status == GradingRun.Status.QUEUED


def test_a_run_that_fails_for_itself_does_not_fail_its_batch(assignment, educator):
    runs = queued_runs(
        assignment, ["Fine essay", "Broken [[scripted:permanent-error]]", "Another"], educator
    )

    grading_run_execute(run_id=runs[0].pk)

    statuses = [GradingRun.objects.get(pk=run.pk).status for run in runs]
    assert statuses == ["succeeded", "failed", "succeeded"]


def test_a_transient_error_queues_the_affected_runs_again_and_names_them(assignment, educator):
    runs = queued_runs(
        assignment, ["Fine essay", "Flaky [[scripted:transient-error]]", "Another"], educator
    )

    with pytest.raises(TransientGradingError) as raised:
        grading_run_execute(run_id=runs[0].pk)

    assert raised.value.run_ids == [runs[1].pk]
    statuses = [GradingRun.objects.get(pk=run.pk).status for run in runs]
    assert statuses == ["succeeded", "queued", "succeeded"]


def test_the_heartbeat_vouches_for_every_run_of_the_batch(assignment, educator):
    runs = queued_runs(assignment, ["Essay 0", "Essay 1"], educator)
    GradingRun.objects.update(status=GradingRun.Status.RUNNING, heartbeat_at=None)
    with worker.grading(runs[0].pk):
        worker.grading_also([runs[0].pk, runs[1].pk])
        assert worker.current_run_ids() == [runs[0].pk, runs[1].pk]
        grading_run_heartbeat(run_ids=[runs[0].pk, runs[1].pk])
    assert worker.current_run_ids() == []
    assert not GradingRun.objects.filter(heartbeat_at=None).exists()
