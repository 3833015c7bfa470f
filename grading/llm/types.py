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
    presence_penalty: float = 0.0  # 0 to 2; Qwen suggests raising it if a model repeats itself
    repetition_penalty: float = 1.0  # 1 = off
    thinking_budget: int = 2048  # most tokens of reasoning before the thought is closed
    max_answer_tokens: int = 1536
    context_limit: int = 32768  # prompt + thinking + answer must fit
    seed: int | None = None


@dataclass(frozen=True)
class ModelSpec:
    """Which model a worker loads; equal specs share one loaded backend per process."""

    backend: str  # a name registered in grading.llm.backends
    model: str  # hub id, local folder, or the name a server serves it under
    revision: str = ""  # hub revision (branch, tag or commit) to load; "" = the default branch
    device: str = "cpu"
    dtype: str = "auto"
    quantization: str = ""  # "", "8bit" or "4bit" (bitsandbytes, CUDA only)
    # OpenAI-compatible servers only.
    api_base: str = ""
    api_key_env: str = ""  # the name of the environment variable holding the key, never the key
    request_timeout_seconds: float = 600.0


@dataclass(frozen=True)
class GenerationRequest:
    messages: tuple[dict[str, str], ...]
    json_schema: dict[str, Any]
    settings: GenerationSettings
    # The named parts of the messages an educator or student wrote (prompt.prompt_parts), so a
    # prompt too long for the context can say which part is large.
    prompt_parts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Generation:
    """What a backend produced: the reasoning and the answer, split at </think>."""

    trace: str
    answer: str
    prompt_tokens: int
    thinking_tokens: int
    answer_tokens: int
    thinking_budget_reached: bool = False
    # The thought was cut off without being closed (a server hit its token limit mid-thought),
    # so there is no answer to parse.
    trace_truncated: bool = False
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
    reasoning: str = ""  # the answer's own reasoning field, for models that cannot think

    @property
    def total(self) -> int:
        return sum(score.points for score in self.scores)
