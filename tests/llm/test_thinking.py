from grading.llm.thinking import EARLY_STOP_TEXT, THINK_END, split_thinking


def test_it_splits_a_full_thinking_reply() -> None:
    trace, answer = split_thinking('<think>\nFirst, the thesis.\n</think>\n\n{"a": 1}')

    assert trace == "First, the thesis."
    assert answer == '{"a": 1}'


def test_it_splits_when_the_opening_tag_was_in_the_prompt() -> None:
    # Qwen3-2507 and QwQ templates end the prompt with "<think>\n": the reply has only "</think>".
    trace, answer = split_thinking("Check the rubric.\n</think>\n\nThe answer.")

    assert trace == "Check the rubric."
    assert answer == "The answer."


def test_a_reply_without_tags_is_all_answer() -> None:
    assert split_thinking('{"scores": {}}') == ("", '{"scores": {}}')


def test_an_unclosed_thought_is_all_trace() -> None:
    # The model ran out of tokens mid-thought: there is no answer to parse.
    assert split_thinking("<think>\nStill thinking about C2") == ("Still thinking about C2", "")


def test_it_splits_at_the_first_closing_tag() -> None:
    # Anything after the first </think> is answer, even if it mentions the tag again.
    trace, answer = split_thinking("<think>a</think>\n\nsee </think> here")

    assert trace == "a"
    assert answer == "see </think> here"


def test_the_empty_think_block_of_non_thinking_mode_gives_an_empty_trace() -> None:
    assert split_thinking("<think>\n\n</think>\n\nAnswer") == ("", "Answer")


def test_the_early_stop_text_closes_the_thought() -> None:
    trace, answer = split_thinking(f"<think>\nPartial{EARLY_STOP_TEXT}Answer")

    assert trace.startswith("Partial\n\nConsidering the limited time by the user")
    assert EARLY_STOP_TEXT.endswith(f"{THINK_END}\n\n")
    assert answer == "Answer"
