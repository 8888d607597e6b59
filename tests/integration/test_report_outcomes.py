"""The report shows the measurement results: each goal's change per measure with the rule
behind each judgement, its paired result and achievementStatus, and the subject's GAS
T-score, as goalflow.outcomes works them out (as of the report's moment too)."""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path
from typing import Any

from anxiety_goal import DR_LEE, MAYA

import goalflow

sys.path.insert(0, str(Path(__file__).parent / "projections"))
from test_outcomes import LEVELS, low_mood_goal, readings  # the outcomes tests' clinic


def text(page: str) -> str:
    """The page's text, as a reader sees it (tags gone, entities decoded, spaces folded)."""
    body = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_the_report_shows_each_goals_outcomes_and_the_gas_t_score(goals: goalflow.Goals,
                                                                 clock: Any) -> None:
    goal_id = low_mood_goal(goals)
    readings(goals, goal_id, clock, (14, 12), (8, 6))
    goals.set_gas_scale(goal_id, by=DR_LEE, levels=LEVELS, weight=2)
    goals.rate_attainment(goal_id, by=MAYA, level=1)

    shown = text(goals.report(goal_id))

    result = goals.outcomes("client-7").goals[0]
    phq9 = next(m for m in result.measures if m.measure == "PHQ-9")
    assert phq9.reliable.value == "improved"
    assert f"achievementStatus: {result.achievement.code} — {result.achievement.explanation}" \
        in shown
    assert "PHQ-9 18 (measure) 8" in shown
    assert phq9.reliable.rule in shown  # the rule behind the judgement, in words
    assert "Paired result (PHQ-9 and GAD-7): improved" in shown
    gas = goals.gas("client-7")
    assert gas.t_score is not None
    assert f"T-score {gas.t_score:.1f} (at baseline {gas.baseline_t_score:.1f})" in shown


def test_the_outcomes_in_a_report_as_of_a_past_moment_are_those_of_then(
        goals: goalflow.Goals, clock: Any) -> None:
    goal_id = low_mood_goal(goals)
    readings(goals, goal_id, clock, (16, 14))
    then = clock.advance(hours=1)
    readings(goals, goal_id, clock, (8, 6))

    earlier = text(goals.report(goal_id, as_of=then))

    assert "PHQ-9 18 (measure) 16" in earlier
    assert "No goal of client-7 has a GAS rating." in earlier
    assert "PHQ-9 18 (measure) 8" in text(goals.report(goal_id))


def test_the_charts_reliable_change_band_is_the_one_outcomes_judges_by() -> None:
    from goalflow.report.chart import reliable_change

    assert reliable_change({"instrument": "PHQ-9", "sd": 5.0, "reliability": 0.8}) == 6.0
    assert reliable_change({"instrument": "GAD-7"}) == 4.0
    assert round(reliable_change({"sd": 7.5, "reliability": 0.88}) or 0, 2) == 7.2
    assert reliable_change({"instrument": None}) is None
