"""Revising the terms, and the steps a goal is broken into: traceable, never rewriting history."""

from __future__ import annotations

from datetime import date

import pytest

from goalflow.domain import FieldChange, Goal, Measure, Reading, Step, StepRewording, Subject
from goalflow.errors import InvalidCommand, InvalidTransition

from .builders import (
    BREATHING,
    CALM,
    CLIENT_WORDS,
    DR_OKAFOR,
    EXPRESSING,
    GAD7,
    LATER,
    MAYA,
    STATEMENT,
    TARGET_DATE,
    YOGA,
    agree_all,
    at,
    draft_anxiety_goal,
    goal_in,
    moment,
    refused,
)

MEDITATION_REASON = "Meditation made Maya feel worse"


def revise(goal: Goal, **changes: object) -> Goal.Revised:
    goal.revise(by=DR_OKAFOR, reason=MEDITATION_REASON, **LATER, **changes)
    [revised] = goal.collect_events()
    assert isinstance(revised, Goal.Revised)
    return revised


# -- what a revision records ------------------------------------------------------------------


def test_a_revision_records_each_changed_field_before_and_after(active_goal: Goal) -> None:
    phq9 = Measure("PHQ-9", baseline=12, target=4)
    revised = revise(
        active_goal,
        statement="Manage anxiety with walking and talking instead of meditation",
        client_words=None,
        addresses=["Generalised anxiety disorder", "Insomnia"],
        target_date=date(2024, 5, 2),
        strengths=["Walks her dog every day"],
        measures=[GAD7, phq9],
    )

    assert revised.reason == MEDITATION_REASON
    assert revised.changes == (
        FieldChange(
            "statement", STATEMENT, "Manage anxiety with walking and talking instead of meditation"
        ),
        FieldChange("client_words", CLIENT_WORDS, None),
        FieldChange(
            "addresses",
            ("Generalised anxiety disorder",),
            ("Generalised anxiety disorder", "Insomnia"),
        ),
        FieldChange("target_date", TARGET_DATE, date(2024, 5, 2)),
        FieldChange(
            "strengths",
            ("Walks her dog every day", "Close to her sister"),
            ("Walks her dog every day",),
        ),
        FieldChange("measures", (GAD7, CALM), (GAD7, phq9)),
    )
    assert (revised.steps_added, revised.steps_removed, revised.steps_reworded) == ((), (), ())
    assert active_goal.client_words is None
    assert active_goal.addresses == ("Generalised anxiety disorder", "Insomnia")
    assert active_goal.target_date == date(2024, 5, 2)
    assert active_goal.measures == (GAD7, phq9)


def test_a_field_given_with_its_current_value_is_not_recorded_as_changed(
    active_goal: Goal,
) -> None:
    revised = revise(active_goal, statement=STATEMENT, target_date=date(2024, 5, 2))
    assert [c.field for c in revised.changes] == ["target_date"]


def test_a_revision_records_steps_added_removed_and_reworded(active_goal: Goal) -> None:
    revised = revise(
        active_goal,
        add_steps=["Walk the dog for 20 minutes after work"],
        remove_steps=["s3"],
        reword_steps={"s1": "Learn one grounding exercise"},
    )

    assert revised.changes == ()
    assert revised.steps_added == (Step("s4", "Walk the dog for 20 minutes after work"),)
    assert [s.step_id for s in revised.steps_removed] == ["s3"]
    assert revised.steps_removed[0].description == EXPRESSING
    assert revised.steps_reworded == (
        StepRewording("s1", BREATHING, "Learn one grounding exercise"),
    )
    assert active_goal.steps == (
        Step("s1", "Learn one grounding exercise", "open"),
        Step("s2", YOGA, "completed"),
        Step("s4", "Walk the dog for 20 minutes after work", "open"),
    )


def test_rewording_a_completed_step_keeps_it_completed(active_goal: Goal) -> None:
    revised = revise(active_goal, reword_steps={"s2": "15 minutes of gentle yoga daily"})

    assert revised.steps_reworded == (StepRewording("s2", YOGA, "15 minutes of gentle yoga daily"),)
    assert active_goal.steps[1] == Step("s2", "15 minutes of gentle yoga daily", "completed")


def test_rewording_a_step_to_its_current_words_is_not_a_rewording(active_goal: Goal) -> None:
    revised = revise(
        active_goal,
        reword_steps={"s1": BREATHING, "s3": "Say one feeling aloud"},
    )
    assert [r.step_id for r in revised.steps_reworded] == ["s3"]


# -- measures replaced by a revision -------------------------------------------------------------


def test_replacing_the_measures_keeps_the_latest_reading_of_a_measure_that_keeps_its_name(
    active_goal: Goal,
) -> None:
    active_goal.record_progress(by=MAYA, measure="GAD-7", value=11, **at(days=1))
    active_goal.record_progress(by=MAYA, measure="self-rated calm", value=5, **at(days=1))
    active_goal.collect_events()

    revise(
        active_goal,
        measures=[Measure("GAD-7", baseline=15, target=5), Measure("PHQ-9", baseline=12, target=4)],
    )

    assert active_goal.readings == {"GAD-7": Reading(11, moment(days=1))}
    view = active_goal.to_dict()["measures"]
    assert [m["latest"] for m in view] == [
        {"value": 11, "occurred_at": moment(days=1).isoformat()},
        None,
    ]


def test_a_measure_removed_and_added_back_starts_without_a_reading(active_goal: Goal) -> None:
    active_goal.record_progress(by=MAYA, measure="self-rated calm", value=5, **at(days=1))
    active_goal.collect_events()
    revise(active_goal, measures=[GAD7])
    agree_all(active_goal, hours=49)
    active_goal.revise(
        by=DR_OKAFOR,
        reason="Maya asked to rate her calm again",
        measures=[GAD7, CALM],
        **at(days=3),
    )

    assert "self-rated calm" not in active_goal.readings


def test_duplicate_measure_names_in_a_revision_are_refused(active_goal: Goal) -> None:
    with refused(active_goal, InvalidCommand, match="unique within a goal: GAD-7") as e:
        active_goal.revise(
            by=DR_OKAFOR,
            reason=MEDITATION_REASON,
            **LATER,
            measures=[Measure("GAD-7", 15, 5), Measure("GAD-7", 15, 4)],
        )
    assert e.value.field == "measures"


# -- revisions refused ----------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", None, 42])
def test_a_revision_without_a_reason_is_refused(active_goal: Goal, reason: object) -> None:
    with refused(active_goal, InvalidCommand, match="reason") as e:
        active_goal.revise(
            by=DR_OKAFOR,
            reason=reason,  # type: ignore[arg-type]
            target_date=date(2024, 5, 2),
            **LATER,
        )
    assert e.value.field == "reason"


@pytest.mark.parametrize(
    "same",
    [
        {},
        {"statement": STATEMENT},
        {"client_words": CLIENT_WORDS, "target_date": TARGET_DATE},
        {"measures": [GAD7, CALM]},
        {"addresses": ["Generalised anxiety disorder"]},
        {"reword_steps": {"s2": YOGA}},
    ],
    ids=[
        "nothing given",
        "same statement",
        "same words and date",
        "same measures",
        "same addresses",
        "same step words",
    ],
)
def test_a_revision_that_changes_nothing_is_refused(active_goal: Goal, same: dict) -> None:
    with refused(active_goal, InvalidCommand, match="revise changes nothing"):
        active_goal.revise(by=DR_OKAFOR, reason=MEDITATION_REASON, **LATER, **same)


def test_removing_a_completed_step_is_refused(active_goal: Goal) -> None:
    with refused(active_goal, InvalidTransition, match="s2 is completed and cannot be removed"):
        active_goal.revise(by=DR_OKAFOR, reason="Yoga did not help", remove_steps=["s2"], **LATER)


@pytest.mark.parametrize(
    "changes",
    [{"remove_steps": ["s9"]}, {"reword_steps": {"s9": "Swim twice a week"}}],
    ids=["removing", "rewording"],
)
def test_revising_a_step_that_does_not_exist_is_refused(active_goal: Goal, changes: dict) -> None:
    with refused(active_goal, InvalidCommand, match="has no step 's9' \\(its steps: s1, s2, s3\\)"):
        active_goal.revise(by=DR_OKAFOR, reason=MEDITATION_REASON, **LATER, **changes)


def test_removing_a_step_twice_in_one_revision_is_refused(active_goal: Goal) -> None:
    with refused(active_goal, InvalidCommand, match="names a step twice"):
        active_goal.revise(
            by=DR_OKAFOR, reason=MEDITATION_REASON, remove_steps=["s3", "s3"], **LATER
        )


def test_removing_and_rewording_the_same_step_is_refused(active_goal: Goal) -> None:
    with refused(active_goal, InvalidCommand, match="both removed and reworded"):
        active_goal.revise(
            by=DR_OKAFOR,
            reason=MEDITATION_REASON,
            remove_steps=["s3"],
            reword_steps={"s3": "Say one feeling aloud"},
            **LATER,
        )


def test_the_subject_cannot_be_revised(active_goal: Goal) -> None:
    with refused(active_goal, TypeError):
        active_goal.revise(
            by=DR_OKAFOR,
            reason="Wrong client",  # type: ignore[call-arg]
            subject=Subject.client("jonah"),
            **LATER,
        )


def test_a_revision_may_not_grow_the_goal_past_a_hundred_steps() -> None:
    goal = draft_anxiety_goal(steps=[f"Breathe for {n} minutes" for n in range(1, 100)])
    with refused(goal, InvalidCommand, match="at most 100 steps"):
        goal.revise(by=DR_OKAFOR, reason="More practice", add_steps=["Stretch", "Swim"], **LATER)


# -- adding steps -------------------------------------------------------------------------------


def test_adding_a_step_after_the_goal_was_once_agreed_is_refused() -> None:
    goal = goal_in("active")
    goal.revise(by=DR_OKAFOR, reason=MEDITATION_REASON, target_date=date(2024, 5, 2), **at(hours=5))
    goal.collect_events()
    assert goal.status == "proposed"

    with refused(
        goal, InvalidTransition, match="agreed before; its terms change only through revise"
    ):
        goal.add_step(by=DR_OKAFOR, description="Keep a worry diary", **LATER)


def test_a_step_may_still_be_added_when_only_some_members_had_agreed(group_goal: Goal) -> None:
    group_goal.agree(by=MAYA, terms_version=1, method="signature", **at(hours=1))
    group_goal.add_step(by=DR_OKAFOR, description="Keep a worry diary", **LATER)
    assert group_goal.steps[-1].step_id == "s4"


def test_a_goal_holds_at_most_a_hundred_steps() -> None:
    goal = draft_anxiety_goal(steps=[f"Breathe for {n} minutes" for n in range(1, 101)])
    with refused(goal, InvalidCommand, match="at most 100 steps"):
        goal.add_step(by=DR_OKAFOR, description="Stretch", **LATER)


@pytest.mark.parametrize("description", ["", "   ", "Stretch\x00", "x" * 5_001])
def test_a_step_needs_a_plain_description(anxiety_goal: Goal, description: str) -> None:
    with refused(anxiety_goal, InvalidCommand, match="description"):
        anxiety_goal.add_step(by=DR_OKAFOR, description=description, **LATER)


# -- step ids -------------------------------------------------------------------------------------


def test_step_ids_are_never_reused_even_after_removal() -> None:
    goal = draft_anxiety_goal()
    goal.add_step(by=DR_OKAFOR, description="Keep a worry diary", **at(hours=1))  # s4
    goal.revise(
        by=DR_OKAFOR, reason="The diary felt like homework", remove_steps=["s4"], **at(hours=2)
    )
    goal.revise(
        by=DR_OKAFOR, reason="Try walking instead", add_steps=["Walk after work"], **at(hours=3)
    )

    assert [s.step_id for s in goal.steps] == ["s1", "s2", "s3", "s5"]

    goal.revise(
        by=DR_OKAFOR,
        reason="Drop the walk and the session practice",
        remove_steps=["s5", "s3"],
        add_steps=["Swim", "Stretch"],
        **at(hours=4),
    )
    assert [s.step_id for s in goal.steps] == ["s1", "s2", "s6", "s7"]
    assert goal.steps[2] == Step("s6", "Swim", "open")


def test_a_step_added_in_the_same_revision_that_removes_the_last_step_gets_a_new_id(
    anxiety_goal: Goal,
) -> None:
    revised = revise(anxiety_goal, remove_steps=["s3"], add_steps=[EXPRESSING])
    assert revised.steps_added == (Step("s4", EXPRESSING),)


# -- completing and reopening steps ---------------------------------------------------------------


def test_completing_a_step_twice_is_refused(active_goal: Goal) -> None:
    with refused(active_goal, InvalidTransition, match="step s2 is already completed"):
        active_goal.complete_step(by=MAYA, step_id="s2", **LATER)


def test_reopening_an_open_step_is_refused(active_goal: Goal) -> None:
    with refused(active_goal, InvalidTransition, match="step s1 is not completed"):
        active_goal.reopen_step(by=DR_OKAFOR, step_id="s1", reason="Never mind", **LATER)


def test_completing_an_unknown_step_is_refused(active_goal: Goal) -> None:
    with refused(active_goal, InvalidCommand, match="has no step 's4'") as e:
        active_goal.complete_step(by=MAYA, step_id="s4", **LATER)
    assert e.value.field == "step_id"


def test_reopening_an_unknown_step_is_refused(active_goal: Goal) -> None:
    with refused(active_goal, InvalidCommand, match="has no step 'yoga'"):
        active_goal.reopen_step(by=DR_OKAFOR, step_id="yoga", reason="Stopped", **LATER)


def test_a_removed_step_cannot_be_completed() -> None:
    goal = goal_in("active")
    goal.revise(by=DR_OKAFOR, reason="Drop session practice", remove_steps=["s3"], **at(hours=5))
    agree_all(goal, hours=6)
    with refused(goal, InvalidCommand, match="has no step 's3'"):
        goal.complete_step(by=MAYA, step_id="s3", **LATER)


def test_reopening_a_step_needs_a_reason(active_goal: Goal) -> None:
    with refused(active_goal, InvalidCommand, match="reason must not be empty"):
        active_goal.reopen_step(by=DR_OKAFOR, step_id="s2", reason=" ", **LATER)
