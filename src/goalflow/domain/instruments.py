"""The built-in measurement instruments: their published scales, cut-offs and thresholds.

A :class:`~goalflow.domain.values.Measure` that names one of these (``instrument="PHQ-9"``)
has its range, cut-off and direction filled from here, and its scores must be whole points
within the range. Other instrument names are kept as given (a clinic's own scale), with
no facts filled in.

Sources: PHQ-9 (Kroenke, Spitzer & Williams 2001) and GAD-7 (Spitzer et al. 2006) for the
ranges; NHS Talking Therapies (the IAPT Manual, 2023 edition) for caseness (PHQ-9 >= 10,
GAD-7 >= 8) and reliable change (PHQ-9 6 points, GAD-7 4 points).
"""

from __future__ import annotations

from typing import Final, Literal

import attrs


@attrs.frozen
class Instrument:
    """A standard instrument's facts."""

    name: str
    minimum: int
    maximum: int
    cutoff: int
    reliable_change: int  # points of change that count as reliable
    direction: Literal["decrease", "increase"]
    whole_points: bool
    source: str  # who sets the cut-off and the reliable change threshold
    loinc: str


INSTRUMENTS: Final[dict[str, Instrument]] = {
    "PHQ-9": Instrument("PHQ-9", 0, 27, 10, 6, "decrease", True, "NHS Talking Therapies",
                        "44261-6"),
    "GAD-7": Instrument("GAD-7", 0, 21, 8, 4, "decrease", True, "NHS Talking Therapies",
                        "70274-6"),
}
"""The built-in instruments by name."""


def builtin(name: str | None) -> Instrument | None:
    """The built-in instrument of that name, or None (no name, or a clinic's own scale)."""
    return None if name is None else INSTRUMENTS.get(name)
