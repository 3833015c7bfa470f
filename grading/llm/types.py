"""Plain data passed between the Django side and the model side."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Level:
    label: str
    points: int
    descriptor: str = ""


@dataclass(frozen=True)
class Criterion:
    # "C1", "C2", …: stable within a rubric version; the key the model answers with.
    key: str
    title: str
    description: str
    max_points: int
    levels: tuple[Level, ...]


@dataclass(frozen=True)
class Rubric:
    title: str
    criteria: tuple[Criterion, ...]

    @property
    def max_total(self) -> int:
        return sum(criterion.max_points for criterion in self.criteria)


@dataclass(frozen=True)
class GradingTask:
    """Everything the model may see. No student name, email, id or file name, on purpose."""

    assignment_title: str
    task: str
    reference: str  # marking notes for the grader; may be empty
    rubric: Rubric
    submission_text: str


@dataclass(frozen=True)
class GenerationSettings:
    """Sampling and limits for one grading call. Defaults are Qwen's thinking-mode advice."""

    enable_thinking: bool = True
    temperature: float = 0.6
    top_p: float = 0.95
    top_k: int = 20
    min_p: float = 0.0
    thinking_budget: int = 2048  # most tokens of reasoning before the thought is closed
    max_answer_tokens: int = 1536
    context_limit: int = 32768  # prompt + thinking + answer must fit
    seed: int | None = None


@dataclass(frozen=True)
class ModelSpec:
    """Which model a worker loads; equal specs share one loaded backend per process."""

    backend: str  # a name registered in grading.llm.backends
    model: str  # hub id or local folder
    device: str = "cpu"
    dtype: str = "auto"


@dataclass(frozen=True)
class GenerationRequest:
    messages: tuple[dict[str, str], ...]
    json_schema: dict[str, Any]
    settings: GenerationSettings


@dataclass(frozen=True)
class Generation:
    """What a backend produced: the reasoning and the answer, split at </think>."""

    trace: str
    answer: str
    prompt_tokens: int
    thinking_tokens: int
    answer_tokens: int
    thinking_budget_reached: bool = False
    answer_complete: bool = True  # False when max_answer_tokens ran out mid-answer
    model_revision: str = ""  # weights hash or revision, for reproducing the grade
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CriterionScore:
    key: str
    level: str
    points: int
    justification: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class GradedAnswer:
    scores: tuple[CriterionScore, ...]
    feedback: str

    @property
    def total(self) -> int:
        return sum(score.points for score in self.scores)
