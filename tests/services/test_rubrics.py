import pytest

from grading.errors import ApplicationError
from grading.services.rubrics import CriterionInput, LevelInput, rubric_create, rubric_spec
from tests.conftest import two_criteria

pytestmark = pytest.mark.django_db


def test_it_creates_version_one_with_ordered_criteria_and_levels(educator):
    version = rubric_create(name="Essay", criteria=two_criteria(), created_by=educator)
    assert version.number == 1
    criteria = list(version.criteria.all())
    assert [c.key for c in criteria] == ["C1", "C2"]
    # Levels are stored best first, whatever order they were typed in.
    assert [level.points for level in criteria[0].levels.all()] == [4, 2, 0]


def test_spec_is_the_plain_data_the_model_sees(educator):
    version = rubric_create(name="Essay", criteria=two_criteria(), created_by=educator)
    spec = rubric_spec(rubric_version=version)
    assert spec.title == "Essay"
    assert spec.max_total == 6
    assert spec.criteria[0].levels[0].label == "Excellent"


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ([], "at least one criterion"),
        ([CriterionInput("", 3, [LevelInput("A", 3), LevelInput("B", 0)])], "needs a title"),
        ([CriterionInput("T", 0, [LevelInput("A", 0), LevelInput("B", 0)])], "above zero"),
        ([CriterionInput("T", 3, [LevelInput("A", 3)])], "between 2 and"),
        ([CriterionInput("T", 3, [LevelInput("A", 3), LevelInput("A", 1)])], "must differ"),
        ([CriterionInput("T", 3, [LevelInput("A", 5), LevelInput("B", 1)])], "outside 0–3"),
    ],
)
def test_it_rejects_broken_rubrics_with_a_reason(educator, criteria, message):
    with pytest.raises(ApplicationError, match=message):
        rubric_create(name="Broken", criteria=criteria, created_by=educator)
