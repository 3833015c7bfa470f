"""The scripted backend: valid, deterministic answers without torch, and misbehaviour on demand."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from grading.llm.backends import clear_backend_cache, get_backend
from grading.llm.backends.base import BackendError
from grading.llm.backends.scripted import ScriptedBackend
from grading.llm.prompt import build_messages
from grading.llm.schema import answer_schema, parse_answer
from grading.llm.types import GenerationRequest, GenerationSettings, GradingTask, ModelSpec

SPEC = ModelSpec(backend="scripted", model="scripted")
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_backend_cache()
    yield
    clear_backend_cache()


def request_for(task: GradingTask, **settings: object) -> GenerationRequest:
    return GenerationRequest(
        messages=tuple(build_messages(task)),
        json_schema=answer_schema(task.rubric),
        settings=GenerationSettings(**settings),
    )


def test_its_answers_parse_against_the_rubric(make_task: Callable[..., GradingTask]) -> None:
    task = make_task("Cats are better than dogs.", criteria=12)

    generation = ScriptedBackend(SPEC).generate(request_for(task))

    answer = parse_answer(generation.answer, task.rubric)
    assert [score.key for score in answer.scores] == [f"C{n}" for n in range(1, 13)]
    assert generation.trace.startswith("Scripted reasoning")
    assert generation.prompt_tokens > 0
    assert generation.thinking_tokens > 0
    assert generation.answer_tokens > 0
    assert generation.answer_complete
    assert not generation.thinking_budget_reached


def test_points_follow_the_level(make_task: Callable[..., GradingTask]) -> None:
    task = make_task(criteria=12)
    points_of = {level.label: level.points for level in task.rubric.criteria[0].levels}

    answer = parse_answer(ScriptedBackend(SPEC).generate(request_for(task)).answer, task.rubric)

    # The test rubric lists levels best first with evenly spaced points (4, 2, 0).
    assert all(score.points == points_of[score.level] for score in answer.scores)
    assert len({score.level for score in answer.scores}) > 1  # not always the same level


def test_evidence_is_quoted_from_the_submission(make_task: Callable[..., GradingTask]) -> None:
    task = make_task("Cats are better than dogs because they purr.")

    answer = parse_answer(ScriptedBackend(SPEC).generate(request_for(task)).answer, task.rubric)

    assert all(quote in task.submission_text for s in answer.scores for quote in s.evidence)
    assert answer.scores[0].evidence


def test_it_is_deterministic_and_depends_on_the_submission(
    make_task: Callable[..., GradingTask],
) -> None:
    backend = ScriptedBackend(SPEC)
    results = {
        text: backend.generate(request_for(make_task(text, criteria=12))).answer
        for text in ("First essay.", "Second essay.")
    }

    assert (
        backend.generate(request_for(make_task("First essay.", criteria=12))).answer
        == (results["First essay."])
    )
    assert results["First essay."] != results["Second essay."]


def test_without_thinking_there_is_no_trace(make_task: Callable[..., GradingTask]) -> None:
    generation = ScriptedBackend(SPEC).generate(request_for(make_task(), enable_thinking=False))

    assert generation.trace == ""
    assert generation.thinking_tokens == 0


@pytest.mark.parametrize(
    ("marker", "permanent"),
    [("[[scripted:permanent-error]]", True), ("[[scripted:transient-error]]", False)],
)
def test_error_markers_raise(
    make_task: Callable[..., GradingTask], marker: str, permanent: bool
) -> None:
    with pytest.raises(BackendError) as caught:
        ScriptedBackend(SPEC).generate(request_for(make_task(f"Essay {marker}")))

    assert caught.value.permanent is permanent


def test_the_garbage_marker_gives_an_unparseable_answer(
    make_task: Callable[..., GradingTask],
) -> None:
    generation = ScriptedBackend(SPEC).generate(request_for(make_task("[[scripted:garbage]]")))

    assert generation.answer == "not json"


def test_the_sleep_marker_streams_the_trace_then_sleeps(
    make_task: Callable[..., GradingTask],
) -> None:
    traces: list[str] = []
    started = time.monotonic()

    generation = ScriptedBackend(SPEC).generate(
        request_for(make_task("Essay [[scripted:sleep=0.3]]")), on_trace=traces.append
    )

    assert time.monotonic() - started >= 0.3
    assert traces == [generation.trace]


def test_get_backend_keeps_one_instance_per_spec() -> None:
    first = get_backend(SPEC)

    assert get_backend(SPEC) is first
    assert get_backend(ModelSpec(backend="scripted", model="other")) is not first
    clear_backend_cache()
    assert get_backend(SPEC) is not first


def test_an_unknown_backend_is_a_permanent_error() -> None:
    with pytest.raises(BackendError) as caught:
        get_backend(ModelSpec(backend="nonsense", model="x"))

    assert caught.value.permanent
    assert "'nonsense'" in str(caught.value)
    assert "scripted" in str(caught.value)


def test_the_scripted_backend_does_not_import_torch() -> None:
    # Workers and web processes on the scripted backend must start fast and without torch.
    code = (
        "import sys\n"
        "from grading.llm.backends import get_backend\n"
        "from grading.llm.types import ModelSpec\n"
        "get_backend(ModelSpec(backend='scripted', model='scripted'))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)
