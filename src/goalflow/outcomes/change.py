"""Change on one measure: from its baseline to its latest value, judged by a named rule.

Pure arithmetic on what was recorded. The baseline is the measure's own ``baseline``, else
its first recorded value; the latest is the last value recorded (as the goal's
``readings`` keep it). Every judgement carries the rule that produced it.

- Reliable change: for a built-in instrument, NHS Talking Therapies' points threshold
  (PHQ-9 >= 6 points, GAD-7 >= 4); else the Jacobson-Truax reliable change index
  ``RCI = (latest - baseline) / sqrt(2 * (sd * sqrt(1 - r))**2)``, reliable when
  ``|RCI| > 1.96`` (Jacobson & Truax 1991), when the measure has ``sd`` and ``reliability``.
- Clinical range: for a ``decrease`` measure a score >= ``cutoff``; for ``increase``, < it.
- Recovered: clinical at baseline, not now; reliably recovered: recovered and reliably
  improved.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

import attrs

from goalflow.domain.instruments import builtin
from goalflow.domain.values import Measure, Reading

T = TypeVar("T")
Reliable = Literal["improved", "deteriorated", "no-reliable-change"]
RCI_CRITICAL = 1.96
"""|RCI| above this is a reliable change (p < .05, two-tailed)."""


@attrs.frozen
class Judged(Generic[T]):
    """A result and the rule that produced it (``value`` None: the rule could not judge)."""

    value: T | None
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "rule": self.rule}


@attrs.frozen
class Series:
    """What is known of a measure's readings: the first and last recorded, and how many."""

    first: Reading | None = None
    latest: Reading | None = None
    count: int = 0


@attrs.frozen
class MeasureResult:
    """One measure's change from baseline, and each judgement with its rule."""

    measure: str
    instrument: str | None
    direction: str
    baseline: int | float | None
    baseline_from: Literal["measure", "first reading"] | None
    latest: int | float | None
    latest_at: datetime | None
    readings: int
    paired: bool  # a baseline and a later reading: change can be judged
    change: int | float | None
    rci: Judged[float]
    reliable: Judged[Reliable]
    clinical_at_baseline: Judged[bool]
    clinical_now: Judged[bool]
    recovered: Judged[bool]
    reliably_recovered: Judged[bool]
    target: int | float | None
    target_met: Judged[bool]

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure, "instrument": self.instrument,
            "direction": self.direction, "baseline": self.baseline,
            "baseline_from": self.baseline_from, "latest": self.latest,
            "latest_at": None if self.latest_at is None else self.latest_at.isoformat(),
            "readings": self.readings, "paired": self.paired, "change": self.change,
            "rci": self.rci.to_dict(), "reliable": self.reliable.to_dict(),
            "clinical_at_baseline": self.clinical_at_baseline.to_dict(),
            "clinical_now": self.clinical_now.to_dict(),
            "recovered": self.recovered.to_dict(),
            "reliably_recovered": self.reliably_recovered.to_dict(),
            "target": self.target, "target_met": self.target_met.to_dict(),
        }


def rci(baseline: float, latest: float, sd: float, reliability: float) -> float:
    """The Jacobson-Truax reliable change index (1991): change over the standard error of
    the difference, ``S_diff = sqrt(2 * SE**2)``, ``SE = sd * sqrt(1 - reliability)``."""
    se = sd * math.sqrt(1 - reliability)
    return (latest - baseline) / math.sqrt(2 * se**2)


def measure_result(measure: Measure, series: Series) -> MeasureResult:
    """Judge one measure's change from its baseline to its latest recorded value."""
    if measure.baseline is not None:
        baseline, source = measure.baseline, "measure"
        paired = series.count >= 1
    elif series.first is not None:
        baseline, source = series.first.value, "first reading"
        paired = series.count >= 2
    else:
        baseline, source, paired = None, None, False
    latest = series.latest
    change = latest.value - baseline if paired and latest and baseline is not None else None
    no_pair = "needs a baseline and a later reading"

    rci_rule = _rci_rule(measure)
    rci_value = None
    if change is not None and measure.sd is not None and measure.reliability is not None:
        rci_value = rci(baseline, latest.value, measure.sd, measure.reliability)  # type: ignore[arg-type, union-attr]
    reliable = _reliable(measure, change, rci_value, no_pair)
    clinical_rule = _clinical_rule(measure)
    at_baseline = _clinical(measure, baseline)
    now = _clinical(measure, latest.value) if paired and latest else None
    recovered: bool | None = None
    recovered_rule = "recovered: clinical at baseline and not now (" + clinical_rule + ")"
    if at_baseline and now is not None:
        recovered = not now
    if at_baseline is False:
        recovered_rule += "; not clinical at baseline, so recovery does not apply"
    reliably = None if recovered is None or reliable.value is None else \
        recovered and reliable.value == "improved"
    target_rule = _target_rule(measure)
    met = None
    if measure.target is not None and latest is not None:
        met = (latest.value <= measure.target if measure.direction == "decrease"
               else latest.value >= measure.target)
    return MeasureResult(
        measure=measure.name, instrument=measure.instrument, direction=measure.direction,
        baseline=baseline, baseline_from=source,  # type: ignore[arg-type]
        latest=None if latest is None else latest.value,
        latest_at=None if latest is None else latest.occurred_at,
        readings=series.count, paired=paired, change=change,
        rci=Judged(rci_value, rci_rule), reliable=reliable,
        clinical_at_baseline=Judged(at_baseline, clinical_rule),
        clinical_now=Judged(now, clinical_rule if paired else f"{clinical_rule}; {no_pair}"),
        recovered=Judged(recovered, recovered_rule),
        reliably_recovered=Judged(reliably, "reliably recovered: recovered and reliably"
                                  f" improved ({reliable.rule})"),
        target=measure.target, target_met=Judged(met, target_rule),
    )


def _rci_rule(measure: Measure) -> str:
    if measure.sd is None or measure.reliability is None:
        return "Jacobson-Truax RCI: needs the measure's sd and reliability"
    return f"Jacobson-Truax RCI, sd={measure.sd:g}, r={measure.reliability:g}"


def _reliable(measure: Measure, change: float | None, rci_value: float | None,
              no_pair: str) -> Judged[Reliable]:
    better = -1 if measure.direction == "decrease" else 1
    known = builtin(measure.instrument)
    if known is not None:
        rule = f"{known.source}: {known.name} >= {known.reliable_change} points"
        if change is None:
            return Judged(None, f"{rule}; {no_pair}")
        if change * better >= known.reliable_change:
            return Judged("improved", rule)
        if -change * better >= known.reliable_change:
            return Judged("deteriorated", rule)
        return Judged("no-reliable-change", rule)
    if measure.sd is None or measure.reliability is None:
        return Judged(None, "no rule for reliable change: the measure names no built-in"
                      " instrument and has no sd and reliability")
    rule = f"Jacobson-Truax: |RCI| > {RCI_CRITICAL}, sd={measure.sd:g}," \
           f" r={measure.reliability:g}"
    if rci_value is None:
        return Judged(None, f"{rule}; {no_pair}")
    if rci_value * better > RCI_CRITICAL:
        return Judged("improved", rule)
    if -rci_value * better > RCI_CRITICAL:
        return Judged("deteriorated", rule)
    return Judged("no-reliable-change", rule)


def _clinical_rule(measure: Measure) -> str:
    if measure.cutoff is None:
        return "clinical range: the measure has no cutoff"
    sign = ">=" if measure.direction == "decrease" else "<"
    known = builtin(measure.instrument)
    if known is not None:
        return f"{known.source} caseness: {known.name} {sign} {measure.cutoff:g}"
    return f"clinical range: {measure.name} {sign} {measure.cutoff:g}"


def _clinical(measure: Measure, value: float | None) -> bool | None:
    if measure.cutoff is None or value is None:
        return None
    if measure.direction == "decrease":
        return value >= measure.cutoff
    return value < measure.cutoff


def _target_rule(measure: Measure) -> str:
    if measure.target is None:
        return "target: the measure has none"
    sign = "<=" if measure.direction == "decrease" else ">="
    return f"target: latest {measure.name} {sign} {measure.target:g}"
