"""Outcomes on a real store: the ``outcomes`` read model equals what ``goals.outcomes()``
works out from the goals, rebuilds to the same rows, and results as of a past moment equal
those of a store that holds only the events recorded until then."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import pytest
from anxiety_goal import DR_LEE, MAYA, MAYAS_MOTHER
from as_printed import printed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from read_models import dump, rebuilt

import goalflow
from goalflow import Actor, Measure, Subject

PHQ9 = Measure("PHQ-9", baseline=18, target=9, instrument="PHQ-9")
GAD7 = Measure("GAD-7", baseline=15, target=7, instrument="GAD-7")
JONAH = Actor("client-9", "client")
LEVELS = ("Panics before work every day", "Panics before work most days",
          "Gets to work without panicking most days", "Gets to work without panicking every day",
          "Gets to work calmly and helps a colleague with theirs")
SLEEP = ("Awake most of every night", "Awake half of most nights", "Sleeps six hours most nights",
         "Sleeps seven hours most nights", "Sleeps through every night")


def low_mood_goal(goals: goalflow.Goals, subject: str = "client-7",
                  measures: tuple[Measure, ...] = (PHQ9, GAD7), goal_id: UUID | None = None
                  ) -> UUID:
    client = Actor(subject, "client")
    goal_id = goals.draft(
        Subject.client(subject), "By June I manage low mood and worry, measured by PHQ-9 and"
        " GAD-7 every two weeks", goal_id=goal_id, by=DR_LEE, measures=measures,
        target_date=date(2025, 6, 1),
        steps=["Walk 20 minutes a day"], addresses=["Depression"],
        client_words="I want to enjoy things again", strengths=["loves her allotment"])
    goals.agree(goal_id, by=client, terms_version=1, method="signature")
    return goal_id


def readings(goals: goalflow.Goals, goal_id: UUID, clock: Any,
             *pairs: tuple[int, int]) -> None:
    for phq9, gad7 in pairs:
        clock.advance(days=14)
        goals.record_progress(goal_id, by=MAYA, measure="PHQ-9", value=phq9)
        goals.record_progress(goal_id, by=MAYA, measure="GAD-7", value=gad7)


def a_clinic(goals: goalflow.Goals, clock: Any) -> dict[str, UUID]:
    mood = low_mood_goal(goals)
    readings(goals, mood, clock, (15, 13), (11, 10))
    goals.set_gas_scale(mood, by=DR_LEE, levels=LEVELS, weight=2)
    goals.rate_attainment(mood, by=MAYA, level=1)
    clock.advance(hours=1)
    goals.rate_attainment(mood, by=DR_LEE, level=0)
    sleep = low_mood_goal(goals, measures=(Measure("Hours slept", baseline=4, target=7,
                                                   direction="increase", sd=1.5,
                                                   reliability=0.8),))
    goals.set_gas_scale(sleep, by=DR_LEE, levels=SLEEP, baseline_level=-2)
    clock.advance(days=3)
    goals.record_progress(sleep, by=MAYA, measure="Hours slept", value=7.5)
    goals.rate_attainment(sleep, by=MAYAS_MOTHER, level=2)
    readings(goals, mood, clock, (8, 6))
    goals.achieve(mood, by=DR_LEE, evidence="PHQ-9 8 and GAD-7 6")
    jonah = low_mood_goal(goals, "client-9")
    clock.advance(days=14)
    goals.record_progress(jonah, by=JONAH, measure="PHQ-9", value=25)
    goals.record_progress(jonah, by=JONAH, measure="GAD-7", value=16)
    goals.revise(jonah, by=DR_LEE, reason="Anxiety is not a focus for Jonah", measures=[PHQ9])
    goals.agree(jonah, by=JONAH, terms_version=2, method="portal")
    goals.discontinue(jonah, by=DR_LEE, reason="Jonah moved away")
    return {"mood": mood, "sleep": sleep, "jonah": jonah}


def read_model_view(goals: goalflow.Goals, subject: str) -> list[dict[str, Any]]:
    """What the read model holds for the subject, in goals.outcomes()'s shape."""
    found = goals.projections.get("outcomes")
    with goals.store.recorder.transaction(commit=False) as tx:
        reader = goalflow.projection.Reader(tx, found)  # type: ignore[attr-defined]
        rows = found.goals(reader, subject)  # type: ignore[attr-defined]
        for row in rows:
            row["measures"] = found.measures(reader, UUID(row["goal_id"]))  # type: ignore[attr-defined]
    return rows


def test_the_read_model_holds_what_goals_outcomes_works_out(goals: goalflow.Goals,
                                                           clock: Any) -> None:
    ids = a_clinic(goals, clock)
    maya = goals.outcomes("client-7")
    by_goal = {row["goal_id"]: row for row in read_model_view(goals, "client-7")}
    assert len(maya.goals) == len(by_goal) == 2
    for goal in maya.goals:
        row = by_goal[str(goal.goal_id)]
        assert (row["achievement_status"], row["achievement_explanation"]) == \
            (goal.achievement.code, goal.achievement.explanation)
        assert row["paired_reliable"] == (goal.paired and goal.paired.reliable)
        assert row["paired_recovered"] == (goal.paired and goal.paired.recovered)
        for measure, kept in zip(goal.measures, row["measures"], strict=True):
            assert kept["name"] == measure.measure
            assert (kept["baseline"], kept["latest"], kept["change"], kept["readings"]) == \
                (measure.baseline, measure.latest, measure.change, measure.readings)
            assert kept["rci"] == pytest.approx(measure.rci.value)
            assert (kept["reliable"], kept["reliable_rule"]) == \
                (measure.reliable.value, measure.reliable.rule)
            assert (kept["clinical_at_baseline"], kept["clinical_now"], kept["recovered"],
                    kept["reliably_recovered"], kept["target_met"]) == \
                (measure.clinical_at_baseline.value, measure.clinical_now.value,
                 measure.recovered.value, measure.reliably_recovered.value,
                 measure.target_met.value)
    mood = next(g for g in maya.goals if g.goal_id == ids["mood"])
    assert mood.achievement.code == "achieved"
    assert [m.change for m in mood.measures] == [-10, -9]
    assert mood.paired is not None
    assert (mood.paired.reliable, mood.paired.recovered, mood.paired.reliably_recovered) == \
        ("improved", True, True)
    sleep = next(g for g in maya.goals if g.goal_id == ids["sleep"])
    assert sleep.achievement.code == "achieved"  # 7.5 hours >= 7
    assert sleep.measures[0].reliable.value == "improved"  # 3.5 / (1.5*sqrt(.2)*sqrt 2) = 3.69


def test_the_gas_read_model_holds_the_t_scores_goals_gas_works_out(goals: goalflow.Goals,
                                                                  clock: Any) -> None:
    ids = a_clinic(goals, clock)
    found = goals.projections.get("outcomes")
    with goals.store.recorder.transaction(commit=False) as tx:
        rows = {r["rater_role"]: r for r in found.gas(  # type: ignore[attr-defined]
            goalflow.projection.Reader(tx, found), "client-7")}  # type: ignore[attr-defined]
    # Weights 2 and 1. Any rater: the mood goal's latest is the clinician's 0 (after the
    # client's +1), sleep the carer's +2: T = 50 + 10 * 2 / sqrt(0.7*5 + 0.3*9) = 58.03;
    # baseline -1 and -2: 50 + 10 * -4 / sqrt(6.2) = 33.94.
    every = goals.gas("client-7")
    assert [g.goal_id for g in every.goals] == [ids["mood"], ids["sleep"]]
    assert round(every.t_score, 2) == 58.03  # type: ignore[arg-type]
    assert round(every.baseline_t_score, 2) == 33.94  # type: ignore[arg-type]
    client = goals.gas("client-7", rater_role="client")
    assert [(g.goal_id, g.level) for g in client.goals] == [(ids["mood"], 1)]
    assert round(client.t_score, 2) == 60.0  # type: ignore[arg-type]
    for role, result in (("any", every), ("client", client),
                         ("carer", goals.gas("client-7", rater_role="carer")),
                         ("clinician", goals.gas("client-7", rater_role="clinician"))):
        assert rows[role]["goals"] == len(result.goals)
        assert rows[role]["t_score"] == pytest.approx(result.t_score)
        assert rows[role]["baseline_t_score"] == pytest.approx(result.baseline_t_score)
    with pytest.raises(goalflow.InvalidCommand, match="rater_role must be one of"):
        goals.gas("client-7", rater_role="guardian")


def test_the_outcomes_read_model_rebuilds_to_the_same_rows(goals: goalflow.Goals,
                                                          clock: Any) -> None:
    a_clinic(goals, clock)
    kept_inline = dump(goals, "outcomes")
    assert all(kept_inline.values()), kept_inline
    assert rebuilt(goals, "outcomes") == kept_inline


def test_service_figures_count_ended_goals_with_a_paired_result(goals: goalflow.Goals,
                                                               clock: Any) -> None:
    a_clinic(goals, clock)
    figures = goals.service_outcomes()
    # Ended: Maya's mood goal (reliably recovered) and Jonah's (PHQ-9 18 -> 25, reliably
    # deteriorated, still a case). The sleep goal is still open.
    assert figures.ended == 2
    assert figures.not_clinical_at_baseline == 0
    assert figures.reliable_improvement.to_dict() == {"rate": 0.5, "count": 1, "of": 2}
    assert figures.reliable_deterioration.to_dict() == {"rate": 0.5, "count": 1, "of": 2}
    assert figures.recovery.to_dict() == {"rate": 0.5, "count": 1, "of": 2}
    assert figures.reliable_recovery.to_dict() == {"rate": 0.5, "count": 1, "of": 2}
    # Jonah's goal ended today, two weeks after Maya's.
    today = goals.service_outcomes(since=goals.today())
    assert (today.since, today.ended, today.reliable_deterioration.numerator) == \
        (goals.today(), 1, 1)
    assert goals.service_outcomes(since=date(2999, 1, 1)).ended == 0


def test_the_plan_shows_each_goal_s_achievement_status(goals: goalflow.Goals,
                                                      clock: Any) -> None:
    ids = a_clinic(goals, clock)
    [sleep] = printed(goals.plan("client-7"))
    assert sleep["goal_id"] == str(ids["sleep"])
    assert sleep["achievement_status"]["code"] == "achieved"
    assert sleep["achievement_status"]["explanation"].startswith("every measure with a target")


# -- as of a past moment ------------------------------------------------------------------

Step = tuple[str, int]
steps = st.lists(st.one_of(
    st.tuples(st.just("PHQ-9"), st.integers(0, 27)),
    st.tuples(st.just("GAD-7"), st.integers(0, 21)),
    st.tuples(st.just("rate"), st.integers(-2, 2))), min_size=1, max_size=8)


def play(goals: goalflow.Goals, clock: Any, plan: list[Step]) -> list[datetime]:
    """Record the goal and the steps; the moment after each step (the recorded time)."""
    goal_id = low_mood_goal(goals, goal_id=UUID("6f1d2c3b-4a59-4e8d-9c7b-a6f5e4d3c2b1"))
    goals.set_gas_scale(goal_id, by=DR_LEE, levels=LEVELS)
    moments = []
    for what, value in plan:
        clock.advance(days=1)
        if what == "rate":
            goals.rate_attainment(goal_id, by=MAYA, level=value)
        else:
            goals.record_progress(goal_id, by=MAYA, measure=what, value=value)
        moments.append(clock.now)
    return moments


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps, data=st.data())
def test_outcomes_as_of_a_past_moment_equal_those_of_a_store_with_only_the_events_until_then(
        clock: Any, plan: list[Step], data: st.DataObject) -> None:
    Clock = type(clock)  # a fresh clock for each store, from the same moment
    clock = Clock()
    with goalflow.open("memory://", clock=clock) as whole:
        moments = play(whole, clock, plan)
        cut = data.draw(st.integers(0, len(plan) - 1))
        then = whole.outcomes("client-7", as_of=moments[cut]).to_dict()
        gas_then = whole.gas("client-7", as_of=moments[cut]).to_dict()
    clock = Clock()
    with goalflow.open("memory://", clock=clock) as part:
        play(part, clock, plan[:cut + 1])
        now = part.outcomes("client-7").to_dict()
        assert gas_then == part.gas("client-7").to_dict()
    assert then.pop("as_of") == moments[cut].isoformat()
    assert now.pop("as_of") is None
    assert then == now


def test_a_store_opened_without_the_outcomes_read_model_still_gives_plans(
        store_url: str, clock: Any) -> None:
    from goalflow.projection import discover

    chosen = [p for p in discover() if p.name != "outcomes"]
    with goalflow.open(store_url, clock=clock, projections=chosen) as goals:
        goal_id = low_mood_goal(goals)
        [entry] = printed(goals.plan("client-7"))
        assert (entry["goal_id"], entry["achievement_status"]) == (str(goal_id), None)
        assert goals.outcomes("client-7").goals[0].achievement.explanation == \
            "no readings recorded yet"
        with pytest.raises(goalflow.ProjectionError, match="no projection named 'outcomes'"):
            goals.service_outcomes()
