"""Long inputs: a model configured for YaRN, as Qwen documents it, takes prompts beyond its
native position limit; the same model without it refuses them with a clear message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grading.llm.backends.base import BackendError
from grading.llm.backends.transformers_local import TransformersBackend
from grading.llm.prompt import build_messages
from grading.llm.schema import AnswerLimits, answer_schema, parse_answer
from grading.llm.types import GenerationRequest, GenerationSettings, ModelSpec
from tests.tiny_qwen import build_tiny_qwen3

pytestmark = pytest.mark.slow

NATIVE_POSITIONS = 1024
YARN_FACTOR = 4.0  # YaRN stretches the native 1,024 positions to 4,096
LIMITS = AnswerLimits(
    justification_max_chars=20, feedback_max_chars=20, evidence_max_items=1, evidence_max_chars=10
)


def tiny_model(folder: Path, *, yarn: bool) -> TransformersBackend:
    build_tiny_qwen3(folder, max_position_embeddings=NATIVE_POSITIONS)
    if yarn:
        # Qwen's instructions for long texts: add this to the model's config.json.
        config_path = folder / "config.json"
        config = json.loads(config_path.read_text())
        config.pop("rope_parameters", None)
        config["rope_scaling"] = {
            "rope_type": "yarn",
            "factor": YARN_FACTOR,
            "original_max_position_embeddings": NATIVE_POSITIONS,
        }
        config_path.write_text(json.dumps(config))
    return TransformersBackend(ModelSpec(backend="transformers", model=str(folder)))


@pytest.fixture
def long_request(make_task) -> GenerationRequest:
    task = make_task("Cats purr. " * 600)  # about 1,800 tokens of prompt: past 1,024
    return GenerationRequest(
        messages=tuple(build_messages(task)),
        json_schema=answer_schema(task.rubric, LIMITS),
        settings=GenerationSettings(
            thinking_budget=8, max_answer_tokens=200, context_limit=32768, seed=1
        ),
    )


def test_a_yarn_model_grades_a_prompt_beyond_its_native_positions(
    tmp_path: Path, long_request: GenerationRequest, make_task
) -> None:
    backend = tiny_model(tmp_path / "yarn", yarn=True)
    assert backend.model.config.rope_parameters["rope_type"] == "yarn"

    generation = backend.generate(long_request)

    assert NATIVE_POSITIONS < generation.prompt_tokens < NATIVE_POSITIONS * YARN_FACTOR
    assert generation.answer_complete
    parse_answer(generation.answer, make_task().rubric, LIMITS)


def test_without_yarn_the_same_prompt_is_refused_as_too_long(
    tmp_path: Path, long_request: GenerationRequest
) -> None:
    backend = tiny_model(tmp_path / "plain", yarn=False)
    with pytest.raises(BackendError, match="the limit is 1,024 tokens") as refused:
        backend.generate(long_request)
    assert refused.value.input_too_long
