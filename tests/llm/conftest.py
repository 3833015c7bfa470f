"""Shared fixtures for the model side: rubrics, tasks, the real tokenizer, tiny Qwen3 models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from grading.llm.thinking import THINK_END_TOKEN_ID
from grading.llm.types import Criterion, GradingTask, Level, Rubric
from tests.tiny_qwen import TOKENIZER_DIR, build_tiny_qwen3

MAX_POINTS = 4
LEVELS = (
    Level("Excellent", 4, "Complete, correct and clearly argued."),
    Level("Adequate", 2, "Mostly correct, with gaps."),
    Level("Missing", 0, "Not attempted."),
)


def _rubric(criteria: int) -> Rubric:
    return Rubric(
        title="Essay rubric",
        criteria=tuple(
            Criterion(
                key=f"C{number}",
                title=f"Criterion {number}",
                description=f"What criterion {number} looks for.",
                max_points=MAX_POINTS,
                levels=LEVELS,
            )
            for number in range(1, criteria + 1)
        ),
    )


@pytest.fixture
def make_rubric() -> Callable[[int], Rubric]:
    return _rubric


@pytest.fixture
def make_task() -> Callable[..., GradingTask]:
    def make(
        submission: str = "Cats are better than dogs because...", criteria: int = 2
    ) -> GradingTask:
        return GradingTask(
            assignment_title="Persuasive essay",
            task="Argue for your favourite pet in 200 words.",
            reference="A strong essay states a thesis and supports it with two reasons.",
            rubric=_rubric(criteria),
            submission_text=submission,
        )

    return make


@pytest.fixture(scope="session")
def qwen_tokenizer() -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(TOKENIZER_DIR)


@pytest.fixture(scope="session")
def thought_closing_qwen_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Qwen3 that writes </think> often, so its thoughts end before the budget."""
    return build_tiny_qwen3(
        tmp_path_factory.mktemp("closing-qwen3") / "model", favoured_token_id=THINK_END_TOKEN_ID
    )
