"""The report's text colours meet WCAG AA contrast (4.5:1 for body text) on every
background the stylesheet paints, and colour is never the only signal of a status."""

from __future__ import annotations

import re
from importlib import resources

import pytest

CSS = resources.files("goalflow.report").joinpath("templates/report.css").read_text()
TEMPLATE = resources.files("goalflow.report").joinpath("templates/report.html.j2").read_text()


def variables() -> dict[str, str]:
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", CSS))


def luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_helper_matches_wcags_own_examples() -> None:
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54  # the lightest AA grey on white


TEXT = ("ink", "muted", "accent", "ok", "bad", "warn")


@pytest.mark.parametrize("name", TEXT)
def test_every_text_colour_meets_aa_on_every_background(name: str) -> None:
    colours = variables()
    backgrounds = ["#ffffff", colours["late-bg"],
                   *re.findall(r"background:\s*(#[0-9a-fA-F]{6})", CSS)]
    worst = min(contrast(colours[name], bg) for bg in backgrounds)
    assert worst >= 4.5, f"--{name} {colours[name]}: {worst:.2f}:1"


def test_status_and_late_entries_are_said_in_words_not_only_colour() -> None:
    assert "LATE ENTRY" in TEMPLATE
    assert '<span class="status status-{{ goal.status }}">{{ goal.status }}</span>' in TEMPLATE
