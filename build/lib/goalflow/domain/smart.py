"""The SMART check: Specific, Measurable, Achievable, Relevant, Time-bound.

It reads a goal's terms through :class:`Terms`, so that it depends on the value objects
alone: the Goal aggregate uses this module, never the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Protocol

import attrs

from goalflow.domain.values import Measure, Step, calendar_date


class Terms(Protocol):
    """What the SMART check reads of a goal (a :class:`~goalflow.domain.goal.Goal` has it)."""

    @property
    def statement(self) -> str: ...
    @property
    def client_words(self) -> str | None: ...
    @property
    def addresses(self) -> Sequence[str]: ...
    @property
    def target_date(self) -> date | None: ...
    @property
    def measures(self) -> Sequence[Measure]: ...
    @property
    def steps(self) -> Sequence[Step]: ...
    @property
    def drafted_at(self) -> datetime: ...


@attrs.frozen
class Criterion:
    name: str
    met: bool
    reason: str


@attrs.frozen
class SmartReport:
    """Each SMART criterion, met or missing, with the reason."""

    criteria: tuple[Criterion, ...]

    @property
    def complete(self) -> bool:
        return all(c.met for c in self.criteria)

    @property
    def missing(self) -> dict[str, str]:
        return {c.name: c.reason for c in self.criteria if not c.met}

    def to_dict(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "criteria": {c.name: {"met": c.met, "reason": c.reason} for c in self.criteria},
        }


def assess(goal: Terms, *, on: date, zone: tzinfo = UTC) -> SmartReport:
    """Judge the goal's current terms; ``on`` is the day of the agreement (or today), and
    ``zone`` the clinic's time zone, in which the day it was drafted is taken."""
    with_target = [m.name for m in goal.measures if m.target is not None]
    drafted_on = calendar_date(goal.drafted_at, zone)
    if goal.target_date is None:
        time_bound = Criterion("time-bound", False, "no target date")
    elif goal.target_date <= drafted_on:
        time_bound = Criterion(
            "time-bound", False,
            f"target date {goal.target_date} is not after the date drafted ({drafted_on})",
        )
    elif goal.target_date < on:
        time_bound = Criterion("time-bound", False, f"target date {goal.target_date} has passed")
    else:
        time_bound = Criterion("time-bound", True, f"target date {goal.target_date}")
    return SmartReport((
        Criterion("specific", True, "has a statement") if goal.statement.strip()
        else Criterion("specific", False, "no statement"),
        Criterion("measurable", True, f"target set for {', '.join(with_target)}") if with_target
        else Criterion("measurable", False, "no measure with a target"),
        Criterion("achievable", True, f"{len(goal.steps)} step(s)") if goal.steps
        else Criterion("achievable", False, "no steps"),
        Criterion("relevant", True, "says what it addresses or why it matters to the client")
        if goal.addresses or goal.client_words
        else Criterion("relevant", False, "neither addresses nor client_words given"),
        time_bound,
    ))
