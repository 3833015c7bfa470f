"""What every grading backend provides, and the one error type they raise."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol

from grading.llm.families import Family
from grading.llm.types import Generation, GenerationRequest, GenerationSettings, ModelSpec

# The trace streams to the caller (and on to the database) at most this often while the model
# thinks: often enough for an educator watching, rare enough not to hammer the database.
TRACE_FLUSH_SECONDS = 1.0


class TraceCallback(Protocol):
    """Receives the whole trace so far and, from backends that count them, its token count."""

    def __call__(self, trace: str, tokens: int | None = None) -> None: ...


# A classification (the injection check's second stage) answers a few tokens of fixed JSON.
CLASSIFY_MAX_ANSWER_TOKENS = 32

# The range OpenAI-compatible servers accept for presence_penalty.
PRESENCE_PENALTY_RANGE = (-2.0, 2.0)


class BackendError(Exception):
    """A generation failed. `permanent` tells the caller whether retrying could help.

    Permanent: the model cannot be loaded, the input does not fit the context, a bug.
    Transient: a server is unreachable, the GPU ran out of memory because of other work.
    `input_too_long` marks the permanent error of a submission that does not fit the context, so
    the caller can flag it for the educator.
    """

    def __init__(self, message: str, *, permanent: bool, input_too_long: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.input_too_long = input_too_long


class GradingBackend(ABC):
    """Turns one GenerationRequest into one Generation (trace and answer)."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    @property
    def family(self) -> Family:
        """The family this backend detected for its model (see grading.llm.families)."""
        return Family.QWEN3

    @abstractmethod
    def generate(
        self, request: GenerationRequest, *, on_trace: TraceCallback | None = None
    ) -> Generation:
        """Generate the reasoning and the answer for `request`.

        `on_trace` receives the whole trace so far, at most once per TRACE_FLUSH_SECONDS while
        the model thinks; the final trace is in the returned Generation, not in a last call.
        Raises BackendError.
        """

    def classify(
        self,
        messages: Sequence[dict[str, str]],
        json_schema: dict,
        *,
        max_answer_tokens: int = CLASSIFY_MAX_ANSWER_TOKENS,
    ) -> str:
        """A short answer under `json_schema`: thinking off, greedy, the grammar enforcing it.

        For yes/no questions about a text (is this passage an instruction to the grader?).
        Raises BackendError.
        """
        settings = GenerationSettings(
            enable_thinking=False, temperature=0.0, max_answer_tokens=max_answer_tokens, seed=0
        )
        request = GenerationRequest(
            messages=tuple(messages), json_schema=json_schema, settings=settings
        )
        return self.generate(request).answer

    def generate_batch(
        self,
        requests: Sequence[GenerationRequest],
        *,
        on_trace: Sequence[TraceCallback | None] | None = None,
    ) -> list[Generation | BackendError]:
        """Generate for several requests; item i is request i's Generation or its BackendError.

        One request's failure (a submission too long for the context, say) does not fail the
        others. Backends that can share work between requests (one forward pass for many
        sequences, concurrent server calls) override this; by default they run one by one.
        """
        callbacks = list(on_trace) if on_trace is not None else [None] * len(requests)
        results: list[Generation | BackendError] = []
        for request, callback in zip(requests, callbacks, strict=True):
            try:
                results.append(self.generate(request, on_trace=callback))
            except BackendError as error:
                results.append(error)
        return results


def check_settings(settings: GenerationSettings) -> None:
    """Refuse settings no backend should run with; raises a permanent BackendError."""
    if settings.temperature < 0 or (settings.enable_thinking and settings.temperature == 0):
        # Qwen warns that greedy decoding makes thinking models repeat themselves endlessly.
        raise BackendError(
            f"Temperature must be above 0 with thinking on (got {settings.temperature}): a "
            f"thinking model must not be decoded greedily. Use Qwen's advice: 0.6 with "
            f"thinking, 0.7 without.",
            permanent=True,
        )
    if settings.enable_thinking and settings.thinking_budget < 1:
        raise BackendError(
            f"The thinking budget must be at least 1 token (got {settings.thinking_budget}); "
            f"to grade without reasoning, turn thinking off.",
            permanent=True,
        )
    if settings.max_answer_tokens < 1:
        raise BackendError(
            f"The answer needs at least 1 token (got {settings.max_answer_tokens}).",
            permanent=True,
        )
    low, high = PRESENCE_PENALTY_RANGE
    if not low <= settings.presence_penalty <= high:
        raise BackendError(
            f"The presence penalty must be between {low} and {high} "
            f"(got {settings.presence_penalty}).",
            permanent=True,
        )
    if settings.repetition_penalty <= 0:
        raise BackendError(
            f"The repetition penalty must be above 0; 1 means none "
            f"(got {settings.repetition_penalty}).",
            permanent=True,
        )
