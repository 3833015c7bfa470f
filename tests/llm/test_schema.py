"""The answer schema built from a rubric, and the checks on an answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from grading.llm.schema import (
    AnswerError,
    AnswerLimits,
    answer_schema,
    level_bands,
    parse_answer,
)
from grading.llm.types import Criterion, Level, Rubric

LIMITS = AnswerLimits()


def valid_answer(rubric: Rubric) -> dict[str, Any]:
    return {
        "scores": {
            criterion.key: {
                "evidence": ["Cats are better"],
                "justification": "States a thesis.",
                "level": criterion.levels[0].label,
                "points": criterion.max_points,
            }
            for criterion in rubric.criteria
        },
        "feedback": "A clear thesis; add a second reason.",
    }


@pytest.mark.parametrize("criteria", [1, 12])
def test_the_schema_requires_exactly_the_rubric_criteria(
    make_rubric: Callable[[int], Rubric], criteria: int
) -> None:
    rubric = make_rubric(criteria)
    schema = answer_schema(rubric)
    scores = schema["properties"]["scores"]

    keys = [f"C{number}" for number in range(1, criteria + 1)]
    assert scores["required"] == keys
    assert list(scores["properties"]) == keys
    assert scores["additionalProperties"] is False
    assert schema["required"] == ["scores", "feedback"]
    assert list(schema["properties"]) == ["scores", "feedback"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["feedback"]["maxLength"] == LIMITS.feedback_max_chars


def test_each_criterion_is_one_of_its_levels_with_points_in_that_levels_band(
    make_rubric: Callable[[int], Rubric],
) -> None:
    rubric = make_rubric(1)
    criterion = answer_schema(rubric)["properties"]["scores"]["properties"]["C1"]
    branches = criterion["anyOf"]

    # Levels 4, 2 and 0 points: each level allows the points above the next lower level.
    assert [
        (
            branch["properties"]["level"]["const"],
            branch["properties"]["points"]["minimum"],
            branch["properties"]["points"]["maximum"],
        )
        for branch in branches
    ] == [("Excellent", 3, 4), ("Adequate", 1, 2), ("Missing", 0, 0)]
    for branch in branches:
        fields = branch["properties"]
        assert list(fields) == ["evidence", "justification", "level", "points"]
        assert branch["required"] == list(fields)
        assert branch["additionalProperties"] is False
        assert fields["justification"]["maxLength"] == LIMITS.justification_max_chars
        assert fields["evidence"]["maxItems"] == LIMITS.evidence_max_items
        assert fields["evidence"]["items"]["maxLength"] == LIMITS.evidence_max_chars


def test_level_bands_handle_gaps_equal_points_and_a_low_maximum() -> None:
    criterion = Criterion(
        key="C1",
        title="Odd levels",
        description="",
        max_points=5,
        levels=(Level("Top", 7), Level("Good", 3), Level("Also good", 3), Level("Weak", 1)),
    )

    assert level_bands(criterion) == {
        "Top": (4, 5),  # never above the criterion's maximum
        "Good": (2, 3),
        "Also good": (2, 3),
        "Weak": (0, 1),
    }


def test_custom_limits_reach_the_schema(make_rubric: Callable[[int], Rubric]) -> None:
    limits = AnswerLimits(
        justification_max_chars=10,
        feedback_max_chars=20,
        evidence_max_items=1,
        evidence_max_chars=5,
    )
    schema = answer_schema(make_rubric(1), limits)
    fields = schema["properties"]["scores"]["properties"]["C1"]["anyOf"][0]["properties"]

    assert schema["properties"]["feedback"]["maxLength"] == 20
    assert fields["justification"]["maxLength"] == 10
    assert fields["evidence"] == {
        "type": "array",
        "items": {"type": "string", "maxLength": 5},
        "maxItems": 1,
    }


def test_the_reasoning_field_comes_first_and_is_bounded(
    make_rubric: Callable[[int], Rubric],
) -> None:
    rubric = make_rubric(1)
    schema = answer_schema(rubric, LIMITS, reasoning=True)

    assert list(schema["properties"]) == ["reasoning", "scores", "feedback"]
    assert schema["required"] == ["reasoning", "scores", "feedback"]
    assert schema["properties"]["reasoning"]["maxLength"] == LIMITS.reasoning_max_chars
    data = {"reasoning": "The thesis is clear.", **valid_answer(rubric)}
    assert parse_answer(json.dumps(data), rubric, reasoning=True).reasoning == (
        "The thesis is clear."
    )
    # Without the option the same field is unexpected, and with it a missing one is an error.
    with pytest.raises(AnswerError, match="unexpected field 'reasoning'"):
        parse_answer(json.dumps(data), rubric)
    with pytest.raises(AnswerError, match='no "reasoning"'):
        parse_answer(json.dumps(valid_answer(rubric)), rubric, reasoning=True)


def test_it_parses_a_valid_answer_in_rubric_order(make_rubric: Callable[[int], Rubric]) -> None:
    rubric = make_rubric(3)
    data = valid_answer(rubric)
    data["scores"] = dict(reversed(data["scores"].items()))  # the model may answer out of order

    answer = parse_answer(json.dumps(data), rubric)

    assert [score.key for score in answer.scores] == ["C1", "C2", "C3"]
    assert answer.scores[0].level == "Excellent"
    assert answer.scores[0].points == 4
    assert answer.scores[0].evidence == ("Cats are better",)
    assert answer.scores[0].justification == "States a thesis."
    assert answer.feedback == "A clear thesis; add a second reason."
    assert answer.total == 12


def test_it_drops_control_characters_from_text(make_rubric: Callable[[int], Rubric]) -> None:
    # The database refuses NUL, and the grammar engine lets raw control characters through.
    rubric = make_rubric(1)
    data = valid_answer(rubric)
    data["feedback"] = "Good\x00 work\x12.\nNext\ttime"

    answer = parse_answer(json.dumps(data).replace("\\u0012", "\x12"), rubric)

    assert answer.feedback == "Good work.\nNext\ttime"


def test_undecodable_bytes_do_not_count_against_a_length_limit(
    make_rubric: Callable[[int], Rubric],
) -> None:
    # The grammar bounds characters as it reads the bytes; bytes it took for one character may
    # decode to several U+FFFD. They carry no meaning and are dropped before the limit is checked.
    rubric = make_rubric(1)
    limits = AnswerLimits(feedback_max_chars=10)
    data = valid_answer(rubric)
    data["feedback"] = "Well done\ufffd\ufffd\ufffd!"

    answer = parse_answer(json.dumps(data, ensure_ascii=False), rubric, limits)

    assert answer.feedback == "Well done!"


def broken(rubric: Rubric, change: Callable[[dict[str, Any]], None]) -> str:
    data = valid_answer(rubric)
    change(data)
    return json.dumps(data)


def c1(data: dict[str, Any]) -> dict[str, Any]:
    return data["scores"]["C1"]


CASES: list[tuple[str, Callable[[Rubric], str], str]] = [
    ("invalid JSON", lambda r: '{"scores": ', "not valid JSON"),
    ("no answer at all", lambda r: "  \n", "wrote no answer at all"),
    ("not an object", lambda r: "[1, 2]", "must be a JSON object, got a list"),
    (
        "missing criterion",
        lambda r: broken(r, lambda d: d["scores"].pop("C2")),
        "Criterion C2 is missing",
    ),
    (
        "unknown criterion",
        lambda r: broken(r, lambda d: d["scores"].update(C9=c1(d))),
        "criterion 'C9', which the rubric does not have",
    ),
    (
        "unknown level",
        lambda r: broken(r, lambda d: c1(d).update(level="Brilliant")),
        'Criterion C1: level "Brilliant" is not one of the rubric\'s levels',
    ),
    (
        "points outside the chosen level's band",
        lambda r: broken(r, lambda d: c1(d).update(level="Excellent", points=1)),
        "Criterion C1: 1 points do not agree with level 'Excellent', which allows 3 to 4.",
    ),
    (
        "points above the maximum",
        lambda r: broken(r, lambda d: c1(d).update(points=5)),
        "Criterion C1: points 5 are above the maximum of 4",
    ),
    (
        "negative points",
        lambda r: broken(r, lambda d: c1(d).update(points=-1)),
        "Criterion C1: points -1 are below 0",
    ),
    (
        "points as a decimal",
        lambda r: broken(r, lambda d: c1(d).update(points=2.5)),
        "Criterion C1: points must be a whole number, got 2.5",
    ),
    (
        "points as a whole decimal",
        lambda r: broken(r, lambda d: c1(d).update(points=2.0)),
        "Criterion C1: points must be a whole number, got 2.0",
    ),
    (
        "points as true",
        lambda r: broken(r, lambda d: c1(d).update(points=True)),
        "Criterion C1: points must be a whole number, got true",
    ),
    (
        "points as text",
        lambda r: broken(r, lambda d: c1(d).update(points="3")),
        'Criterion C1: points must be a whole number, got "3"',
    ),
    (
        "over-long justification",
        lambda r: broken(r, lambda d: c1(d).update(justification="x" * 601)),
        "Criterion C1: justification is 601 characters long; the limit is 600",
    ),
    (
        "justification not text",
        lambda r: broken(r, lambda d: c1(d).update(justification=None)),
        "Criterion C1: justification must be text, got null",
    ),
    (
        "too many quotes",
        lambda r: broken(r, lambda d: c1(d).update(evidence=["a", "b", "c", "d"])),
        "Criterion C1: 4 evidence quotes; the limit is 3",
    ),
    (
        "over-long quote",
        lambda r: broken(r, lambda d: c1(d).update(evidence=["ok", "y" * 201])),
        "Criterion C1: evidence quote 2 is 201 characters long; the limit is 200",
    ),
    (
        "evidence not a list",
        lambda r: broken(r, lambda d: c1(d).update(evidence="a quote")),
        "Criterion C1: evidence must be a list of quotes, got text",
    ),
    (
        "criterion field missing",
        lambda r: broken(r, lambda d: c1(d).pop("level")),
        'Criterion C1 has no "level"',
    ),
    (
        "criterion field unknown",
        lambda r: broken(r, lambda d: c1(d).update(bonus=1)),
        "Criterion C1 has an unexpected field 'bonus'",
    ),
    (
        "criterion not an object",
        lambda r: broken(r, lambda d: d["scores"].update(C1=4)),
        "Criterion C1 must be an object, got a whole number",
    ),
    ("missing feedback", lambda r: broken(r, lambda d: d.pop("feedback")), 'no "feedback"'),
    (
        "over-long feedback",
        lambda r: broken(r, lambda d: d.update(feedback="z" * 1201)),
        '"feedback" is 1201 characters long; the limit is 1200',
    ),
    ("missing scores", lambda r: broken(r, lambda d: d.pop("scores")), 'no "scores"'),
    (
        "scores not an object",
        lambda r: broken(r, lambda d: d.update(scores=[])),
        '"scores" must be an object, got a list',
    ),
    (
        "unexpected top-level field",
        lambda r: broken(r, lambda d: d.update(total=8)),
        "The answer has an unexpected field 'total'",
    ),
    (
        "criterion given twice",
        lambda r: '{"scores": {"C1": {}, "C1": {}}, "feedback": ""}',
        "The answer gives 'C1' twice",
    ),
]


@pytest.mark.parametrize(
    ("answer", "message"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_it_rejects_a_bad_answer_with_its_own_message(
    make_rubric: Callable[[int], Rubric], answer: Callable[[Rubric], str], message: str
) -> None:
    rubric = make_rubric(2)

    with pytest.raises(AnswerError) as caught:
        parse_answer(answer(rubric), rubric)

    assert message in str(caught.value)


def test_every_rejection_message_is_different(make_rubric: Callable[[int], Rubric]) -> None:
    # One message per problem, so an educator reading a failed run knows what went wrong.
    rubric = make_rubric(2)
    messages = set()
    for _, answer, _ in CASES:
        with pytest.raises(AnswerError) as caught:
            parse_answer(answer(rubric), rubric)
        messages.add(str(caught.value))

    assert len(messages) == len(CASES)


def test_answer_error_is_a_value_error() -> None:
    assert issubclass(AnswerError, ValueError)
