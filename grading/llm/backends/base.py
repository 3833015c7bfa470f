"""What every grading backend provides, and the one error type they raise."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from grading.llm.types import Generation, GenerationRequest, ModelSpec

# The trace streams to the caller (and on to the database) at most this often while the model
# thinks: often enough for an educator watching, rare enough not to hammer the database.
TRACE_FLUSH_SECONDS = 1.0

TraceCallback = Callable[[str], None]


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

    @abstractmethod
    def generate(
        self, request: GenerationRequest, *, on_trace: TraceCallback | None = None
    ) -> Generation:
        """Generate the reasoning and the answer for `request`.

        `on_trace` receives the whole trace so far, at most once per TRACE_FLUSH_SECONDS while
        the model thinks; the final trace is in the returned Generation, not in a last call.
        Raises BackendError.
        """
