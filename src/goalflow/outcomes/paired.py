"""A goal's paired result: NHS Talking Therapies' rules over its measures together.

With both PHQ-9 and GAD-7 (each with a baseline and a later reading) the rules are the
NHS Talking Therapies ones over that pair (the IAPT Manual): reliable improvement = at
least one measure reliably improved and neither reliably deteriorated; reliable
deterioration = at least one reliably deteriorated and neither reliably improved;
recovery = clinical ("a case") on at least one at baseline and on neither now; reliable
recovery = recovery and reliable improvement. A goal without that pair has the same rules
applied to its measures that have a rule for reliable change; ``rule`` says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from goalflow.outcomes.change import Judged, MeasureResult, Reliable

PAIR = ("PHQ-9", "GAD-7")


@attrs.frozen
class PairedResult:
    """The measures judged together, and the goal's reliable change and recovery."""

    measures: tuple[str, ...]
    rule: str
    reliable: Reliable
    clinical_at_baseline: bool | None  # a case on at least one measure at baseline
    recovered: bool | None  # None: not a case at baseline (recovery does not apply)
    reliably_recovered: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {"measures": list(self.measures), "rule": self.rule, "reliable": self.reliable,
                "clinical_at_baseline": self.clinical_at_baseline,
                "recovered": self.recovered, "reliably_recovered": self.reliably_recovered}


def paired(results: Sequence[MeasureResult]) -> PairedResult | None:
    """The goal's paired result, or None when no measure can be judged for reliable change."""
    by_instrument = {r.instrument: r for r in results if r.reliable.value is not None}
    if all(name in by_instrument for name in PAIR):
        chosen = [by_instrument[name] for name in PAIR]
        rule = "NHS Talking Therapies paired rules: PHQ-9 and GAD-7"
    else:
        chosen = [r for r in results if r.reliable.value is not None]
        if not chosen:
            return None
        rule = ("NHS Talking Therapies paired rules applied to: "
                + ", ".join(r.measure for r in chosen))
    changes = [r.reliable.value for r in chosen]
    reliable: Reliable = "no-reliable-change"
    if "improved" in changes and "deteriorated" not in changes:
        reliable = "improved"
    elif "deteriorated" in changes and "improved" not in changes:
        reliable = "deteriorated"
    at_baseline = _any([r.clinical_at_baseline for r in chosen])
    now = _any([r.clinical_now for r in chosen])
    recovered = None if not at_baseline or now is None else not now
    reliably = None if recovered is None else recovered and reliable == "improved"
    return PairedResult(tuple(r.measure for r in chosen), rule, reliable, at_baseline,
                        recovered, reliably)


def _any(flags: Sequence[Judged[bool]]) -> bool | None:
    """True if any is true; False if all are known and false; else None."""
    values = [f.value for f in flags]
    if any(v is True for v in values):
        return True
    if values and all(v is False for v in values):
        return False
    return None
