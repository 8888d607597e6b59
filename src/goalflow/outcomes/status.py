"""A goal's FHIR ``achievementStatus``, derived from its status and measures, with why.

``achieved`` when the goal is completed, or every measure with a target meets it;
otherwise ``improving`` / ``worsening`` / ``no-change`` from the goal's paired reliable
change (:mod:`goalflow.outcomes.paired`); absent (``code`` None) with no measures, no
readings, or nothing that can judge reliable change. Codes are FHIR's goal-achievement
value set (``http://terminology.hl7.org/CodeSystem/goal-achievement``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import attrs

from goalflow.outcomes.change import MeasureResult
from goalflow.outcomes.paired import PairedResult

SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/goal-achievement"
_FROM_RELIABLE: Final = {"improved": "improving", "deteriorated": "worsening",
                         "no-reliable-change": "no-change"}


@attrs.frozen
class Achievement:
    """A FHIR achievementStatus code (None: leave it out) and the reason for it."""

    code: str | None
    explanation: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "explanation": self.explanation}


def judge(status: str, results: Sequence[MeasureResult],
          pair: PairedResult | None) -> Achievement:
    """The achievementStatus of a goal in ``status`` with these measure results."""
    if status == "completed":
        return Achievement("achieved", "the goal is completed")
    if not results:
        return Achievement(None, "the goal has no measures")
    if not any(r.readings for r in results):
        return Achievement(None, "no readings recorded yet")
    targeted = [r for r in results if r.target is not None]
    if targeted and all(r.target_met.value for r in targeted):
        met = "; ".join(f"{r.measure} {r.latest:g} ({r.target_met.rule})" for r in targeted)
        return Achievement("achieved", f"every measure with a target meets it: {met}")
    if pair is None:
        return Achievement(None, "no measure can be judged for reliable change yet (each"
                           " needs a baseline, a later reading and a rule)")
    return Achievement(_FROM_RELIABLE[pair.reliable],
                       f"reliable change {pair.reliable} ({pair.rule}; measures:"
                       f" {', '.join(pair.measures)})")
