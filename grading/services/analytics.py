"""How far the AI's grades agree with the educators' final grades, per criterion.

A reviewed submission counts once an educator approved (or released) its review and its review is
based on a successful AI run. Levels are compared as ordinal positions (best level first, as the
rubric lists them); the educator's points are mapped to the level whose points are nearest.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

from grading.models import Assignment, Criterion, CriterionResult, GradingRun, Review


@dataclass(frozen=True)
class Agreement:
    """Agreement figures over `count` pairs; all None when there are no pairs."""

    count: int
    exact: float | None  # share of pairs on the same level
    within_one_level: float | None  # share of pairs at most one level apart
    mean_absolute_difference: float | None  # in points
    quadratic_weighted_kappa: float | None


def quadratic_weighted_kappa(first: list[int], second: list[int], categories: int) -> float:
    """Cohen's kappa with quadratic weights for two raters' ordinal ratings in 0..categories-1.

    1 is perfect agreement, 0 what chance gives, below 0 worse than chance. When both raters
    always give one and the same rating there is no variation to explain (scikit-learn answers
    NaN): agreement is then perfect, 1.
    """
    if len(first) != len(second) or not first:
        raise ValueError("Two equally long, non-empty lists of ratings are needed.")
    # Imported here: scikit-learn costs seconds at import, and only the analytics page needs it.
    from sklearn.metrics import cohen_kappa_score

    with warnings.catch_warnings():
        # The constant case is 0/0: scikit-learn warns and answers NaN, handled below.
        warnings.simplefilter("ignore")
        kappa = cohen_kappa_score(
            first, second, weights="quadratic", labels=list(range(categories))
        )
    if math.isnan(kappa):
        return 1.0 if first == second else 0.0
    return float(kappa)


def agreement_of(pairs: list[tuple[int, int, int, int]], categories: int) -> Agreement:
    """Figures for (ai_level, educator_level, ai_points, educator_points) pairs."""
    if not pairs:
        return Agreement(0, None, None, None, None)
    ai_levels = [pair[0] for pair in pairs]
    educator_levels = [pair[1] for pair in pairs]
    level_gaps = [abs(pair[0] - pair[1]) for pair in pairs]
    point_gaps = [abs(pair[2] - pair[3]) for pair in pairs]
    count = len(pairs)
    return Agreement(
        count=count,
        exact=sum(gap == 0 for gap in level_gaps) / count,
        within_one_level=sum(gap <= 1 for gap in level_gaps) / count,
        mean_absolute_difference=sum(point_gaps) / count,
        quadratic_weighted_kappa=quadratic_weighted_kappa(ai_levels, educator_levels, categories),
    )


def _nearest_level(level_points: list[int], points: int) -> int:
    """The position of the level whose points are nearest; the better level on a tie."""
    return min(range(len(level_points)), key=lambda i: (abs(level_points[i] - points), i))


def agreement_for_assignment(*, assignment: Assignment) -> dict:
    """Agreement per criterion of the assignment's rubric version, and over all criteria.

    Returns {"reviewed": n, "criteria": [(criterion, Agreement)], "overall": Agreement}; the
    overall kappa pools criteria by level position, so it is meaningful when criteria share a
    level scale and a rough guide otherwise.
    """
    criteria: list[Criterion] = list(
        assignment.rubric_version.criteria.prefetch_related("levels").order_by("order")
    )
    reviews = Review.objects.filter(
        submission__assignment=assignment,
        approved_at__isnull=False,
        based_on_run__status=GradingRun.Status.SUCCEEDED,
        based_on_run__rubric_version=assignment.rubric_version,
    ).prefetch_related("criteria")
    ai_results: dict[tuple[int, int], CriterionResult] = {
        (result.run_id, result.criterion_id): result
        for result in CriterionResult.objects.filter(
            run__in=[review.based_on_run_id for review in reviews]
        )
    }
    per_criterion: dict[int, list[tuple[int, int, int, int]]] = {c.pk: [] for c in criteria}
    levels_of = {c.pk: list(c.levels.all()) for c in criteria}
    reviewed = 0
    for review in reviews:
        counted = False
        for item in review.criteria.all():
            ai = ai_results.get((review.based_on_run_id, item.criterion_id))
            levels = levels_of.get(item.criterion_id)
            if ai is None or not levels:
                continue
            labels = [level.label for level in levels]
            ai_level = (
                labels.index(ai.level_label)
                if ai.level_label in labels
                else _nearest_level([level.points for level in levels], ai.points)
            )
            educator_level = _nearest_level([level.points for level in levels], item.points)
            per_criterion[item.criterion_id].append(
                (ai_level, educator_level, ai.points, item.points)
            )
            counted = True
        reviewed += counted
    categories = max((len(levels) for levels in levels_of.values()), default=1)
    return {
        "reviewed": reviewed,
        "criteria": [
            (criterion, agreement_of(per_criterion[criterion.pk], len(levels_of[criterion.pk])))
            for criterion in criteria
        ],
        "overall": agreement_of(
            [pair for pairs in per_criterion.values() for pair in pairs], categories
        ),
    }
