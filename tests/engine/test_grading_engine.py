"""The engine through the grading service: profiles, families, backends, evidence, samples.

Real models where it matters (the tiny seeded Qwen3 with the real tokenizer, in each family's chat
template; the loopback OpenAI-compatible server); a stub backend where a test needs answers it
chooses (invented evidence, disagreeing samples).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grading.llm import families
from grading.llm.backends import base
from grading.llm.backends.base import GradingBackend
from grading.llm.prompt import PROMPT_VERSION
from grading.llm.schema import CONTROL_CHARACTERS, DEFAULT_LIMITS, AnswerLimits
from grading.llm.types import Generation, GenerationRequest
from grading.models import GradingRun, ModelProfile
from grading.services import grading as grading_service
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.rubrics import CriterionInput, LevelInput, rubric_create
from tests.engine.conftest import SMALL_LIMITS
from tests.engine.openai_server import TinyOpenAIServer

pytestmark = pytest.mark.django_db

STUDENT_TEXT = "Recursion is a function calling itself.\nThe base case stops it."


def make_profile(model: Path | str, **fields: object) -> ModelProfile:
    values: dict[str, object] = {
        "name": "tiny",
        "backend": "transformers",
        "model": str(model),
        "dtype": "float32",
        "thinking_budget": 16,
        "max_answer_tokens": 600,
        "context_limit": 8192,
    }
    return ModelProfile.objects.create(**(values | fields))


FIXED_SEED = 1234


@pytest.fixture(autouse=True)
def _fixed_run_seed(monkeypatch) -> None:
    # Runs draw a random seed; these tests grade with random-weight models whose output varies
    # with it (with some seeds a model ends its turn inside the thought, and a server then sends
    # no answer at all). A fixed seed keeps every test here deterministic.
    monkeypatch.setattr("grading.services.grading.secrets.randbelow", lambda _: FIXED_SEED)


def grade(submission, educator, limits: AnswerLimits = SMALL_LIMITS) -> GradingRun:
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk, limits=limits)
    run.refresh_from_db()
    return run


@pytest.fixture
def essay(assignment, student, make_submission):
    return make_submission(assignment, student, STUDENT_TEXT)


# --- Profiles and the snapshot -----------------------------------------------------------------


def test_the_default_profile_grades_assignments_that_name_none(assignment, educator, essay):
    make_profile("scripted", name="other", backend="scripted")
    default = make_profile(
        "scripted", name="house default", backend="scripted", is_default=True, revision="abc123"
    )

    run = grade(essay, educator)

    assert run.status == GradingRun.Status.SUCCEEDED, run.error
    snapshot = run.model_snapshot
    assert snapshot["profile"] == "house default" and snapshot["profile_id"] == default.pk
    assert snapshot["revision"] == "abc123"
    assert snapshot["used"]["family"] == "qwen3" and snapshot["used"]["enable_thinking"]
    # Everything needed to grade again the same way is on the run.
    assert run.prompt_version == PROMPT_VERSION
    assert run.seed is not None and run.model_revision == "scripted"


def test_the_assignments_own_profile_wins_over_the_default(assignment, educator, essay):
    make_profile("scripted", name="house default", backend="scripted", is_default=True)
    assignment.model_profile = make_profile("scripted", name="own", backend="scripted")
    assignment.save()

    assert grade(essay, educator).model_snapshot["profile"] == "own"


def test_without_any_profile_the_settings_model_is_used(
    scripted_model, assignment, educator, essay
):
    snapshot = grade(essay, educator).model_snapshot

    assert snapshot["profile"] == "default (settings)" and snapshot["backend"] == "scripted"


def test_thinking_off_gets_qwens_non_thinking_sampling_unless_the_profile_chose_its_own(
    assignment, educator, essay
):
    assignment.model_profile = make_profile("scripted", backend="scripted", enable_thinking=False)
    assignment.save()
    snapshot = grade(essay, educator).model_snapshot
    assert (snapshot["temperature"], snapshot["top_p"], snapshot["top_k"]) == (0.7, 0.8, 20)

    ModelProfile.objects.filter(pk=assignment.model_profile_id).update(temperature=0.2)
    again = grade(essay, educator)
    assert again.model_snapshot["temperature"] == 0.2
    assert again.model_snapshot["api_key_env"] == ""  # the variable's name at most, never a key


# --- Families and budgets through the tiny Qwen3 -------------------------------------------------


@pytest.mark.slow
def test_thinking_budget_reached_is_flagged_and_the_trace_streams_into_the_run(
    assignment, educator, essay, tiny_model_dir, monkeypatch
):
    assignment.model_profile = make_profile(tiny_model_dir)
    assignment.save()
    monkeypatch.setattr(base, "TRACE_FLUSH_SECONDS", 0)
    monkeypatch.setattr("grading.llm.backends.transformers_local.TRACE_FLUSH_SECONDS", 0)
    stored: list[str] = []
    counted: list[int | None] = []
    real_writer = grading_service._trace_writer

    def watching_writer(run_id, index, count):
        write = real_writer(run_id, index, count)

        def write_and_read(trace: str, tokens: int | None = None) -> None:
            write(trace, tokens)
            row = GradingRun.objects.get(pk=run_id)
            stored.append(row.reasoning_trace)
            counted.append(row.thinking_tokens)

        return write_and_read

    monkeypatch.setattr(grading_service, "_trace_writer", watching_writer)

    run = grade(essay, educator)

    assert run.status == GradingRun.Status.SUCCEEDED, run.error
    assert GradingRun.Flag.THINKING_BUDGET_REACHED in run.flags
    assert run.thinking_tokens == 16
    # The row held a growing trace while the model was still thinking.
    assert len(stored) > 1 and len(stored[-1]) > len(stored[0])
    assert all(
        later.startswith(earlier) for earlier, later in zip(stored, stored[1:], strict=False)
    )
    # Its token count grew with it, for the page's count and the dashboard's ETA.
    assert counted[0] > 0 and counted == sorted(counted) and counted[-1] <= 16
    assert re_sha(run.model_revision)
    assert run.results.count() == 2


def re_sha(revision: str) -> bool:
    return revision.startswith("sha256:") and len(revision) == len("sha256:") + 16


@pytest.mark.slow
def test_a_qwen3_with_thinking_off_answers_without_a_trace(
    assignment, educator, essay, tiny_model_dir
):
    assignment.model_profile = make_profile(tiny_model_dir, enable_thinking=False)
    assignment.save()

    run = grade(essay, educator)

    assert run.status == GradingRun.Status.SUCCEEDED, run.error
    assert run.reasoning_trace == "" and run.thinking_tokens == 0
    assert run.flags == [] or run.flags == [GradingRun.Flag.UNVERIFIABLE_EVIDENCE]


@pytest.mark.slow
def test_a_qwen25_style_model_reasons_in_the_answers_reasoning_field(
    assignment, educator, essay, qwen25_model_dir, monkeypatch
):
    assignment.model_profile = make_profile(qwen25_model_dir)  # thinking on, but it cannot
    assignment.save()
    seen: list[GenerationRequest] = []
    spy_requests(monkeypatch, seen)

    run = grade(essay, educator)

    assert run.status == GradingRun.Status.SUCCEEDED, run.error
    assert run.model_snapshot["used"]["family"] == "qwen2.5"
    assert run.model_snapshot["used"]["enable_thinking"] is False
    assert run.thinking_tokens == 0
    assert list(seen[0].json_schema["properties"])[0] == "reasoning"
    assert run.reasoning_trace == CONTROL_CHARACTERS.sub(
        "", json.loads(run.raw_answer, strict=False)["reasoning"]
    )
    assert run.reasoning_trace


@pytest.mark.slow
def test_a_qwq_style_model_always_thinks(assignment, educator, essay, qwq_model_dir):
    assignment.model_profile = make_profile(
        qwq_model_dir, enable_thinking=False, thinking_budget=16
    )
    assignment.save()

    run = grade(essay, educator)

    assert run.status == GradingRun.Status.SUCCEEDED, run.error
    assert run.model_snapshot["used"]["family"] == "qwq"
    assert run.model_snapshot["used"]["enable_thinking"] is True
    assert run.model_snapshot["used"]["temperature"] == 0.6  # thinking advice, not greedy
    # The template opened the thought; random weights think until the budget closes it.
    assert run.thinking_tokens == 16 and run.reasoning_trace
    assert GradingRun.Flag.THINKING_BUDGET_REACHED in run.flags


def test_an_explicit_family_overrides_detection(assignment, educator, essay):
    # The scripted backend detects nothing (it reports qwen3); the profile says Qwen2.5.
    assignment.model_profile = make_profile("scripted", backend="scripted", family="qwen2.5")
    assignment.save()

    run = grade(essay, educator)

    assert run.status == GradingRun.Status.SUCCEEDED, run.error
    assert run.model_snapshot["used"]["family"] == "qwen2.5"
    assert run.model_snapshot["used"]["enable_thinking"] is False
    assert run.reasoning_trace == CONTROL_CHARACTERS.sub(
        "", json.loads(run.raw_answer, strict=False)["reasoning"]
    )


@pytest.mark.slow
def test_a_submission_beyond_the_context_fails_flagged_input_too_long(
    assignment, educator, essay, tiny_model_dir
):
    assignment.model_profile = make_profile(tiny_model_dir, context_limit=700)
    assignment.save()

    run = grade(essay, educator)

    assert run.status == GradingRun.Status.FAILED
    assert run.flags == [GradingRun.Flag.INPUT_TOO_LONG]
    assert run.error.startswith("Too long for the model's context")
    assert not run.results.exists()


def rubric_with(criteria: int, educator):
    return rubric_create(
        name=f"{criteria} criteria",
        criteria=[
            CriterionInput(
                title=f"Criterion {number}",
                max_points=2,
                levels=[LevelInput("Good", 2), LevelInput("Poor", 0)],
            )
            for number in range(1, criteria + 1)
        ],
        created_by=educator,
    )


# Twelve criteria of random text: no quotes and the shortest strings keep the answer near 300
# tokens (random weights fill every string to its limit).
TWELVE_LIMITS = AnswerLimits(
    justification_max_chars=1, feedback_max_chars=1, evidence_max_items=0, evidence_max_chars=1
)


@pytest.mark.slow
@pytest.mark.parametrize(("criteria", "limits"), [(1, SMALL_LIMITS), (12, TWELVE_LIMITS)])
def test_rubrics_of_one_and_of_twelve_criteria_grade(
    assignment, educator, essay, tiny_model_dir, criteria, limits
):
    assignment.rubric_version = rubric_with(criteria, educator)
    # Greedy decoding (allowed without thinking) skips the sampling warpers, which sort the whole
    # vocabulary at every token: the slow part on a CPU.
    assignment.model_profile = make_profile(
        tiny_model_dir, enable_thinking=False, temperature=0.0, max_answer_tokens=1000
    )
    assignment.save()

    run = grade(essay, educator, limits=limits)

    assert run.status == GradingRun.Status.SUCCEEDED, run.error
    results = list(run.results.order_by("criterion__order"))
    assert [result.criterion.key for result in results] == [f"C{n}" for n in range(1, criteria + 1)]
    # Points always agree with the level: "Good" allows 1 to 2, "Poor" only 0.
    for result in results:
        assert (result.level_label == "Good") == (result.points >= 1)
    assert run.total == sum(result.points for result in results)


# --- The OpenAI-compatible backend through the service -----------------------------------------


@pytest.mark.slow
def test_a_run_grades_through_an_openai_compatible_server(
    assignment, educator, essay, server: TinyOpenAIServer
):
    assignment.model_profile = make_profile(
        "tiny-qwen3", backend="openai", api_base=server.url, thinking_budget=200
    )
    assignment.save()

    run = grade(essay, educator)

    assert run.status == GradingRun.Status.SUCCEEDED, run.error
    # The run's seed is random and this model may close its thought at once, so the trace can
    # be empty; the backend tests check the split with a fixed seed.
    assert server.requests[-1]["chat_template_kwargs"] == {"enable_thinking": True}
    assert server.requests[-1]["seed"] == run.seed
    assert run.model_snapshot["api_base"] == server.url
    assert run.results.count() == 2


@pytest.mark.slow
def test_an_openai_compatible_server_gets_the_same_answer_budget_and_shrunk_schema(
    assignment, educator, essay, server: TinyOpenAIServer
):
    budget = 300  # too small for the product's text bounds, so they shrink
    assignment.model_profile = make_profile(
        "tiny-qwen3",
        backend="openai",
        api_base=server.url,
        enable_thinking=False,
        max_answer_tokens=budget,
    )
    assignment.save()

    run = grade(essay, educator, limits=DEFAULT_LIMITS)

    assert run.status == GradingRun.Status.SUCCEEDED, run.error
    used = run.model_snapshot["used"]
    assert used["max_answer_tokens"] == budget and used["answer_token_bound"] <= budget
    body = server.requests[-1]
    assert body["max_tokens"] == budget
    schema = body["response_format"]["json_schema"]["schema"]
    assert (
        schema["properties"]["feedback"]["maxLength"]
        == (used["answer_limits"]["feedback_max_chars"])
        < DEFAULT_LIMITS.feedback_max_chars
    )


@pytest.mark.slow
# --- Evidence and self-consistency, with answers the test chooses ------------------------------


class StubBackend(GradingBackend):
    """Answers call n with the n-th answer a test chose (round and round)."""

    answers: list[dict] = []
    calls = 0

    def generate(self, request, *, on_trace=None) -> Generation:
        answer = self.answers[StubBackend.calls % len(self.answers)]
        StubBackend.calls += 1
        return Generation(
            trace="Stub reasoning.",
            answer=json.dumps(answer),
            prompt_tokens=10,
            thinking_tokens=3,
            answer_tokens=20,
            model_revision="stub",
        )


def spy_requests(monkeypatch, seen: list[GenerationRequest]) -> None:
    real = grading_service.get_backend

    def spying(spec):
        backend = real(spec)
        generate_batch = backend.generate_batch

        def record(requests, **kwargs):
            seen.extend(requests)
            return generate_batch(requests, **kwargs)

        monkeypatch.setattr(backend, "generate_batch", record)
        return backend

    monkeypatch.setattr(grading_service, "get_backend", spying)


def answer(c1: tuple[str, int, list[str]], c2: tuple[str, int, list[str]]) -> dict:
    def score(level: str, points: int, evidence: list[str]) -> dict:
        return {"evidence": evidence, "justification": "j", "level": level, "points": points}

    return {"scores": {"C1": score(*c1), "C2": score(*c2)}, "feedback": f"C1 gets {c1[1]}."}


@pytest.fixture
def stub(monkeypatch, scripted_model):
    monkeypatch.setattr(grading_service, "get_backend", lambda spec: StubBackend(spec))

    def use(*answers: dict) -> None:
        StubBackend.answers = list(answers)
        StubBackend.calls = 0

    return use


def test_quotes_are_verified_and_invented_ones_flag_the_run(stub, educator, essay):
    stub(
        answer(
            ("Excellent", 4, ["a function  CALLING itself. The base"]),
            ("Clear", 2, ["Recursion is always slow", "base case"]),
        )
    )

    run = grade(essay, educator, limits=DEFAULT_LIMITS)

    assert run.status == GradingRun.Status.SUCCEEDED, run.error
    evidence = {result.criterion.key: result.evidence for result in run.results.all()}
    assert evidence["C1"] == [{"quote": "a function  CALLING itself. The base", "verified": True}]
    assert evidence["C2"] == [
        {"quote": "Recursion is always slow", "verified": False},
        {"quote": "base case", "verified": True},
    ]
    assert GradingRun.Flag.UNVERIFIABLE_EVIDENCE in run.flags


def test_the_review_page_marks_real_and_invented_evidence(stub, educator, essay):
    from django.urls import reverse

    from tests.conftest import client_for

    stub(answer(("Excellent", 4, ["calling itself"]), ("Clear", 2, ["made up words"])))
    grade(essay, educator, limits=DEFAULT_LIMITS)

    page = client_for(educator).get(reverse("submission_review", args=[essay.pk]))

    html = page.content.decode()
    assert '<li class="evidence-verified"><q>calling itself</q>' in html
    assert '<li class="evidence-unverified"><q>made up words</q>' in html
    assert "not found in the submission" in html


def test_self_consistency_stores_every_sample_the_median_and_the_spread(
    stub, assignment, educator, essay
):
    assignment.self_consistency_samples = 3
    assignment.save()
    stub(
        answer(("Excellent", 4, []), ("Clear", 2, [])),
        answer(("Wrong", 0, []), ("Clear", 2, [])),
        answer(("Partial", 2, []), ("Clear", 2, [])),
    )

    run = grade(essay, educator)

    assert run.status == GradingRun.Status.SUCCEEDED, run.error
    assert [sample["seed"] for sample in run.samples] == [run.seed, run.seed + 1, run.seed + 2]
    assert [sample["scores"]["C1"]["points"] for sample in run.samples] == [4, 0, 2]
    assert run.spread == {"C1": 4, "C2": 0}
    points = {result.criterion.key: result.points for result in run.results.all()}
    assert points == {"C1": 2, "C2": 2}  # the median of 4, 0, 2
    assert run.results.get(criterion__order=1).level_label == "Partial"
    assert run.feedback == "C1 gets 2."  # from the sample that agrees with the result
    assert run.total == 4
    # 4 of 4 points apart is far above a quarter of the criterion: a person should look first.
    assert GradingRun.Flag.HIGH_SPREAD in run.flags


def test_samples_that_agree_raise_no_flag(stub, assignment, educator, essay):
    assignment.self_consistency_samples = 2
    assignment.save()
    stub(answer(("Excellent", 4, []), ("Clear", 2, [])))

    run = grade(essay, educator)

    assert run.spread == {"C1": 0, "C2": 0}
    assert GradingRun.Flag.HIGH_SPREAD not in run.flags
    assert len(run.samples) == 2


def test_the_family_constants_match_the_profile_choices() -> None:
    # The profile stores family names that grading.llm.families must understand.
    assert {value for value, _ in ModelProfile.Family.choices} == {
        families.AUTO,
        *(family.value for family in families.Family),
    }
