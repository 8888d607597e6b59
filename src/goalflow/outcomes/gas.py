"""Goal attainment scaling: the Kiresuk-Sherman T-score over a subject's rated goals.

``T = 50 + 10 * sum(w*x) / sqrt((1 - rho) * sum(w**2) + rho * (sum w)**2)``, rho = 0.3
(Kiresuk & Sherman 1968; the corrected form in Turner-Stokes 2009, erratum). Each goal's
level ``x`` is -2..+2 (0: the expected outcome), ``w`` its weight. The baseline T-score is
the same formula over the goals' baseline levels (-1, or -2 when no worse outcome is
plausible).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Protocol, TypeVar
from uuid import UUID

import attrs

from goalflow.domain.values import RATER_ROLES

RHO: Final = 0.3
RULE: Final = "Kiresuk-Sherman T-score, rho=0.3 (Turner-Stokes 2009)"


def t_score(rated: Sequence[tuple[float, int]]) -> float | None:
    """The T-score of ``(weight, level)`` pairs; None for none."""
    if not rated:
        return None
    # fsum: exact sums, so the order the goals come in never changes the score.
    weights = [w for w, _ in rated]
    total = math.fsum(w * x for w, x in rated)
    spread = math.sqrt((1 - RHO) * math.fsum(w * w for w in weights)
                       + RHO * math.fsum(weights) ** 2)
    return 50 + 10 * total / spread


@attrs.frozen
class GasGoal:
    """One rated goal as the T-score used it."""

    goal_id: UUID
    weight: int | float
    level: int
    baseline_level: int
    rater_role: str
    rated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"goal_id": str(self.goal_id), "weight": self.weight, "level": self.level,
                "baseline_level": self.baseline_level, "rater_role": self.rater_role,
                "rated_at": self.rated_at.isoformat()}


@attrs.frozen
class GasResult:
    """A subject's GAS T-score and baseline T-score, and the goals behind them."""

    subject_id: str
    rater_role: str | None  # None: each goal's latest rating, whoever gave it
    t_score: float | None
    baseline_t_score: float | None
    goals: tuple[GasGoal, ...]
    rule: str = RULE

    def to_dict(self) -> dict[str, Any]:
        return {"subject_id": self.subject_id, "rater_role": self.rater_role,
                "t_score": self.t_score, "baseline_t_score": self.baseline_t_score,
                "goals": [g.to_dict() for g in self.goals], "rule": self.rule}


class Rated(Protocol):
    """What the T-score reads of a rating (a :class:`~goalflow.domain.values.Rating`)."""

    @property
    def level(self) -> int: ...
    @property
    def rater_role(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...


R = TypeVar("R", bound=Rated)


def latest_rating(ratings: Mapping[str, R], rater_role: str | None = None) -> R | None:
    """The rating to use: the one from ``rater_role``, or (None) the latest from anyone,
    the same moment going to the client, then the clinician, then the carer."""
    if rater_role is not None:
        return ratings.get(rater_role)
    found = [r for role, r in ratings.items() if role in RATER_ROLES]
    if not found:
        return None
    return max(found, key=lambda r: (r.occurred_at, -RATER_ROLES.index(r.rater_role)))


def gas(subject_id: str, rated: Sequence[GasGoal], rater_role: str | None) -> GasResult:
    """The subject's T-scores over these rated goals."""
    return GasResult(subject_id, rater_role,
                     t_score([(g.weight, g.level) for g in rated]),
                     t_score([(g.weight, g.baseline_level) for g in rated]),
                     tuple(rated))
