"""One measure's readings over clinical time as inline SVG geometry (no I/O, no clock)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from goalflow.domain.instruments import builtin

WIDTH, HEIGHT = 560, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 36


def reliable_change(measure: dict[str, Any]) -> float | None:
    """The smallest change that is reliable, as goalflow.outcomes judges it: a built-in
    instrument's points (PHQ-9 6, GAD-7 4, NHS Talking Therapies), else Jacobson-Truax
    (1.96 * S_diff) where the measure says its SD and reliability; None otherwise."""
    instrument = builtin(measure.get("instrument"))
    if instrument is not None:
        return float(instrument.reliable_change)
    sd, r = measure.get("sd"), measure.get("reliability")
    if sd is None or r is None:
        return None
    return 1.96 * math.sqrt(2 * (sd * math.sqrt(1 - r)) ** 2)


def chart(measure: dict[str, Any], readings: list[dict[str, Any]]) -> dict[str, Any]:
    """Coordinates for the chart of one measure: points (one per reading, oldest first),
    horizontal lines (baseline, target, cut-off) and the reliable-change band."""
    values = [r["value"] for r in readings]
    band = reliable_change(measure)
    baseline = measure.get("baseline")
    marks = [v for v in (baseline, measure.get("target"), measure.get("cutoff")) if v is not None]
    if band is not None and baseline is not None:
        marks += [baseline - band, baseline + band]
    low = measure.get("minimum")
    high = measure.get("maximum")
    span = [*values, *marks] or [0, 1]
    low = float(min(span) if low is None else low)
    high = float(max(span) if high is None else high)
    if high == low:
        high, low = high + 1, low - 1
    pad = (high - low) * 0.08  # room for the points and their labels at the edges
    low, high = low - pad, high + pad
    times = [datetime.fromisoformat(r["occurred_at"]) for r in readings]
    t0 = min(times) if times else None
    t1 = max(times) if times else None
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(value: float) -> float:
        value = min(max(float(value), low), high)
        return round(TOP + plot_h * (high - value) / (high - low), 1)

    def x(moment: datetime) -> float:
        if t0 is None or t1 is None or t1 == t0:
            return round(LEFT + plot_w / 2, 1)
        inset = 36  # the first and last days' labels fit inside the plot
        return round(LEFT + inset + (plot_w - 2 * inset) * (moment - t0) / (t1 - t0), 1)

    points = [{"x": x(t), "y": y(r["value"]), "value": r["value"], "day": t.date().isoformat()}
              for t, r in zip(times, readings, strict=True)]
    lines = [{"name": name, "value": measure[key], "y": y(measure[key])}
             for name, key in (("baseline", "baseline"), ("target", "target"),
                               ("cut-off", "cutoff")) if measure.get(key) is not None]
    reliable = None
    if band is not None and baseline is not None:
        top, bottom = y(baseline + band), y(baseline - band)
        reliable = {"y": top, "height": round(bottom - top, 1), "size": round(band, 2)}
    ticks = sorted({*(m for m in marks if low <= m <= high)} or {low + pad, high - pad})
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "top": TOP,
        "bottom": HEIGHT - BOTTOM, "points": points, "lines": lines, "band": reliable,
        "ticks": [{"value": _number(t), "y": y(t)} for t in ticks],
        "path": " ".join(f"{'M' if n == 0 else 'L'}{p['x']},{p['y']}"
                         for n, p in enumerate(points)),
    }


def _number(value: float) -> str:
    return f"{value:g}"
