"""Measurement-based care: change, reliable change, recovery, achievementStatus and GAS.

Pure: these functions compute from a goal's state (or from the values a read model kept)
and never read a store or a clock. For a result as of a past moment, pass the goal as it
was then (``goals.get(goal_id, as_of=...)``). The formulas and their sources are in the
modules: :mod:`.change` (Jacobson-Truax, NHS Talking Therapies thresholds),
:mod:`.paired`, :mod:`.status`, :mod:`.gas` (Kiresuk-Sherman), :mod:`.service`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import attrs

from goalflow.domain.values import GasScale, Measure, Rating, Reading
from goalflow.outcomes.change import Judged, MeasureResult, Series, measure_result, rci
from goalflow.outcomes.gas import GasGoal, GasResult, gas, latest_rating, t_score
from goalflow.outcomes.paired import PairedResult, paired
from goalflow.outcomes.service import Rate, ServiceFigures, figures
from goalflow.outcomes.status import SYSTEM as ACHIEVEMENT_SYSTEM
from goalflow.outcomes.status import Achievement, judge


class Goal(Protocol):
    """What the outcomes read of a goal (a :class:`~goalflow.domain.goal.Goal` has it; the
    goal uses this package, so it is never imported here)."""

    @property
    def id(self) -> UUID: ...
    @property
    def status(self) -> str: ...
    @property
    def statement(self) -> str: ...
    @property
    def measures(self) -> Sequence[Measure]: ...
    @property
    def readings(self) -> Mapping[str, Reading]: ...
    @property
    def first_readings(self) -> Mapping[str, Reading]: ...
    @property
    def reading_counts(self) -> Mapping[str, int]: ...
    @property
    def gas_scale(self) -> GasScale | None: ...
    @property
    def ratings(self) -> Mapping[str, Rating]: ...

__all__ = [
    "ACHIEVEMENT_SYSTEM",
    "Achievement",
    "GasGoal",
    "GasResult",
    "GoalOutcomes",
    "Judged",
    "MeasureResult",
    "PairedResult",
    "Rate",
    "Series",
    "ServiceFigures",
    "SubjectOutcomes",
    "achievement",
    "figures",
    "gas",
    "goal_outcomes",
    "judge",
    "latest_rating",
    "measure_result",
    "measure_results",
    "paired",
    "rated",
    "rci",
    "subject_outcomes",
    "t_score",
]


@attrs.frozen
class GoalOutcomes:
    """One goal's outcomes: each measure's result, the paired result, achievementStatus."""

    goal_id: UUID
    status: str
    statement: str
    measures: tuple[MeasureResult, ...]
    paired: PairedResult | None
    achievement: Achievement

    def to_dict(self) -> dict[str, Any]:
        return {"goal_id": str(self.goal_id), "status": self.status,
                "statement": self.statement,
                "measures": [m.to_dict() for m in self.measures],
                "paired": None if self.paired is None else self.paired.to_dict(),
                "achievement_status": self.achievement.to_dict()}


def measure_results(goal: Goal) -> tuple[MeasureResult, ...]:
    """Each of the goal's measures judged from its baseline to its latest reading."""
    return tuple(
        measure_result(m, Series(goal.first_readings.get(m.name), goal.readings.get(m.name),
                                 goal.reading_counts.get(m.name, 0)))
        for m in goal.measures)


def goal_outcomes(goal: Goal) -> GoalOutcomes:
    """The goal's outcomes as its state stands (pass it as of a moment for then)."""
    results = measure_results(goal)
    pair = paired(results)
    return GoalOutcomes(goal.id, goal.status, goal.statement, results, pair,
                        judge(goal.status, results, pair))


def achievement(goal: Goal) -> Achievement:
    """The goal's FHIR ``achievementStatus`` (``code``, None to leave it out) and its
    ``explanation``. For then, pass the goal as of a moment."""
    return goal_outcomes(goal).achievement


def rated(goals: Iterable[Goal], rater_role: str | None = None) -> list[GasGoal]:
    """The goals with a GAS scale and a rating, each by its latest rating from
    ``rater_role`` (None: its latest rating from anyone, :func:`.gas.latest_rating`)."""
    used = []
    for goal in goals:
        scale = goal.gas_scale
        rating = latest_rating(goal.ratings, rater_role)
        if scale is None or rating is None:
            continue
        used.append(GasGoal(goal.id, scale.weight, rating.level, scale.baseline_level,
                            rating.rater_role, rating.occurred_at))
    return used


@attrs.frozen
class SubjectOutcomes:
    """A subject's outcomes: each goal's, and the GAS T-scores over all their rated goals."""

    subject_id: str
    as_of: datetime | None
    goals: tuple[GoalOutcomes, ...]
    gas: GasResult

    def to_dict(self) -> dict[str, Any]:
        return {"subject_id": self.subject_id,
                "as_of": None if self.as_of is None else self.as_of.isoformat(),
                "goals": [g.to_dict() for g in self.goals], "gas": self.gas.to_dict()}


def subject_outcomes(subject_id: str, goals: Sequence[Goal],
                     as_of: datetime | None = None) -> SubjectOutcomes:
    """The outcomes of a subject's goals (as they stood at ``as_of``, if given: the
    caller passes each goal as of then)."""
    return SubjectOutcomes(subject_id, as_of, tuple(goal_outcomes(g) for g in goals),
                           gas(subject_id, rated(goals), None))
