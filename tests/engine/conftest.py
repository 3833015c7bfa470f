"""Tiny models of each family, and OpenAI-compatible servers serving them on loopback."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from grading.llm.schema import AnswerLimits
from grading.llm.thinking import THINK_END_TOKEN_ID
from tests.engine.openai_server import TinyOpenAIServer
from tests.tiny_qwen import build_tiny_qwen3

# Random weights fill every string to its maxLength, so small limits keep answers short; the
# product's limits (schema.DEFAULT_LIMITS) are not touched.
SMALL_LIMITS = AnswerLimits(
    justification_max_chars=12,
    feedback_max_chars=16,
    evidence_max_items=1,
    evidence_max_chars=12,
    reasoning_max_chars=32,
)

# Qwen2.5-Instruct's chat template without its tool-calling branches: no thinking switch at all.
QWEN25_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
    "assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if not (message.role == 'system' and loop.first) %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
# QwQ's template opens the thought in the prompt: the model always thinks.
QWQ_TEMPLATE = QWEN25_TEMPLATE.replace(
    "{{- '<|im_start|>assistant\\n' }}", "{{- '<|im_start|>assistant\\n<think>\\n' }}"
)


def with_chat_template(source: Path, target: Path, template: str) -> Path:
    """A copy of the model folder `source` whose tokenizer has another chat template."""
    shutil.copytree(source, target)
    tokenizer = AutoTokenizer.from_pretrained(target)
    tokenizer.chat_template = template
    tokenizer.save_pretrained(target)
    return target


@pytest.fixture(scope="session")
def closing_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Qwen3 that writes </think> often, so its thoughts end before the budget."""
    return build_tiny_qwen3(
        tmp_path_factory.mktemp("engine-closing") / "model", favoured_token_id=THINK_END_TOKEN_ID
    )


@pytest.fixture(scope="session")
def qwen25_model_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return with_chat_template(
        tiny_model_dir, tmp_path_factory.mktemp("engine-qwen25") / "model", QWEN25_TEMPLATE
    )


@pytest.fixture(scope="session")
def qwq_model_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return with_chat_template(
        tiny_model_dir, tmp_path_factory.mktemp("engine-qwq") / "model", QWQ_TEMPLATE
    )


@pytest.fixture(scope="session")
def server(closing_model_dir: Path) -> Iterator[TinyOpenAIServer]:
    """vLLM-like: reasoning in `reasoning_content`, a model that closes its thoughts."""
    running = TinyOpenAIServer(closing_model_dir).start()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _reset_server(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "server" in request.fixturenames:
        server = request.getfixturevalue("server")
        server.failures.clear()
        server.requests.clear()
        server.headers.clear()
        server.token_delay_seconds = 0.0
        server.api_key = None
