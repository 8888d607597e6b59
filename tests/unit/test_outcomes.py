"""Measurement-based care: instruments, change, reliable change, recovery, the paired
result, achievementStatus and goal attainment scaling, against worked examples with
published numbers and by hand."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goalflow.domain import Goal, Measure, Reading
from goalflow.errors import InvalidCommand, InvalidTransition, NotPermitted
from goalflow.outcomes import (
    GasGoal,
    Series,
    achievement,
    goal_outcomes,
    judge,
    measure_result,
    paired,
    rci,
    t_score,
)

from .builders import (
    DR_OKAFOR,
    JONAH,
    MAYA,
    ROSA,
    agree_all,
    at,
    draft_anxiety_goal,
    moment,
    refused,
)

PHQ9 = Measure("PHQ-9", baseline=18, target=9, instrument="PHQ-9")
GAD7 = Measure("GAD-7", baseline=15, target=7, instrument="GAD-7")
LEVELS = ("Panics before work every day", "Panics before work most days",
          "Gets to work without panicking most days", "Gets to work without panicking every day",
          "Gets to work calmly and helps a colleague with theirs")


def reading(value: float, days: int = 7) -> Reading:
    return Reading(value, moment(days=days))


def result(measure: Measure, *values: float):  # type: ignore[no-untyped-def]
    """The measure judged after these readings, in order."""
    if not values:
        return measure_result(measure, Series())
    return measure_result(measure, Series(reading(values[0], 1), reading(values[-1], 9),
                                          len(values)))


# -- instruments ----------------------------------------------------------------------------

def test_a_measure_naming_phq9_takes_its_range_cutoff_and_direction() -> None:
    filled = (PHQ9.minimum, PHQ9.maximum, PHQ9.cutoff, PHQ9.direction)
    assert filled == (0, 27, 10, "decrease")
    assert (GAD7.minimum, GAD7.maximum, GAD7.cutoff) == (0, 21, 8)
    assert Measure("PHQ-9", baseline=18, target=9, instrument="PHQ-9", minimum=0,
                           maximum=27, cutoff=10) == PHQ9


def test_a_clinic_s_own_instrument_is_kept_as_given_with_nothing_filled() -> None:
    own = Measure("Worry diary", baseline=40, instrument="Clinic worry scale")
    assert (own.minimum, own.maximum, own.cutoff, own.whole_points) == (None, None, None, False)


@pytest.mark.parametrize(("fields", "match"), [
    ({"maximum": 30}, "PHQ-9's maximum is 27, not 30"),
    ({"cutoff": 12}, "PHQ-9's cutoff is 10, not 12"),
    ({"direction": "increase"}, "PHQ-9 scores decrease as they improve, not increase"),
    ({"baseline": 18.5}, "baseline 18.5 is not a whole number of points"),
    ({"target": 30}, "target 30 is outside its range 0 to 27"),
    ({"baseline": -1}, "baseline -1 is outside its range 0 to 27"),
])
def test_a_measure_that_contradicts_its_instrument_is_refused(fields: dict[str, object],
                                                              match: str) -> None:
    with pytest.raises(InvalidCommand, match=match):
        Measure("PHQ-9", instrument="PHQ-9", **fields)  # type: ignore[arg-type]


def active_goal(*measures: Measure) -> Goal:
    goal = draft_anxiety_goal(measures=measures or (PHQ9, GAD7))
    return agree_all(goal)


@pytest.mark.parametrize(("value", "match"), [
    (28, "value 28 for measure 'PHQ-9' is outside its range 0 to 27"),
    (-1, "value -1 for measure 'PHQ-9' is outside its range 0 to 27"),
    (12.5, "value 12.5 for measure 'PHQ-9' is not a whole number of points"),
])
def test_a_reading_outside_the_instrument_or_between_its_points_is_refused(
        value: float, match: str) -> None:
    goal = active_goal()
    with refused(goal, InvalidCommand, match=match):
        goal.record_progress(by=MAYA, measure="PHQ-9", value=value, **at(days=1))


def test_a_reading_outside_a_plain_measure_s_range_is_refused_and_within_it_taken() -> None:
    days = Measure("Days exercised a week", baseline=1, target=5, direction="increase",
                   minimum=0, maximum=7)
    goal = active_goal(days)
    with refused(goal, InvalidCommand, match="value 8 for measure 'Days exercised a week'"
                 " is outside its range 0 to 7"):
        goal.record_progress(by=MAYA, measure="Days exercised a week", value=8, **at(days=1))
    goal.record_progress(by=MAYA, measure="Days exercised a week", value=3.5, **at(days=1))
    assert goal.readings["Days exercised a week"].value == 3.5


def test_a_whole_reading_given_as_a_float_is_taken() -> None:
    goal = active_goal()
    goal.record_progress(by=MAYA, measure="PHQ-9", value=12.0, **at(days=1))
    assert goal.readings["PHQ-9"].value == 12.0


# -- Jacobson-Truax --------------------------------------------------------------------------

def test_the_jacobson_truax_dyadic_adjustment_scale_example() -> None:
    # Jacobson & Truax (1991): DAS, pre-treatment sd 7.5, test-retest reliability .80:
    # SE = 7.5 * sqrt(.2) = 3.35, S_diff = sqrt(2 * 3.35**2) = 4.74; a couple moving from
    # 90 to 100 changes by 10 points: RC = 10 / 4.74 = 2.11 > 1.96, a reliable change, and
    # a change needs 1.96 * 4.74 = 9.30 points to be reliable.
    assert round(rci(90, 100, 7.5, 0.80), 2) == 2.11
    s_diff = 7.5 * math.sqrt(1 - 0.80) * math.sqrt(2)
    assert round(s_diff, 2) == 4.74
    das = Measure("DAS", baseline=90, direction="increase", sd=7.5, reliability=0.80)
    judged = result(das, 100)
    assert judged.reliable.value == "improved"
    assert judged.reliable.rule == "Jacobson-Truax: |RCI| > 1.96, sd=7.5, r=0.8"
    assert judged.rci.rule == "Jacobson-Truax RCI, sd=7.5, r=0.8"
    assert result(das, 99).reliable.value == "no-reliable-change"  # 9 / 4.74 = 1.90
    assert result(das, 80).reliable.value == "deteriorated"  # -10 / 4.74 = -2.11


def test_a_measure_without_sd_and_reliability_or_an_instrument_is_not_judged() -> None:
    plain_scale = Measure("Worry minutes", baseline=120, target=30)
    judged = result(plain_scale, 30)
    assert judged.reliable.value is None
    assert "no rule for reliable change" in judged.reliable.rule
    assert judged.rci.value is None
    assert judged.target_met.value is True


# -- NHS Talking Therapies thresholds at their edges ---------------------------------------

@pytest.mark.parametrize(("latest", "reliable"), [
    (13, "no-reliable-change"),  # down 5
    (12, "improved"),  # down 6
    (23, "no-reliable-change"),  # up 5
    (24, "deteriorated"),  # up 6
])
def test_phq9_needs_six_points_for_reliable_change(latest: int, reliable: str) -> None:
    judged = result(PHQ9, latest)
    assert judged.reliable.value == reliable
    assert judged.reliable.rule == "NHS Talking Therapies: PHQ-9 >= 6 points"


@pytest.mark.parametrize(("latest", "reliable"), [
    (12, "no-reliable-change"), (11, "improved"), (18, "no-reliable-change"),
    (19, "deteriorated")])
def test_gad7_needs_four_points_for_reliable_change(latest: int, reliable: str) -> None:
    assert result(GAD7, latest).reliable.value == reliable


@pytest.mark.parametrize(("score", "clinical"), [(9, False), (10, True)])
def test_phq9_caseness_starts_at_ten(score: int, clinical: bool) -> None:
    judged = result(PHQ9, score)
    assert judged.clinical_now.value is clinical
    assert judged.clinical_now.rule == "NHS Talking Therapies caseness: PHQ-9 >= 10"


@pytest.mark.parametrize(("score", "clinical"), [(7, False), (8, True)])
def test_gad7_caseness_starts_at_eight(score: int, clinical: bool) -> None:
    assert result(GAD7, score).clinical_now.value is clinical


def test_recovery_is_leaving_the_clinical_range_and_reliable_recovery_needs_reliable_change(
        ) -> None:
    recovered = result(Measure("PHQ-9", baseline=12, instrument="PHQ-9"), 9)  # down 3
    assert (recovered.recovered.value, recovered.reliably_recovered.value) == (True, False)
    reliably = result(PHQ9, 9)  # 18 -> 9: down 9, below 10
    assert (reliably.change, reliably.recovered.value, reliably.reliably_recovered.value) == \
        (-9, True, True)
    still = result(PHQ9, 10)
    assert still.recovered.value is False
    not_a_case = result(Measure("PHQ-9", baseline=8, instrument="PHQ-9"), 2)
    assert not_a_case.clinical_at_baseline.value is False
    assert not_a_case.recovered.value is None
    assert "not clinical at baseline" in not_a_case.recovered.rule


def test_an_increase_measure_is_clinical_below_its_cutoff() -> None:
    wellbeing = Measure("WEMWBS", baseline=35, target=45, direction="increase", cutoff=41,
                        sd=8.0, reliability=0.85)
    judged = result(wellbeing, 46)
    assert (judged.clinical_at_baseline.value, judged.clinical_now.value) == (True, False)
    assert judged.clinical_now.rule == "clinical range: WEMWBS < 41"
    assert judged.target_met.value is True
    assert judged.reliable.value == "improved"  # 11 / (8 * sqrt(.15) * sqrt 2) = 2.51


def test_without_a_baseline_the_first_reading_is_the_baseline_and_one_reading_is_no_pair(
        ) -> None:
    phq9 = Measure("PHQ-9", instrument="PHQ-9")
    one = result(phq9, 17)
    assert (one.baseline, one.baseline_from, one.paired, one.change) == \
        (17, "first reading", False, None)
    assert one.reliable.value is None
    assert one.clinical_at_baseline.value is True
    two = result(phq9, 17, 14, 11)
    assert (two.baseline, two.latest, two.change, two.readings, two.reliable.value) == \
        (17, 11, -6, 3, "improved")


def test_a_measure_with_a_baseline_and_no_readings_has_no_change() -> None:
    judged = result(PHQ9)
    assert (judged.paired, judged.change, judged.latest, judged.target_met.value) == \
        (False, None, None, None)
    assert judged.clinical_at_baseline.value is True


# -- the paired result ----------------------------------------------------------------------

def pair(phq9_latest: int, gad7_latest: int, *, phq9_baseline: int = 18,
         gad7_baseline: int = 15):  # type: ignore[no-untyped-def]
    return paired([
        result(Measure("PHQ-9", baseline=phq9_baseline, instrument="PHQ-9"), phq9_latest),
        result(Measure("GAD-7", baseline=gad7_baseline, instrument="GAD-7"), gad7_latest)])


def test_paired_reliable_improvement_needs_one_improved_and_neither_deteriorated() -> None:
    assert pair(12, 14).reliable == "improved"  # PHQ-9 down 6, GAD-7 down 1
    assert pair(12, 19).reliable == "no-reliable-change"  # one up 4: deteriorated
    assert pair(24, 15).reliable == "deteriorated"
    assert pair(13, 12).reliable == "no-reliable-change"  # down 5 and 3: neither
    assert pair(12, 14).rule == "NHS Talking Therapies paired rules: PHQ-9 and GAD-7"


def test_paired_recovery_is_a_case_on_one_at_baseline_and_on_neither_now() -> None:
    recovered = pair(9, 7)
    assert (recovered.recovered, recovered.reliably_recovered) == (True, True)
    assert pair(9, 8).recovered is False  # GAD-7 still at 8
    # A case on GAD-7 only at baseline (PHQ-9 at 8), out of both now, GAD-7 down 3 only.
    weak = pair(6, 7, phq9_baseline=8, gad7_baseline=10)
    assert (weak.clinical_at_baseline, weak.recovered, weak.reliable,
            weak.reliably_recovered) == (True, True, "no-reliable-change", False)
    not_a_case = pair(2, 2, phq9_baseline=8, gad7_baseline=6)
    assert (not_a_case.clinical_at_baseline, not_a_case.recovered) == (False, None)


def test_without_the_pair_the_same_rules_apply_to_the_measures_that_can_be_judged() -> None:
    one = paired([result(PHQ9, 11), result(Measure("Worry minutes", baseline=120), 30)])
    assert one is not None
    assert one.measures == ("PHQ-9",)
    assert one.rule == "NHS Talking Therapies paired rules applied to: PHQ-9"
    assert paired([result(Measure("Worry minutes", baseline=120), 30)]) is None


# -- achievementStatus ----------------------------------------------------------------------

def statuses(status: str, *results):  # type: ignore[no-untyped-def]
    return judge(status, results, paired(results))


def test_achievement_status_follows_the_goal_and_its_measures() -> None:
    assert statuses("completed").code == "achieved"
    assert statuses("active").code is None
    assert statuses("active").explanation == "the goal has no measures"
    assert statuses("active", result(PHQ9)).explanation == "no readings recorded yet"
    met = statuses("active", result(PHQ9, 9), result(GAD7, 7))
    assert met.code == "achieved"
    assert met.explanation.startswith("every measure with a target meets it: PHQ-9 9")
    assert statuses("active", result(PHQ9, 12), result(GAD7, 14)).code == "improving"
    assert statuses("active", result(PHQ9, 24), result(GAD7, 15)).code == "worsening"
    assert statuses("on-hold", result(PHQ9, 16), result(GAD7, 14)).code == "no-change"
    unjudged = statuses("active", result(Measure("Worry minutes", baseline=120, target=30), 60))
    assert unjudged.code is None
    assert "no measure can be judged" in unjudged.explanation


def test_a_goal_shows_its_achievement_status_with_why_in_to_dict() -> None:
    goal = active_goal()
    assert goal.to_dict()["achievement_status"] == {
        "code": None, "explanation": "no readings recorded yet"}
    goal.record_progress(by=MAYA, measure="PHQ-9", value=11, **at(days=7))
    goal.record_progress(by=MAYA, measure="GAD-7", value=13, **at(days=7))
    status = goal.to_dict()["achievement_status"]
    assert status["code"] == "improving"
    assert "NHS Talking Therapies paired rules: PHQ-9 and GAD-7" in status["explanation"]
    assert achievement(goal).code == "improving"
    outcomes = goal_outcomes(goal)
    assert [m.change for m in outcomes.measures] == [-7, -2]


def test_the_first_reading_and_the_count_are_kept_and_a_removed_measure_forgets_them() -> None:
    goal = active_goal(Measure("PHQ-9", instrument="PHQ-9"), GAD7)
    for days, value in ((1, 20), (8, 16), (15, 13)):
        goal.record_progress(by=MAYA, measure="PHQ-9", value=value, **at(days=days))
    assert goal.first_readings["PHQ-9"].value == 20
    assert goal.readings["PHQ-9"].value == 13
    assert goal.reading_counts["PHQ-9"] == 3
    assert goal_outcomes(goal).measures[0].change == -7
    goal.revise(by=DR_OKAFOR, reason="Depression is no longer a focus", measures=[GAD7],
                **at(days=16))
    assert "PHQ-9" not in goal.first_readings
    assert "PHQ-9" not in goal.reading_counts


# -- goal attainment scaling -----------------------------------------------------------------

def test_gas_t_scores_by_hand_with_equal_weights() -> None:
    # Three goals, weight 1, rated +1, +1, 0: T = 50 + 10 * 2 / sqrt(0.7*3 + 0.3*9)
    #   = 50 + 20 / sqrt(4.8) = 59.13; all at -1 (baseline): 50 - 30 / sqrt(4.8) = 36.31.
    assert round(t_score([(1, 1), (1, 1), (1, 0)]), 2) == 59.13  # type: ignore[arg-type]
    assert round(t_score([(1, -1)] * 3), 2) == 36.31  # type: ignore[arg-type]
    assert t_score([]) is None


def test_gas_t_scores_by_hand_with_unequal_weights() -> None:
    # Weights 1, 2, 3 rated +1, 0, -1: sum(w*x) = -2, sum(w^2) = 14, (sum w)^2 = 36:
    #   T = 50 - 20 / sqrt(9.8 + 10.8) = 50 - 20 / 4.5387 = 45.59.
    assert round(t_score([(1, 1), (2, 0), (3, -1)]), 2) == 45.59  # type: ignore[arg-type]


levels = st.sampled_from((-2, -1, 0, 1, 2))
weights = st.one_of(st.integers(1, 10), st.floats(0.1, 10, allow_nan=False))


@given(st.lists(weights, min_size=1, max_size=12))
def test_every_goal_at_the_expected_level_scores_fifty(ws: list[float]) -> None:
    assert t_score([(w, 0) for w in ws]) == pytest.approx(50)


@given(st.lists(st.tuples(weights, levels), min_size=1, max_size=12), st.data())
def test_raising_any_rating_raises_the_t_score(rated: list[tuple[float, int]],
                                               data: st.DataObject) -> None:
    which = data.draw(st.sampled_from([i for i, (_, x) in enumerate(rated) if x < 2] or [-1]))
    if which == -1:
        return  # every goal already at +2
    raised = list(rated)
    raised[which] = (rated[which][0], rated[which][1] + 1)
    assert t_score(raised) > t_score(rated)  # type: ignore[operator]


def test_a_scale_needs_five_levels_a_positive_weight_and_a_baseline_of_minus_one_or_two(
        ) -> None:
    goal = active_goal()
    for fields, match in (({"levels": LEVELS[:4]}, "gas.levels needs five descriptions"),
                          ({"levels": LEVELS, "weight": 0}, "gas.weight must be above 0"),
                          ({"levels": LEVELS, "baseline_level": 0},
                           "gas.baseline_level must be -1 or -2"),
                          ({"levels": "a string"}, "expected a list")):
        with refused(goal, InvalidCommand, match=match):
            goal.set_gas_scale(by=DR_OKAFOR, **at(days=1), **fields)  # type: ignore[arg-type]
    with refused(goal, NotPermitted, match="only a clinician or supervisor"):
        goal.set_gas_scale(by=MAYA, levels=LEVELS, **at(days=1))


def test_ratings_keep_the_rater_s_role_and_need_a_scale_and_a_level() -> None:
    goal = active_goal()
    with refused(goal, InvalidTransition, match="has no GAS scale"):
        goal.rate_attainment(by=MAYA, level=0, **at(days=1))
    goal.set_gas_scale(by=DR_OKAFOR, levels=LEVELS, weight=2, baseline_level=-2,
                       **at(days=1))
    goal.collect_events()
    for level in (3, -3, 0.5, True):
        with refused(goal, InvalidCommand, match="level must be a whole number from -2 to 2"):
            goal.rate_attainment(by=MAYA, level=level, **at(days=2))  # type: ignore[arg-type]
    with refused(goal, NotPermitted):
        goal.rate_attainment(by=JONAH, level=0, **at(days=2))
    goal.rate_attainment(by=MAYA, level=1, **at(days=2))
    goal.rate_attainment(by=ROSA, level=0, **at(days=2, hours=1))
    goal.rate_attainment(by=DR_OKAFOR, level=-1, **at(days=2, hours=2))
    assert {role: r.level for role, r in goal.ratings.items()} == \
        {"client": 1, "carer": 0, "clinician": -1}
    event = goal.collect_events()[-1]
    assert isinstance(event, Goal.AttainmentRated)
    assert (event.rater_role, event.actor) == ("clinician", DR_OKAFOR)


def test_a_goal_can_be_rated_after_it_has_ended() -> None:
    goal = active_goal()
    goal.set_gas_scale(by=DR_OKAFOR, levels=LEVELS, **at(days=1))
    goal.achieve(by=DR_OKAFOR, **at(days=30))
    goal.rate_attainment(by=MAYA, level=2, occurred_at=moment(days=60),
                         recorded_at=moment(days=60) + timedelta(hours=1))
    assert goal.ratings["client"].level == 2


def test_gas_goals_show_what_the_t_score_used() -> None:
    goal_a = GasGoal(draft_anxiety_goal().id, 1, 1, -1, "client", moment(days=3))
    assert goal_a.to_dict()["rater_role"] == "client"
