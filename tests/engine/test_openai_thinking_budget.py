"""The thinking budget on an OpenAI-compatible server (issue 3): close the thought, then answer.

The first request's max_tokens is the budget; a thought still open when it runs out is closed with
Qwen's early-stop sentence and `</think>` in a second request that continues the assistant turn
(vLLM's continue_final_message), and only that request writes the answer. The loopback server
renders the continuation with the real Qwen3 chat template, as vLLM does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from transformers import AutoTokenizer

from grading.llm.backends.base import BackendError
from grading.llm.schema import parse_answer
from grading.llm.thinking import EARLY_STOP_SENTENCE, EARLY_STOP_TEXT
from grading.llm.types import Generation, GradingTask
from grading.models import GradingRun
from tests.engine.conftest import SMALL_LIMITS
from tests.engine.openai_server import ASSISTANT_TURN, TinyOpenAIServer
from tests.engine.test_grading_engine import FIXED_SEED, grade, make_profile
from tests.engine.test_openai_backend import RUBRIC, backend_for, request_for
from tests.tiny_qwen import TOKENIZER_DIR

pytestmark = pytest.mark.slow

BUDGET = 24
ANSWER_TOKENS = 400


TASK = GradingTask("Pets", "Argue for a pet.", "", RUBRIC, "Cats purr. Dogs bark at night.")


@pytest.fixture
def task() -> GradingTask:
    return TASK


@pytest.fixture
def endless(tiny_model_dir: Path) -> Iterator[TinyOpenAIServer]:
    """Random weights never write </think>, so every thought runs into the budget."""
    running = TinyOpenAIServer(tiny_model_dir).start()
    yield running
    running.stop()


@dataclass(frozen=True)
class Exchange:
    """One grading over the budget: what the backend returned and what the server saw."""

    generation: Generation
    requests: list[dict[str, Any]]
    prompts: list[str]


@pytest.fixture(scope="module")
def over_budget(tiny_model_dir: Path) -> Exchange:
    """Graded once for the tests that only look at it: the tiny model answers slowly."""
    running = TinyOpenAIServer(tiny_model_dir).start()
    try:
        generation = grade_over_budget(running, TASK)
    finally:
        running.stop()
    return Exchange(generation, running.requests, running.prompts)


def grade_over_budget(server: TinyOpenAIServer, task: GradingTask, **settings: object):
    values: dict[str, object] = {"thinking_budget": BUDGET, "max_answer_tokens": ANSWER_TOKENS}
    return backend_for(server.url).generate(request_for(task, **(values | settings)))


def thought_of_first_reply(generation: Generation) -> str:
    """The reasoning the first request streamed: the trace without the closing sentence."""
    return generation.trace.removesuffix(EARLY_STOP_SENTENCE).rstrip("\n")


def test_a_thought_that_reaches_the_budget_is_closed_and_then_answered(
    over_budget: Exchange,
) -> None:
    generation = over_budget.generation

    assert generation.thinking_budget_reached
    assert not generation.trace_truncated and generation.answer_complete
    parse_answer(generation.answer, RUBRIC, SMALL_LIMITS)
    # The trace ends as the transformers backend's does, so a reader sees where it was cut.
    assert generation.trace.endswith(f"\n\n{EARLY_STOP_SENTENCE}")
    assert generation.thinking_tokens == BUDGET
    assert generation.answer_tokens > 0
    assert generation.extra["thinking_stop"] == "budget"
    assert generation.extra["requests"] == 2 and len(over_budget.requests) == 2


def test_the_continuation_is_the_request_vllm_expects(over_budget: Exchange) -> None:
    first, second = over_budget.requests
    assert first["max_tokens"] == BUDGET  # the thought gets the budget and no more
    closed_thought = {
        "role": "assistant",
        "content": f"<think>\n{thought_of_first_reply(over_budget.generation)}{EARLY_STOP_TEXT}",
    }
    assert second["messages"] == [*first["messages"], closed_thought]
    assert second["continue_final_message"] is True
    assert second["add_generation_prompt"] is False  # vLLM refuses both set to true
    assert second["response_format"] == first["response_format"]
    assert second["response_format"]["json_schema"]["schema"] == request_for(TASK).json_schema
    assert second["max_tokens"] == ANSWER_TOKENS  # the answer gets all of its own tokens
    # Everything else is the first request's: sampling, seed, the thinking switch, streaming.
    same = ("temperature", "top_p", "top_k", "min_p", "seed", "chat_template_kwargs", "stream")
    assert {name: second[name] for name in same} == {name: first[name] for name in same}


def test_the_server_renders_the_prompt_ending_in_the_closed_thought(over_budget: Exchange) -> None:
    # Qwen3's template moves the assistant's think block into its reasoning and writes it back;
    # the prompt must end exactly after "</think>\n\n", where the answer starts.
    thought = thought_of_first_reply(over_budget.generation)
    assert over_budget.prompts[-1].endswith(f"{ASSISTANT_TURN}<think>\n{thought}{EARLY_STOP_TEXT}")


def test_qwen3s_chat_template_writes_a_closed_thought_back_verbatim() -> None:
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    thought = "Criterion one first.\n\nThe essay argues for cats."
    messages = [
        {"role": "system", "content": "Grade the essay."},
        {"role": "user", "content": "Cats purr."},
        {"role": "assistant", "content": f"<think>\n{thought}{EARLY_STOP_TEXT}"},
    ]

    prompt = tokenizer.apply_chat_template(
        messages,
        tokenize=False,
        continue_final_message=True,
        add_generation_prompt=False,
        enable_thinking=True,
    )

    assert prompt.endswith(
        "<|im_start|>user\nCats purr.<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n"
        "Criterion one first.\n\nThe essay argues for cats.\n\n"
        "Considering the limited time by the user, I have to give the solution based on the "
        "thinking directly now.\n</think>\n\n"
    )


def test_an_answer_cut_by_the_budget_after_the_model_closed_its_thought_is_written_again(
    server: TinyOpenAIServer, task: GradingTask
) -> None:
    # This model closes its thought after a few tokens (with this seed), and its answer is much
    # longer than the budget: the first reply stops inside the answer.
    generation = backend_for(server.url).generate(
        request_for(task, thinking_budget=BUDGET, max_answer_tokens=ANSWER_TOKENS)
    )

    first, second = server.requests
    assert generation.extra["thinking_stop"] == "think_end"
    assert not generation.thinking_budget_reached  # the model ended the thought itself
    assert second["messages"][-1] == {
        "role": "assistant",
        "content": f"<think>\n{generation.trace}\n</think>\n\n",
    }
    assert EARLY_STOP_SENTENCE not in generation.trace
    assert generation.answer_complete
    parse_answer(generation.answer, task.rubric, SMALL_LIMITS)


def test_a_server_that_refuses_to_continue_leaves_a_cut_off_trace_that_says_why(
    endless: TinyOpenAIServer, task: GradingTask
) -> None:
    endless.refuses_continuation = True

    generation = grade_over_budget(endless, task)

    assert len(endless.requests) == 2
    assert generation.trace_truncated and generation.thinking_budget_reached
    assert generation.answer == "" and not generation.answer_complete
    assert generation.trace and EARLY_STOP_SENTENCE not in generation.trace
    error = generation.extra["continuation_error"]
    assert error.startswith("Could not close the thought at the thinking budget")
    assert "HTTP 400" in error and "continue_final_message" in error


def test_a_continuation_beyond_the_context_is_input_too_long(
    endless: TinyOpenAIServer, task: GradingTask
) -> None:
    # The budget fits the server's context; the answer's tokens after it do not.
    with pytest.raises(BackendError) as caught:
        grade_over_budget(endless, task, max_answer_tokens=3800)

    assert caught.value.permanent and caught.value.input_too_long
    assert len(endless.requests) == 2


# --- Through the grading service ---------------------------------------------------------------


@pytest.fixture
def _fixed_run_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    # With some seeds the random-weight model ends its turn inside the thought (no answer at all).
    monkeypatch.setattr("grading.services.grading.secrets.randbelow", lambda _: FIXED_SEED)


@pytest.fixture
def essay(assignment, student, make_submission):
    return make_submission(assignment, student, "Recursion is a function calling itself.")


@pytest.mark.django_db
@pytest.mark.usefixtures("_fixed_run_seed")
def test_a_run_whose_thought_reaches_the_budget_is_graded_and_flagged(
    assignment, educator, essay, endless: TinyOpenAIServer
) -> None:
    assignment.model_profile = make_profile(
        "tiny-qwen3", backend="openai", api_base=endless.url, thinking_budget=BUDGET
    )
    assignment.save()

    run = grade(essay, educator)

    assert run.status == GradingRun.Status.SUCCEEDED, run.error
    assert GradingRun.Flag.THINKING_BUDGET_REACHED in run.flags
    assert GradingRun.Flag.TRUNCATED_TRACE not in run.flags
    assert run.reasoning_trace.endswith(EARLY_STOP_SENTENCE)
    assert run.results.count() == 2


@pytest.mark.django_db
@pytest.mark.usefixtures("_fixed_run_seed")
def test_a_run_on_a_server_that_cannot_continue_fails_with_a_truncated_trace(
    assignment, educator, essay, endless: TinyOpenAIServer
) -> None:
    endless.refuses_continuation = True
    assignment.model_profile = make_profile(
        "tiny-qwen3", backend="openai", api_base=endless.url, thinking_budget=BUDGET
    )
    assignment.save()

    run = grade(essay, educator)

    assert run.status == GradingRun.Status.FAILED
    assert GradingRun.Flag.TRUNCATED_TRACE in run.flags
    assert GradingRun.Flag.THINKING_BUDGET_REACHED in run.flags
    assert "reasoning was cut off" in run.error
    assert run.reasoning_trace  # kept for the educator
