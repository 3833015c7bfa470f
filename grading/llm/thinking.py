"""Qwen3 thinking-mode conventions: the special tokens, the budget's closing sentence, the split.

A Qwen3 reply in thinking mode reads "<think>\\n…reasoning…\\n</think>\\n\\nanswer". The original
Qwen3 chat template leaves "<think>" for the model to write; later thinking templates (Qwen3-2507,
QwQ) put it in the prompt, so generated text may hold only the closing tag.
"""

from __future__ import annotations

THINK_START_TOKEN_ID = 151667  # "<think>"
THINK_END_TOKEN_ID = 151668  # "</think>"
IM_END_TOKEN_ID = 151645  # "<|im_end|>", the end of a chat turn (Qwen3's eos)

THINK_START = "<think>"
THINK_END = "</think>"

# What Qwen inserts when the thinking budget runs out (Qwen3 Technical Report, section 4.3,
# "Thinking Budget"): the model then answers from its partial reasoning. The text closes the
# thought itself.
EARLY_STOP_SENTENCE = (
    "Considering the limited time by the user, I have to give the solution based on the "
    "thinking directly now."
)
EARLY_STOP_TEXT = f"\n\n{EARLY_STOP_SENTENCE}\n{THINK_END}\n\n"


def split_thinking(text: str) -> tuple[str, str]:
    """Split a reply into (trace, answer).

    - "<think>…</think>answer" and "…</think>answer" (opening tag in the prompt): split at the
      first closing tag.
    - "<think>…" with no closing tag: the thought never ended, so it is all trace and no answer.
    - no tags at all: a reply without thinking, so it is all answer.
    """
    head, closed, tail = text.partition(THINK_END)
    if closed:
        return _strip_opening(head), tail.lstrip("\n")
    if text.lstrip().startswith(THINK_START):
        return _strip_opening(text), ""
    return "", text


def _strip_opening(thought: str) -> str:
    thought = thought.lstrip()
    if thought.startswith(THINK_START):
        thought = thought[len(THINK_START) :]
    return thought.strip("\n")
