"""Service-level figures, as NHS Talking Therapies reports them, over goals that ended.

Counted: goals that ended (completed or cancelled) with a paired result (a baseline and a
later reading on a measure with a rule for reliable change). Then

- reliable improvement rate = reliably improved / ended;
- reliable deterioration rate = reliably deteriorated / ended;
- recovery rate = recovered / (ended - not clinical at baseline);
- reliable recovery rate = reliably recovered / (ended - not clinical at baseline).

A goal whose measures have no cut-off is counted as not clinical at baseline (its
recovery cannot be judged). Source: NHS Talking Therapies Manual (recovery rate =
recovered / (finished treatment - not a case at the start)).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import attrs

from goalflow.outcomes.paired import PairedResult


@attrs.frozen
class Rate:
    """A rate with the counts behind it (``value`` None when the denominator is 0)."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return None if not self.denominator else self.numerator / self.denominator

    def to_dict(self) -> dict[str, Any]:
        return {"rate": self.value, "count": self.numerator, "of": self.denominator}


@attrs.frozen
class ServiceFigures:
    """The service's outcome rates over ended goals, with their counts."""

    since: date | None
    ended: int  # ended goals with a paired result
    not_clinical_at_baseline: int
    reliable_improvement: Rate
    reliable_deterioration: Rate
    recovery: Rate
    reliable_recovery: Rate

    def to_dict(self) -> dict[str, Any]:
        return {"since": None if self.since is None else self.since.isoformat(),
                "ended": self.ended, "not_clinical_at_baseline": self.not_clinical_at_baseline,
                "reliable_improvement": self.reliable_improvement.to_dict(),
                "reliable_deterioration": self.reliable_deterioration.to_dict(),
                "recovery": self.recovery.to_dict(),
                "reliable_recovery": self.reliable_recovery.to_dict()}


def figures(ended: Sequence[PairedResult], since: date | None = None) -> ServiceFigures:
    """The rates over the paired results of goals that ended (in the period)."""
    total = len(ended)
    not_cases = sum(1 for p in ended if p.clinical_at_baseline is not True)
    cases = total - not_cases
    return ServiceFigures(
        since, total, not_cases,
        Rate(sum(1 for p in ended if p.reliable == "improved"), total),
        Rate(sum(1 for p in ended if p.reliable == "deteriorated"), total),
        Rate(sum(1 for p in ended if p.recovered is True), cases),
        Rate(sum(1 for p in ended if p.reliably_recovered is True), cases))
