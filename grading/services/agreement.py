"""Agreement figures from pairs of ratings: pure code, no database (see services/analytics.py).

Two raters, the AI and a person, rate the same work on an ordinal scale (a criterion's levels,
best first, as positions 0, 1, …; or a total's share of its maximum in tenths). From their pairs:
exact and within-one agreement, the mean absolute and signed difference in points (signed: AI
minus person, so above 0 the AI is lenient, below 0 harsh), quadratic weighted kappa with a
bootstrap 95% interval, and a confusion matrix. Below MIN_PAIRS_FOR_KAPPA pairs there is no kappa
("not enough data"); below FEW_PAIRS every figure carries a warning that it is rough.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

# Kappa needs a handful of pairs to mean anything: on one pair it is 0 or 1 by accident.
MIN_PAIRS_FOR_KAPPA = 5
# Under this many pairs the 95% interval is wide: figures are shown with a warning.
FEW_PAIRS = 30
BOOTSTRAP_SAMPLES = 2000
# Fixed, so the same grades always give the same interval.
BOOTSTRAP_SEED = 20261130
# Totals are compared as a share of the maximum in these many steps (0%, 10%, … 100%).
TOTAL_STEPS = 10


@dataclass(frozen=True)
class RatingPair:
    """One criterion (or total) of one submission: the AI's rating beside the person's."""

    ai_level: int  # position on the scale, 0 = best level (or, for totals, tenths of the max)
    human_level: int
    ai_points: float
    human_points: float


@dataclass(frozen=True)
class Agreement:
    """Figures over `count` pairs; None where there are too few pairs to compute them."""

    count: int
    exact: float | None
    within_one_level: float | None
    mean_absolute_difference: float | None
    mean_signed_difference: float | None  # AI minus person: > 0 lenient, < 0 harsh
    quadratic_weighted_kappa: float | None
    kappa_interval: tuple[float, float] | None  # bootstrap 95%

    @property
    def enough_for_kappa(self) -> bool:
        return self.count >= MIN_PAIRS_FOR_KAPPA

    @property
    def warning(self) -> str:
        """A plain sentence when n is too small to decide on; empty otherwise."""
        if self.count == 0:
            return "No human-judged grades to compare with yet."
        if not self.enough_for_kappa:
            return (
                f"Not enough data: {self.count} pair(s); kappa needs at least "
                f"{MIN_PAIRS_FOR_KAPPA}."
            )
        if self.count < FEW_PAIRS:
            return f"Only {self.count} pairs: a rough figure, see its 95% interval."
        return ""

    def as_dict(self) -> dict:
        return {
            "count": self.count,
            "exact": self.exact,
            "within_one_level": self.within_one_level,
            "mean_absolute_difference": self.mean_absolute_difference,
            "mean_signed_difference": self.mean_signed_difference,
            "quadratic_weighted_kappa": self.quadratic_weighted_kappa,
            "kappa_interval": list(self.kappa_interval) if self.kappa_interval else None,
            "warning": self.warning,
        }


def quadratic_weighted_kappa(first: list[int], second: list[int], categories: int) -> float:
    """Cohen's kappa with quadratic weights for two raters' ordinal ratings in 0..categories-1.

    1 is perfect agreement, 0 what chance gives, below 0 worse than chance. When both raters
    always give one and the same rating there is no variation to explain (scikit-learn answers
    NaN): agreement is then perfect, 1.
    """
    from sklearn.metrics import cohen_kappa_score  # a heavy import, needed only here

    if len(first) != len(second) or not first:
        raise ValueError("Two equally long, non-empty lists of ratings are needed.")
    with warnings.catch_warnings():
        # The constant case is 0/0: scikit-learn warns and answers NaN, handled below.
        warnings.simplefilter("ignore")
        kappa = cohen_kappa_score(
            first, second, weights="quadratic", labels=list(range(categories))
        )
    if math.isnan(kappa):
        return 1.0 if first == second else 0.0
    return float(kappa)


def kappas_of_resamples(
    first: np.ndarray, second: np.ndarray, categories: int, samples: np.ndarray
) -> np.ndarray:
    """Quadratic weighted kappa of each resample at once (rows of `samples` index the pairs).

    The same formula as scikit-learn's, 1 - sum(W·O) / sum(W·E), on every resample's confusion
    matrix, vectorised: a thousand resamples cost what a few calls of cohen_kappa_score do.
    """
    count = samples.shape[1]
    codes = first[samples] * categories + second[samples]  # (resamples, n)
    offsets = np.arange(samples.shape[0])[:, None] * categories * categories
    observed = np.bincount(
        (codes + offsets).ravel(), minlength=samples.shape[0] * categories * categories
    ).reshape(samples.shape[0], categories, categories)
    expected = np.einsum("bi,bj->bij", observed.sum(axis=2), observed.sum(axis=1)) / count
    steps = np.arange(categories)
    weights = (steps[:, None] - steps[None, :]) ** 2
    disagreement = (weights * observed).sum(axis=(1, 2))
    chance = (weights * expected).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        kappas = 1.0 - disagreement / chance
    # No variation in a resample (chance 0): perfect if the raters agree there, else nothing.
    return np.where(chance == 0, np.where(disagreement == 0, 1.0, 0.0), kappas)


def kappa_interval(
    first: list[int], second: list[int], categories: int, *, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the quadratic weighted kappa (pairs resampled)."""
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, len(first), size=(BOOTSTRAP_SAMPLES, len(first)))
    kappas = kappas_of_resamples(np.array(first), np.array(second), categories, samples)
    low, high = np.percentile(kappas, [2.5, 97.5])
    return float(low), float(high)


def agreement_of(pairs: list[RatingPair], categories: int) -> Agreement:
    """Every figure over `pairs` rated on a scale of `categories` steps."""
    if not pairs:
        return Agreement(0, None, None, None, None, None, None)
    ai_levels = [pair.ai_level for pair in pairs]
    human_levels = [pair.human_level for pair in pairs]
    level_gaps = np.abs(np.array(ai_levels) - np.array(human_levels))
    point_gaps = np.array([pair.ai_points - pair.human_points for pair in pairs], dtype=float)
    enough = len(pairs) >= MIN_PAIRS_FOR_KAPPA
    return Agreement(
        count=len(pairs),
        exact=float((level_gaps == 0).mean()),
        within_one_level=float((level_gaps <= 1).mean()),
        mean_absolute_difference=float(np.abs(point_gaps).mean()),
        mean_signed_difference=float(point_gaps.mean()),
        quadratic_weighted_kappa=(
            quadratic_weighted_kappa(ai_levels, human_levels, categories) if enough else None
        ),
        kappa_interval=kappa_interval(ai_levels, human_levels, categories) if enough else None,
    )


def confusion_matrix(pairs: list[RatingPair], categories: int) -> list[list[int]]:
    """Counts by AI level (rows) and human level (columns), best level first."""
    matrix = [[0] * categories for _ in range(categories)]
    for pair in pairs:
        matrix[pair.ai_level][pair.human_level] += 1
    return matrix


def nearest_level(level_points: list[int], points: float) -> int:
    """The position of the level whose points are nearest; the better level on a tie."""
    return min(range(len(level_points)), key=lambda i: (abs(level_points[i] - points), i))


def total_step(total: float, max_total: int) -> int:
    """A total as tenths of its maximum, 0 = full marks (the same direction as levels)."""
    if max_total <= 0:
        return 0
    share = min(max(total / max_total, 0.0), 1.0)
    return TOTAL_STEPS - round(share * TOTAL_STEPS)
