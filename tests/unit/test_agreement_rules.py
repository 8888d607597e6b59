"""Agreement names the terms the client saw, how it was given, and only SMART goals are agreed."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from goalflow.domain import Actor, Goal, Measure
from goalflow.errors import InvalidCommand, InvalidTransition, NotSmart

from .builders import (
    DR_OKAFOR,
    LATER,
    MAYA,
    MAYAS_SUBJECT,
    ROSA,
    at,
    draft_anxiety_goal,
    goal_in,
    moment,
    refused,
)


def test_agreeing_to_stale_terms_is_refused(anxiety_goal: Goal) -> None:
    anxiety_goal.add_step(by=DR_OKAFOR, description="Keep a worry diary", **at(hours=1))
    anxiety_goal.collect_events()

    with refused(
        anxiety_goal,
        InvalidTransition,
        match="terms version 1, but the current terms are version 2",
    ) as e:
        anxiety_goal.agree(by=MAYA, terms_version=1, method="signature", **LATER)
    assert e.value.status == "proposed"


def test_agreeing_to_terms_not_yet_written_is_refused(anxiety_goal: Goal) -> None:
    with refused(anxiety_goal, InvalidTransition, match="terms version 2"):
        anxiety_goal.agree(by=MAYA, terms_version=2, method="signature", **LATER)


def test_agreeing_to_the_terms_before_a_revision_is_refused() -> None:
    goal = goal_in("active")
    goal.revise(
        by=DR_OKAFOR,
        reason="Meditation made Maya feel worse",
        reword_steps={"s1": "Learn one grounding exercise"},
        **at(hours=5),
    )
    goal.collect_events()

    with refused(goal, InvalidTransition, match="current terms are version 2"):
        goal.agree(by=MAYA, terms_version=1, method="signature", **LATER)


@pytest.mark.parametrize("terms_version", ["1", 1.0, True, None])
def test_a_terms_version_must_be_a_whole_number(anxiety_goal: Goal, terms_version: object) -> None:
    with refused(anxiety_goal, InvalidCommand, match="terms_version must be a whole number"):
        anxiety_goal.agree(
            by=MAYA,
            terms_version=terms_version,  # type: ignore[arg-type]
            method="signature",
            **LATER,
        )


def test_a_group_member_agreeing_twice_is_refused(group_goal: Goal) -> None:
    maya = Actor("maya", "client")
    group_goal.agree(by=maya, terms_version=1, method="signature", **at(hours=1))
    group_goal.collect_events()

    with refused(group_goal, InvalidTransition, match="maya has already agreed to terms version 1"):
        group_goal.agree(by=maya, terms_version=1, method="portal", **LATER)


def test_a_guardian_agreeing_after_the_member_herself_is_agreeing_twice(group_goal: Goal) -> None:
    group_goal.agree(by=Actor("maya", "client"), terms_version=1, method="signature", **at(hours=1))
    group_goal.collect_events()

    with refused(group_goal, InvalidTransition, match="already agreed"):
        group_goal.agree(by=ROSA, terms_version=1, method="signature", **LATER)


def test_agreeing_again_to_an_active_goal_is_refused(anxiety_goal: Goal) -> None:
    anxiety_goal.agree(by=MAYA, terms_version=1, method="signature", **at(hours=1))
    anxiety_goal.collect_events()

    with refused(anxiety_goal, InvalidTransition, match="is active"):
        anxiety_goal.agree(by=MAYA, terms_version=1, method="signature", **LATER)


# -- how agreement was given ------------------------------------------------------------------


def test_a_verbal_agreement_without_a_witness_is_refused(anxiety_goal: Goal) -> None:
    with refused(anxiety_goal, InvalidCommand, match="verbal agreement needs witnessed_by") as e:
        anxiety_goal.agree(by=MAYA, terms_version=1, method="verbal", **LATER)
    assert e.value.field == "witnessed_by"


@pytest.mark.parametrize(
    "witness",
    [Actor("jonah", "client"), ROSA, MAYA],
    ids=["another client", "a guardian", "the client herself"],
)
def test_only_a_clinician_or_supervisor_may_witness_a_verbal_agreement(
    anxiety_goal: Goal, witness: Actor
) -> None:
    with refused(
        anxiety_goal,
        InvalidCommand,
        match=f"witnessed_by must be a clinician or supervisor, not a {witness.role}",
    ):
        anxiety_goal.agree(by=MAYA, terms_version=1, method="verbal", witnessed_by=witness, **LATER)


def test_a_witness_named_by_id_alone_is_refused(anxiety_goal: Goal) -> None:
    with refused(anxiety_goal, InvalidCommand, match="witnessed_by must be a"):
        anxiety_goal.agree(
            by=MAYA,
            terms_version=1,
            method="verbal",
            witnessed_by="dr-okafor",  # type: ignore[arg-type]
            **LATER,
        )


@pytest.mark.parametrize("method", ["signature", "portal"])
def test_a_witness_is_only_for_verbal_agreements(anxiety_goal: Goal, method: str) -> None:
    with refused(anxiety_goal, InvalidCommand, match=f"only for verbal agreements, not {method}"):
        anxiety_goal.agree(by=MAYA, terms_version=1, method=method, witnessed_by=DR_OKAFOR, **LATER)


@pytest.mark.parametrize("method", ["fax", "Signature", "", None])
def test_agreement_is_by_signature_verbal_or_portal(anxiety_goal: Goal, method: object) -> None:
    with refused(anxiety_goal, InvalidCommand, match="method must be one of") as e:
        anxiety_goal.agree(by=MAYA, terms_version=1, method=method, **LATER)  # type: ignore[arg-type]
    assert e.value.field == "method"


# -- SMART-complete goals only ----------------------------------------------------------------


def test_agreeing_to_a_goal_that_is_not_smart_lists_what_is_missing() -> None:
    goal = Goal.draft(
        goal_id=uuid4(), subject=MAYAS_SUBJECT, statement="Feel less anxious", by=DR_OKAFOR, **at()
    )
    goal.collect_events()

    with refused(goal, NotSmart) as e:
        goal.agree(by=MAYA, terms_version=1, method="signature", **LATER)

    assert e.value.missing == {
        "measurable": "no measure with a target",
        "achievable": "no steps",
        "relevant": "neither addresses nor client_words given",
        "time-bound": "no target date",
    }
    for reason in e.value.missing.values():
        assert reason in str(e.value)
    assert isinstance(e.value, InvalidTransition)
    assert e.value.goal_id == goal.id


def test_agreeing_once_the_target_date_has_passed_is_refused() -> None:
    goal = draft_anxiety_goal(target_date=date(2024, 3, 20))

    with refused(goal, NotSmart, match="target date 2024-03-20 has passed") as e:
        goal.agree(by=MAYA, terms_version=1, method="signature", **at(days=17))

    assert list(e.value.missing) == ["time-bound"]


def test_agreeing_on_the_target_date_itself_is_still_in_time() -> None:
    goal = draft_anxiety_goal(target_date=date(2024, 3, 20))
    goal.agree(by=MAYA, terms_version=1, method="signature", **at(days=16))
    assert goal.status == "active"


def test_the_agreement_day_is_the_clinical_day_not_the_day_it_was_entered() -> None:
    goal = draft_anxiety_goal(target_date=date(2024, 3, 20))
    # Agreed on the 19th in session, entered a week later: still in time.
    goal.agree(
        by=MAYA,
        terms_version=1,
        method="signature",
        occurred_at=moment(days=15),
        recorded_at=moment(days=22),
    )
    assert goal.status == "active"


def test_a_measure_without_a_target_does_not_make_the_goal_measurable() -> None:
    goal = draft_anxiety_goal(measures=[Measure("GAD-7", baseline=15)])
    with refused(goal, NotSmart, match="measurable: no measure with a target"):
        goal.agree(by=MAYA, terms_version=1, method="signature", **LATER)


def test_removing_every_step_in_a_revision_makes_agreement_impossible() -> None:
    goal = draft_anxiety_goal()
    goal.revise(
        by=DR_OKAFOR,
        reason="Start again from the client's own steps",
        remove_steps=["s1", "s2", "s3"],
        **at(hours=1),
    )
    goal.collect_events()
    with refused(goal, NotSmart, match="achievable: no steps"):
        goal.agree(by=MAYA, terms_version=2, method="signature", **LATER)
