"""Every transition of the lifecycle table in issue 2, and what each one records."""

from __future__ import annotations

import json
from datetime import date
from uuid import uuid4

import pytest

from goalflow.domain import Actor, Agreement, Goal, Reading, Step

from .builders import (
    ALLOWED_FROM,
    ANXIETY_GOAL,
    BREATHING,
    CALM,
    CHANGES_TERMS,
    CLIENT_WORDS,
    DR_LINDQVIST,
    DR_OKAFOR,
    EXPRESSING,
    FINAL,
    GAD7,
    LATER,
    LEADS_TO,
    MAYA,
    MAYAS_SUBJECT,
    RECORDS,
    ROSA,
    STATEMENT,
    STATUSES,
    TARGET_DATE,
    TUESDAY_GROUP,
    YOGA,
    at,
    goal_in,
    moment,
    run,
)

ALLOWED = [(command, status) for command, statuses in ALLOWED_FROM.items() for status in statuses]


@pytest.mark.parametrize(("command", "status"), ALLOWED)
def test_each_command_records_its_event_and_moves_the_goal_as_the_table_says(
    command: str, status: str
) -> None:
    goal = goal_in(status)
    version, terms_version = goal.version, goal.terms_version

    run(command, goal)

    events = goal.collect_events()
    assert [type(e) for e in events] == [RECORDS[command]]
    assert events[0].originator_version == goal.version == version + 1
    assert goal.status == (LEADS_TO[command] or status)
    expected_terms = terms_version + 1 if command in CHANGES_TERMS else terms_version
    assert goal.terms_version == expected_terms


# -- drafting --------------------------------------------------------------------------------


def test_drafting_the_anxiety_goal_proposes_it_at_terms_version_one() -> None:
    goal_id = uuid4()
    goal = Goal.draft(goal_id=goal_id, subject=MAYAS_SUBJECT, by=DR_OKAFOR, **at(), **ANXIETY_GOAL)

    [drafted] = goal.collect_events()
    assert isinstance(drafted, Goal.Drafted)
    assert drafted.goal_id == goal.goal_id == goal_id
    assert (goal.status, goal.terms_version, goal.version) == ("proposed", 1, 1)
    assert goal.subject == MAYAS_SUBJECT
    assert goal.statement == STATEMENT
    assert goal.client_words == CLIENT_WORDS
    assert goal.addresses == ("Generalised anxiety disorder",)
    assert goal.target_date == TARGET_DATE
    assert goal.strengths == ("Walks her dog every day", "Close to her sister")
    assert goal.measures == (GAD7, CALM)
    assert goal.readings == {}
    assert goal.agreements == ()
    assert goal.awaiting_agreement_from == ("maya",)
    assert (goal.drafted_by, goal.drafted_at) == (DR_OKAFOR, moment())


def test_drafted_steps_are_numbered_s1_s2_s3_in_order_and_open() -> None:
    goal = goal_in("proposed")
    assert goal.steps == (
        Step("s1", BREATHING, "open"),
        Step("s2", YOGA, "open"),
        Step("s3", EXPRESSING, "open"),
    )


def test_a_goal_may_be_drafted_with_nothing_but_a_statement() -> None:
    goal = Goal.draft(
        goal_id=uuid4(), subject=MAYAS_SUBJECT, statement="Feel less anxious", by=DR_OKAFOR, **at()
    )
    assert goal.status == "proposed"
    assert (goal.client_words, goal.target_date) == (None, None)
    assert goal.addresses == goal.strengths == goal.measures == goal.steps == ()


def test_a_supervisor_may_draft_a_goal() -> None:
    goal = Goal.draft(
        goal_id=uuid4(), subject=MAYAS_SUBJECT, by=DR_LINDQVIST, **at(), **ANXIETY_GOAL
    )
    assert goal.drafted_by == DR_LINDQVIST


def test_a_group_goal_awaits_every_member() -> None:
    goal = Goal.draft(goal_id=uuid4(), subject=TUESDAY_GROUP, by=DR_OKAFOR, **at(), **ANXIETY_GOAL)
    assert goal.awaiting_agreement_from == ("maya", "jonah", "priya")


# -- agreement -------------------------------------------------------------------------------


def test_the_clients_signature_makes_the_goal_active(anxiety_goal: Goal) -> None:
    anxiety_goal.agree(by=MAYA, terms_version=1, method="signature", **at(hours=1))

    [agreed] = anxiety_goal.collect_events()
    assert isinstance(agreed, Goal.AgreedByClient)
    assert (agreed.party, agreed.terms_version, agreed.method) == ("maya", 1, "signature")
    assert agreed.witnessed_by is None
    assert (anxiety_goal.status, anxiety_goal.terms_version, anxiety_goal.version) == (
        "active",
        1,
        2,
    )
    assert anxiety_goal.agreements == (
        Agreement("maya", MAYA, 1, "signature", None, moment(hours=1)),
    )
    assert anxiety_goal.current_agreements == anxiety_goal.agreements
    assert anxiety_goal.awaiting_agreement_from == ()
    assert anxiety_goal.activated_at == moment(hours=1)


def test_a_group_goal_becomes_active_only_when_the_last_member_agrees(group_goal: Goal) -> None:
    group_goal.agree(by=Actor("maya", "client"), terms_version=1, method="portal", **at(hours=1))
    assert group_goal.status == "proposed"
    assert group_goal.awaiting_agreement_from == ("jonah", "priya")

    group_goal.agree(
        by=Actor("priya", "client"), terms_version=1, method="signature", **at(hours=2)
    )
    assert group_goal.status == "proposed"
    assert group_goal.awaiting_agreement_from == ("jonah",)

    group_goal.agree(
        by=Actor("jonah", "client"), terms_version=1, method="signature", **at(hours=3)
    )

    events = group_goal.collect_events()
    assert [type(e) for e in events] == [Goal.AgreedByClient] * 3
    assert [e.party for e in events] == ["maya", "priya", "jonah"]
    assert (group_goal.status, group_goal.version) == ("active", 4)
    assert group_goal.activated_at == moment(hours=3)


def test_a_guardian_agrees_on_the_clients_behalf(anxiety_goal: Goal) -> None:
    anxiety_goal.agree(by=ROSA, terms_version=1, method="signature", **at(hours=1))

    [agreement] = anxiety_goal.agreements
    assert agreement.party == "maya"
    assert agreement.by == ROSA
    assert anxiety_goal.status == "active"


def test_a_verbal_agreement_records_the_clinician_who_witnessed_it(anxiety_goal: Goal) -> None:
    anxiety_goal.agree(
        by=MAYA, terms_version=1, method="verbal", witnessed_by=DR_OKAFOR, **at(hours=1)
    )

    [agreed] = anxiety_goal.collect_events()
    assert (agreed.method, agreed.witnessed_by) == ("verbal", DR_OKAFOR)
    [agreement] = anxiety_goal.agreements
    assert (agreement.method, agreement.witnessed_by, agreement.by) == (
        "verbal",
        DR_OKAFOR,
        MAYA,
    )


def test_a_supervisor_may_witness_a_verbal_agreement(anxiety_goal: Goal) -> None:
    anxiety_goal.agree(
        by=MAYA, terms_version=1, method="verbal", witnessed_by=DR_LINDQVIST, **at(hours=1)
    )
    assert anxiety_goal.agreements[0].witnessed_by == DR_LINDQVIST


# -- disagreement ----------------------------------------------------------------------------


def test_a_disagreement_keeps_the_goal_proposed_and_the_clients_own_words(
    anxiety_goal: Goal,
) -> None:
    anxiety_goal.disagree(
        by=MAYA,
        reason="Yoga feels impossible with my knee",
        alternative="Swim twice a week instead",
        **at(hours=1),
    )

    [disagreed] = anxiety_goal.collect_events()
    assert isinstance(disagreed, Goal.ClientDisagreed)
    assert disagreed.party == "maya"
    assert disagreed.reason == "Yoga feels impossible with my knee"
    assert disagreed.alternative == "Swim twice a week instead"
    assert (anxiety_goal.status, anxiety_goal.terms_version, anxiety_goal.version) == (
        "proposed",
        1,
        2,
    )


def test_a_guardians_disagreement_is_recorded_for_the_client(anxiety_goal: Goal) -> None:
    anxiety_goal.disagree(by=ROSA, reason="Maya cannot get to yoga classes", **at(hours=1))
    [disagreed] = anxiety_goal.collect_events()
    assert (disagreed.party, disagreed.actor, disagreed.alternative) == ("maya", ROSA, None)


def test_a_later_disagreement_withdraws_that_members_agreement(group_goal: Goal) -> None:
    group_goal.agree(by=Actor("maya", "client"), terms_version=1, method="signature", **at(hours=1))
    group_goal.agree(
        by=Actor("jonah", "client"), terms_version=1, method="signature", **at(hours=2)
    )

    group_goal.disagree(
        by=Actor("maya", "client"), reason="On reflection, yoga is too much", **at(hours=3)
    )

    assert group_goal.status == "proposed"
    assert group_goal.awaiting_agreement_from == ("maya", "priya")
    assert [a.party for a in group_goal.current_agreements] == ["jonah"]
    # Her earlier agreement is history, not erased.
    assert [a.party for a in group_goal.agreements] == ["maya", "jonah"]

    group_goal.agree(
        by=Actor("priya", "client"), terms_version=1, method="signature", **at(hours=4)
    )
    assert group_goal.status == "proposed", "Maya withdrew; the group goal may not start"

    group_goal.agree(by=Actor("maya", "client"), terms_version=1, method="signature", **at(hours=5))
    assert group_goal.status == "active"


# -- adding steps while drafting ----------------------------------------------------------


def test_adding_a_step_changes_the_terms(anxiety_goal: Goal) -> None:
    anxiety_goal.add_step(by=DR_OKAFOR, description="Keep a worry diary", **at(hours=1))

    [added] = anxiety_goal.collect_events()
    assert isinstance(added, Goal.StepAdded)
    assert (added.step_id, added.description) == ("s4", "Keep a worry diary")
    assert anxiety_goal.steps[-1] == Step("s4", "Keep a worry diary", "open")
    assert (anxiety_goal.status, anxiety_goal.terms_version, anxiety_goal.version) == (
        "proposed",
        2,
        2,
    )


def test_adding_a_step_clears_agreements_to_the_old_terms(group_goal: Goal) -> None:
    group_goal.agree(by=Actor("maya", "client"), terms_version=1, method="signature", **at(hours=1))

    group_goal.add_step(by=DR_OKAFOR, description="Keep a worry diary", **at(hours=2))

    assert group_goal.awaiting_agreement_from == ("maya", "jonah", "priya")
    assert group_goal.current_agreements == ()
    assert len(group_goal.agreements) == 1, "the agreement to version 1 stays in the record"


def test_steps_added_while_drafting_continue_the_numbering() -> None:
    goal = Goal.draft(
        goal_id=uuid4(), subject=MAYAS_SUBJECT, statement="Manage anxiety", by=DR_OKAFOR, **at()
    )
    goal.add_step(by=DR_OKAFOR, description=BREATHING, **at(minutes=1))
    goal.add_step(by=DR_LINDQVIST, description=YOGA, **at(minutes=2))
    assert [s.step_id for s in goal.steps] == ["s1", "s2"]
    assert goal.terms_version == 3


# -- steps -------------------------------------------------------------------------------------


def test_completing_a_step_marks_a_milestone(active_goal: Goal) -> None:
    active_goal.complete_step(by=MAYA, step_id="s1", note="Box breathing and 4-7-8", **LATER)

    [completed] = active_goal.collect_events()
    assert isinstance(completed, Goal.StepCompleted)
    assert (completed.step_id, completed.note) == ("s1", "Box breathing and 4-7-8")
    assert active_goal.steps[0] == Step("s1", BREATHING, "completed")
    assert (active_goal.status, active_goal.terms_version) == ("active", 1)


def test_reopening_a_completed_step_makes_it_open_again(active_goal: Goal) -> None:
    assert active_goal.steps[1].status == "completed"

    active_goal.reopen_step(by=DR_OKAFOR, step_id="s2", reason="Stopped the yoga", **LATER)

    [reopened] = active_goal.collect_events()
    assert isinstance(reopened, Goal.StepReopened)
    assert (reopened.step_id, reopened.reason) == ("s2", "Stopped the yoga")
    assert active_goal.steps[1] == Step("s2", YOGA, "open")
    assert (active_goal.status, active_goal.terms_version) == ("active", 1)


@pytest.mark.parametrize("by", [MAYA, ROSA, DR_OKAFOR, DR_LINDQVIST], ids=lambda a: a.role)
def test_the_client_their_guardian_or_a_clinician_may_complete_a_step(
    active_goal: Goal, by: Actor
) -> None:
    active_goal.complete_step(by=by, step_id="s3", **LATER)
    assert active_goal.steps[2].status == "completed"


# -- progress ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["active", "on-hold"])
def test_progress_is_recorded_as_the_latest_reading(status: str) -> None:
    goal = goal_in(status)

    goal.record_progress(by=MAYA, measure="GAD-7", value=11, **at(days=7))
    goal.record_progress(by=MAYA, measure="GAD-7", value=9.5, **at(days=14))

    events = goal.collect_events()
    assert [type(e) for e in events] == [Goal.ProgressRecorded] * 2
    assert (events[1].measure, events[1].value) == ("GAD-7", 9.5)
    assert goal.readings == {"GAD-7": Reading(9.5, moment(days=14))}
    assert goal.status == status


@pytest.mark.parametrize("by", [MAYA, ROSA, DR_OKAFOR, DR_LINDQVIST], ids=lambda a: a.role)
def test_a_self_report_or_a_clinicians_observation_may_be_recorded(
    active_goal: Goal, by: Actor
) -> None:
    active_goal.record_progress(by=by, measure="self-rated calm", value=5, **LATER)
    assert active_goal.readings["self-rated calm"].value == 5


# -- revision ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["proposed", "active", "on-hold"])
def test_a_revision_proposes_new_terms_that_need_renewed_agreement(status: str) -> None:
    goal = goal_in(status)
    terms_version = goal.terms_version

    goal.revise(
        by=DR_OKAFOR,
        reason="Meditation made Maya feel worse",
        target_date=date(2024, 5, 2),
        **LATER,
    )

    [revised] = goal.collect_events()
    assert isinstance(revised, Goal.Revised)
    assert (goal.status, goal.terms_version) == ("proposed", terms_version + 1)
    assert goal.awaiting_agreement_from == ("maya",)
    assert goal.current_agreements == ()

    goal.agree(by=MAYA, terms_version=terms_version + 1, method="portal", **at(days=3))
    assert goal.status == "active"


# -- reviews ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["active", "on-hold"])
def test_a_review_records_its_decision_and_the_next_review_date(status: str) -> None:
    goal = goal_in(status)

    goal.review(
        by=DR_LINDQVIST,
        outcome="revise",
        notes="Meditation is not helping",
        next_review_on=date(2024, 6, 1),
        **LATER,
    )

    [held] = goal.collect_events()
    assert isinstance(held, Goal.ReviewHeld)
    assert (held.outcome, held.notes, held.next_review_on) == (
        "revise",
        "Meditation is not helping",
        date(2024, 6, 1),
    )
    assert goal.last_reviewed_at == LATER["occurred_at"]
    assert goal.next_review_on == date(2024, 6, 1)
    assert (goal.status, goal.terms_version) == (status, 1), "the decision is not the command"


def test_a_review_may_leave_the_next_date_open(active_goal: Goal) -> None:
    active_goal.review(by=DR_OKAFOR, outcome="continue", **LATER)
    assert active_goal.next_review_on is None
    assert active_goal.last_reviewed_at == LATER["occurred_at"]


# -- pausing and closing ------------------------------------------------------------------------


def test_a_goal_on_hold_resumes_as_active(active_goal: Goal) -> None:
    active_goal.hold(by=DR_OKAFOR, reason="Maya is in hospital", **at(days=2))
    assert (active_goal.status, active_goal.status_reason) == ("on-hold", "Maya is in hospital")

    active_goal.resume(by=DR_OKAFOR, **at(days=16))

    events = active_goal.collect_events()
    assert [type(e) for e in events] == [Goal.PutOnHold, Goal.Resumed]
    assert events[1].reason is None
    assert active_goal.status == "active"


def test_achieving_the_goal_completes_it(active_goal: Goal) -> None:
    active_goal.achieve(by=DR_OKAFOR, evidence="GAD-7 at 6 for four weeks", **LATER)

    [achieved] = active_goal.collect_events()
    assert isinstance(achieved, Goal.Achieved)
    assert achieved.evidence == "GAD-7 at 6 for four weeks"
    assert active_goal.status == "completed"
    assert active_goal.is_final


@pytest.mark.parametrize("status", ["active", "on-hold"])
def test_discontinuing_a_pursued_goal_cancels_it(status: str) -> None:
    goal = goal_in(status)
    goal.discontinue(by=DR_OKAFOR, reason="Maya ended treatment", **LATER)
    assert [type(e) for e in goal.collect_events()] == [Goal.Discontinued]
    assert (goal.status, goal.status_reason) == ("cancelled", "Maya ended treatment")


def test_withdrawing_a_proposed_goal_rejects_it(anxiety_goal: Goal) -> None:
    anxiety_goal.withdraw(by=DR_OKAFOR, reason="Maya chose another goal", **LATER)
    assert [type(e) for e in anxiety_goal.collect_events()] == [Goal.Withdrawn]
    assert anxiety_goal.status == "rejected"


@pytest.mark.parametrize("status", [s for s in STATUSES if s != "entered-in-error"])
def test_a_goal_in_any_status_but_entered_in_error_can_be_voided(status: str) -> None:
    goal = goal_in(status)
    version = goal.version

    goal.enter_in_error(by=DR_LINDQVIST, reason="Entered in the wrong chart", **LATER)

    [voided] = goal.collect_events()
    assert isinstance(voided, Goal.EnteredInError)
    assert voided.reason == "Entered in the wrong chart"
    assert (goal.status, goal.version) == ("entered-in-error", version + 1)


@pytest.mark.parametrize("status", STATUSES)
def test_exactly_the_final_statuses_are_final(status: str) -> None:
    assert goal_in(status).is_final == (status in FINAL)


# -- every event keeps who, and both times -----------------------------------------------------


def test_every_event_names_its_actor_and_keeps_clinical_and_recorded_time(
    active_goal: Goal,
) -> None:
    late = {"occurred_at": moment(days=1), "recorded_at": moment(days=3)}
    active_goal.complete_step(by=ROSA, step_id="s1", **late)

    [completed] = active_goal.collect_events()
    assert completed.actor == ROSA
    assert completed.occurred_at == moment(days=1)
    assert completed.recorded_at == completed.timestamp == moment(days=3)
    assert completed.occurred_at.utcoffset() == completed.recorded_at.utcoffset()
    assert active_goal.recorded_at == moment(days=3)


# -- the goal's plain view -----------------------------------------------------------------------


def test_a_goal_shows_itself_as_json_ready_data(active_goal: Goal) -> None:
    active_goal.record_progress(by=MAYA, measure="GAD-7", value=11, **LATER)

    view = json.loads(json.dumps(active_goal.to_dict()))

    assert view["goal_id"] == str(active_goal.id)
    assert (view["version"], view["status"], view["terms_version"]) == (
        active_goal.version,
        "active",
        1,
    )
    assert view["subject"] == {"kind": "client", "id": "maya", "members": []}
    assert view["target_date"] == "2024-04-04"
    assert view["measures"][0] == {
        "name": "GAD-7",
        "baseline": 15,
        "target": 7,
        "direction": "decrease",
        "instrument": None, "minimum": None, "maximum": None, "sd": None, "reliability": None,
        "cutoff": None,
        "latest": {"value": 11, "occurred_at": "2024-03-06T09:30:00-05:00"},
    }
    assert view["measures"][1]["latest"] is None
    assert view["steps"][1] == {"step_id": "s2", "description": YOGA, "status": "completed"}
    assert view["agreements"][0]["party"] == "maya"
    assert view["agreements"][0]["terms_version"] == 1
    assert view["agreements"][0]["method"] == "signature"
    assert view["agreements"][0]["occurred_at"] == "2024-03-04T10:30:00-05:00"
    assert view["next_review_on"] is None
