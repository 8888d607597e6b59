"""The audit trail: one entry per event, every revision's exact changes and its agreement."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import attrs
import pytest
from anxiety_goal import (
    BREATHING,
    DR_LEE,
    DR_OKAFOR,
    EXPRESSING,
    GAD7,
    MAYA,
    MAYAS_MOTHER,
    MEDITATION,
    ONE_MONTH_ON,
    STATEMENT,
    YOGA,
    agreed_anxiety_goal,
    draft_anxiety_goal,
    recorded_event_count,
)
from as_printed import printed
from mayas_month import CLIENT_8, TUESDAY_GROUP, record_mayas_month
from random_clinic import ClinicClock

import goalflow
from goalflow import Actor, InvalidCommand, Measure, Subject

FIRST_DAY = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # the clock fixture's start
CLIENT_9 = Actor("client-9", "client")
AIM_HIGHER = [attrs.evolve(GAD7, target=5)]
PHQ9 = Measure("PHQ-9", baseline=14, target=5)


def day(n: float) -> datetime:
    return FIRST_DAY + timedelta(days=n)


# -- the filters ------------------------------------------------------------------------


@attrs.frozen
class Week:
    """A week of three goals, some entries made late; no revisions (see below for those)."""

    names: dict[str, str]  # goal id -> "anxiety", "tuesday group", "client-9"


@pytest.fixture
def week(goals: goalflow.Goals, clock: ClinicClock) -> Week:
    anxiety = draft_anxiety_goal(goals)
    tuesday = goals.draft(TUESDAY_GROUP, "Practise calming techniques together", by=DR_LEE,
                          steps=[YOGA], measures=[GAD7], target_date=ONE_MONTH_ON,
                          addresses=["generalised anxiety disorder"])
    sleep = goals.draft(Subject.client("client-9"), "Sleep through the night", by=DR_OKAFOR,
                        steps=["No screens after ten"], measures=[GAD7],
                        target_date=ONE_MONTH_ON, client_words="I want to sleep")
    clock.now = day(1)
    goals.agree(anxiety, by=MAYAS_MOTHER, terms_version=1, method="signature")
    goals.agree(tuesday, by=CLIENT_8, terms_version=1, method="portal")
    goals.agree(tuesday, by=MAYA, terms_version=1, method="portal")
    clock.now = day(2)
    goals.agree(sleep, by=CLIENT_9, terms_version=1, method="signature")
    clock.now = day(5)
    goals.complete_step(anxiety, by=MAYA, step_id="s1")
    goals.record_progress(anxiety, by=MAYA, measure="GAD-7", value=12, occurred_at=day(2))
    clock.now = day(6)
    goals.record_progress(tuesday, by=CLIENT_8, measure="GAD-7", value=11, occurred_at=day(4))
    goals.hold(sleep, by=DR_OKAFOR, reason="In hospital", occurred_at=day(5))
    clock.now = day(8)
    goals.review(anxiety, by=DR_LEE, outcome="continue")
    return Week({str(anxiety): "anxiety", str(tuesday): "tuesday group",
                 str(sleep): "client-9"})


def listed(week: Week, entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(week.names[e["goal_id"]], e["event_type"]) for e in entries]


def test_the_trail_of_a_goal_is_every_event_of_it_in_order(
    goals: goalflow.Goals, week: Week
) -> None:
    [anxiety] = [gid for gid, name in week.names.items() if name == "anxiety"]
    assert listed(week, printed(goals.audit(anxiety))) == [
        ("anxiety", "Drafted"), ("anxiety", "AgreedByClient"), ("anxiety", "StepCompleted"),
        ("anxiety", "ProgressRecorded"), ("anxiety", "ReviewHeld")]
    assert [e["version"] for e in printed(goals.audit(anxiety))] == [1, 2, 3, 4, 5]


def test_the_trail_of_an_actor_shows_what_they_did_and_for_whom(
    goals: goalflow.Goals, week: Week
) -> None:
    [agreement] = printed(goals.audit(actor=MAYAS_MOTHER.id))
    assert listed(week, [agreement]) == [("anxiety", "AgreedByClient")]
    assert (agreement["actor_role"], agreement["on_behalf_of"]) == ("guardian", "client-7")
    assert agreement["details"]["party"] == "client-7"
    assert listed(week, printed(goals.audit(actor=DR_OKAFOR.id))) == [
        ("client-9", "Drafted"), ("client-9", "PutOnHold")]
    assert printed(goals.audit(actor="dr-nobody")) == []


def test_the_trail_of_a_client_includes_her_groups_goals(
    goals: goalflow.Goals, week: Week
) -> None:
    assert {name for name, _ in listed(week, printed(goals.audit(subject="client-7")))} == {
        "anxiety", "tuesday group"}
    assert listed(week, printed(goals.audit(subject="client-8"))) == [
        ("tuesday group", "Drafted"), ("tuesday group", "AgreedByClient"),
        ("tuesday group", "AgreedByClient"), ("tuesday group", "ProgressRecorded")]
    assert listed(week, printed(goals.audit(subject="anxiety-group-2"))) == listed(
        week, printed(goals.audit(subject="client-8")))


def test_since_and_until_bound_when_entries_were_recorded_not_when_they_happened(
    goals: goalflow.Goals, week: Week
) -> None:
    assert listed(week, printed(goals.audit(since=day(2), until=day(5)))) == [
        ("client-9", "AgreedByClient"),
        ("anxiety", "StepCompleted"),
        ("anxiety", "ProgressRecorded"),  # happened on day 2, recorded on day 5
    ]
    assert listed(week, printed(goals.audit(since=day(6)))) == [
        ("tuesday group", "ProgressRecorded"), ("client-9", "PutOnHold"),
        ("anxiety", "ReviewHeld")]
    assert len(printed(goals.audit(until=day(0)))) == 3
    as_seen_in_paris = day(5).astimezone(ZoneInfo("Europe/Paris"))
    assert printed(goals.audit(since=day(5))) == printed(goals.audit(since=as_seen_in_paris))


def test_naive_times_are_refused_as_bounds(goals: goalflow.Goals, week: Week) -> None:
    with pytest.raises(InvalidCommand):
        printed(goals.audit(since=datetime(2025, 3, 5, 9, 0)))


def test_the_trail_of_one_event_type(goals: goalflow.Goals, week: Week) -> None:
    assert listed(week, printed(goals.audit(event="AgreedByClient"))) == [
        ("anxiety", "AgreedByClient"), ("tuesday group", "AgreedByClient"),
        ("tuesday group", "AgreedByClient"), ("client-9", "AgreedByClient")]
    assert printed(goals.audit(event="Revised")) == []


def test_late_entries_are_those_recorded_more_than_the_given_days_after_they_happened(
    goals: goalflow.Goals, week: Week
) -> None:
    [late] = printed(goals.audit(late_days=2))
    assert listed(week, [late]) == [("anxiety", "ProgressRecorded")]
    assert (late["occurred_at"], late["recorded_at"]) == (
        day(2).isoformat(), day(5).isoformat())
    # Two days late exactly is not "more than two days"; a day late is late by half a day.
    assert listed(week, printed(goals.audit(late_days=0.5))) == [
        ("anxiety", "ProgressRecorded"), ("tuesday group", "ProgressRecorded"),
        ("client-9", "PutOnHold")]


def test_filters_combine(goals: goalflow.Goals, week: Week) -> None:
    assert listed(week, printed(goals.audit(subject="client-7", event="ProgressRecorded",
                                    since=day(3)))) == [
        ("anxiety", "ProgressRecorded"), ("tuesday group", "ProgressRecorded")]
    assert listed(week, printed(goals.audit(subject="client-7", actor=CLIENT_8.id,
                                            late_days=1))) == [
        ("tuesday group", "ProgressRecorded")]


# -- revisions: what changed, and whether it was agreed ---------------------------------


def test_the_whole_trail_has_one_entry_per_event_in_log_order(
    goals: goalflow.Goals, clock: ClinicClock
) -> None:
    record_mayas_month(goals, clock)
    trail = printed(goals.audit())
    assert len(trail) == recorded_event_count(goals)
    assert [e["position"] for e in trail] == sorted({e["position"] for e in trail})
    [revision] = [e for e in trail if e["event_type"] == "Revised"]
    assert (revision["reason"], revision["actor_id"]) == ("Yoga suits her better", "dr-lee")


def test_a_revision_records_exactly_what_changed(
    goals: goalflow.Goals, clock: ClinicClock
) -> None:
    month = record_mayas_month(goals, clock)
    goals.revise(month.anxiety_goal, by=DR_LEE, reason="Agreed at review to aim higher",
                 statement="Maya uses yoga and breathing to manage anxiety",
                 client_words=None, target_date=date(2025, 5, 3),
                 measures=[attrs.evolve(GAD7, target=5), PHQ9],
                 remove_steps=["s3"], reword_steps={"s1": "Box breathing twice a day"},
                 add_steps=["Walk the dog every morning"])

    first, second = printed(goals.audit(month.anxiety_goal, event="Revised"))

    # The revision that replaced meditation with yoga.
    assert [(c["change"], c["step_id"], c["before"], c["after"]) for c in first["changes"]] \
        == [("step removed", "s2", MEDITATION, None), ("step added", "s4", None, YOGA)]
    scale = dict.fromkeys(("instrument", "minimum", "maximum", "sd", "reliability", "cutoff"))
    gad7 = {"name": "GAD-7", "baseline": 15, "target": 7, "direction": "decrease", **scale}
    assert second["changes"] == [
        {"change": "changed", "field": "statement", "step_id": None, "before": STATEMENT,
         "after": "Maya uses yoga and breathing to manage anxiety"},
        {"change": "changed", "field": "client_words", "step_id": None,
         "before": "I want to stop lying awake worrying about work", "after": None},
        {"change": "changed", "field": "target_date", "step_id": None,
         "before": "2025-04-03", "after": "2025-05-03"},
        {"change": "changed", "field": "measures", "step_id": None, "before": [gad7],
         "after": [gad7 | {"target": 5}, {"name": "PHQ-9", "baseline": 14, "target": 5,
                                           "direction": "decrease", **scale}]},
        {"change": "step removed", "field": "steps", "step_id": "s3", "before": EXPRESSING,
         "after": None},
        {"change": "step reworded", "field": "steps", "step_id": "s1", "before": BREATHING,
         "after": "Box breathing twice a day"},
        {"change": "step added", "field": "steps", "step_id": "s5", "before": None,
         "after": "Walk the dog every morning"},
    ]
    assert (first["agreement"]["agreement"], first["agreement"]["agreed_at"]) == (
        "agreed", "2025-03-03T09:40:00+00:00")
    assert second["agreement"]["agreement"] == "pending"


@attrs.frozen
class Revisions:
    """Goals with revisions in every state of agreement (each changing a measure only)."""

    before_first_agreement: int   # revised while still proposed, then agreed
    awaiting_maya: int            # an agreed goal, revised, not yet agreed again
    superseded: int               # revised, then revised again before agreement
    superseding: int              # that later revision, still pending
    group_agreed: int             # a group goal's revision agreed by both members
    maya_goal: UUID
    group_goal: UUID


def revision_position(goals: goalflow.Goals, goal_id: UUID) -> int:
    return int(printed(goals.audit(goal_id, event="Revised"))[-1]["position"])


@pytest.fixture
def revisions(goals: goalflow.Goals, clock: ClinicClock) -> Revisions:
    maya = draft_anxiety_goal(goals)
    goals.revise(maya, by=DR_LEE, reason="Aim higher from the start", measures=AIM_HIGHER)
    before_first = revision_position(goals, maya)
    goals.agree(maya, by=MAYA, terms_version=2, method="signature")
    clock.advance(days=1)
    goals.revise(maya, by=DR_LEE, reason="Add the PHQ-9", measures=[*AIM_HIGHER, PHQ9])
    awaiting_maya = revision_position(goals, maya)

    sleep = goals.draft(Subject.client("client-9"), "Sleep through the night", by=DR_LEE,
                        steps=["No screens after ten"], measures=[GAD7],
                        target_date=ONE_MONTH_ON, client_words="I want to sleep")
    goals.agree(sleep, by=CLIENT_9, terms_version=1, method="signature")
    goals.revise(sleep, by=DR_LEE, reason="Aim higher", measures=AIM_HIGHER)
    superseded = revision_position(goals, sleep)
    goals.revise(sleep, by=DR_LEE, reason="Add the PHQ-9 instead", measures=[GAD7, PHQ9])
    superseding = revision_position(goals, sleep)

    group = goals.draft(TUESDAY_GROUP, "Practise calming techniques together", by=DR_LEE,
                        steps=[YOGA], measures=[GAD7], target_date=ONE_MONTH_ON,
                        addresses=["generalised anxiety disorder"])
    goals.agree(group, by=MAYA, terms_version=1, method="portal")
    goals.agree(group, by=CLIENT_8, terms_version=1, method="portal")
    goals.revise(group, by=DR_LEE, reason="Aim higher together", measures=AIM_HIGHER)
    group_agreed = revision_position(goals, group)
    clock.advance(hours=2)
    goals.agree(group, by=MAYAS_MOTHER, terms_version=2, method="signature")
    assert revision_position(goals, group) in unagreed(goals), "one member of two agreed"
    clock.advance(days=2)
    goals.agree(group, by=CLIENT_8, terms_version=2, method="verbal", witnessed_by=DR_LEE,
                occurred_at=clock.now - timedelta(days=1))

    done = agreed_anxiety_goal(goals)
    goals.revise(done, by=DR_LEE, reason="Aim higher", measures=AIM_HIGHER)
    goals.agree(done, by=MAYA, terms_version=2, method="portal")
    return Revisions(before_first, awaiting_maya, superseded, superseding, group_agreed,
                     maya, group)


def unagreed(goals: goalflow.Goals) -> list[int]:
    return [int(e["position"]) for e in printed(goals.audit(unagreed=True))]


def agreement(goals: goalflow.Goals, position: int) -> dict[str, Any]:
    [entry] = [e for e in printed(goals.audit(event="Revised")) if e["position"] == position]
    return entry["agreement"]  # type: ignore[no-any-return]


def test_unagreed_lists_revisions_of_agreed_goals_still_awaiting_agreement(
    goals: goalflow.Goals, revisions: Revisions
) -> None:
    assert unagreed(goals) == [revisions.awaiting_maya, revisions.superseding]


def test_a_revision_leaves_the_unagreed_list_once_every_party_agreed(
    goals: goalflow.Goals, revisions: Revisions, clock: ClinicClock
) -> None:
    clock.advance(hours=1)
    goals.agree(revisions.maya_goal, by=MAYA, terms_version=3, method="signature")

    assert unagreed(goals) == [revisions.superseding]
    assert agreement(goals, revisions.awaiting_maya) | {"agreed_parties": None} == {
        "terms_version": 3, "previously_agreed": True, "agreement": "agreed",
        "agreed_parties": None, "required_parties": ["client-7"],
        "agreed_at": clock.now.isoformat(), "agreed_recorded_at": clock.now.isoformat(),
        "superseded_by": None}


def test_each_revision_says_whether_it_was_agreed_is_pending_or_was_superseded(
    goals: goalflow.Goals, revisions: Revisions, clock: ClinicClock
) -> None:
    first = agreement(goals, revisions.before_first_agreement)
    assert (first["agreement"], first["previously_agreed"]) == ("agreed", False)
    superseded = agreement(goals, revisions.superseded)
    assert (superseded["agreement"], superseded["superseded_by"], superseded["agreed_at"]) == (
        "superseded", revisions.superseding, None)
    pending = agreement(goals, revisions.superseding)
    assert (pending["agreement"], pending["agreed_parties"]) == ("pending", [])
    group = agreement(goals, revisions.group_agreed)
    assert (group["agreement"], group["agreed_parties"]) == (
        "agreed", ["client-7", "client-8"])
    # Agreed when the last member agreed: when it happened, and when it was entered.
    assert (group["agreed_at"], group["agreed_recorded_at"]) == (
        (clock.now - timedelta(days=1)).isoformat(), clock.now.isoformat())


def test_a_group_revision_is_unagreed_while_any_member_has_not_agreed(
    goals: goalflow.Goals, clock: ClinicClock
) -> None:
    group = Subject.group("anxiety-group-2", ["client-7", "client-8", "client-9"])
    goal_id = goals.draft(group, STATEMENT, by=DR_LEE, steps=[YOGA], measures=[GAD7],
                          target_date=ONE_MONTH_ON, addresses=["generalised anxiety"])
    for member in group.members:
        goals.agree(goal_id, by=Actor(member, "client"), terms_version=1, method="portal")
    goals.revise(goal_id, by=DR_LEE, reason="Aim higher together", measures=AIM_HIGHER)
    position = revision_position(goals, goal_id)

    goals.agree(goal_id, by=MAYAS_MOTHER, terms_version=2, method="signature")
    goals.agree(goal_id, by=CLIENT_9, terms_version=2, method="portal")
    goals.disagree(goal_id, by=CLIENT_9, reason="My back hurts")
    assert unagreed(goals) == [position]
    assert agreement(goals, position)["agreed_parties"] == ["client-7"]
    for member in ("client-8", "client-9"):
        goals.agree(goal_id, by=Actor(member, "client"), terms_version=2, method="portal")
    assert unagreed(goals) == []


@pytest.mark.parametrize("words", ["42", "null", "[1, 2]", "2025-04-03"])
def test_client_words_that_look_like_json_come_back_as_the_words_she_said(
    goals: goalflow.Goals, words: str
) -> None:
    goal_id = draft_anxiety_goal(goals, client_words=None)
    goals.agree(goal_id, by=MAYA, terms_version=1, method="signature")
    goals.revise(goal_id, by=DR_LEE, reason="In her own words", client_words=words)

    [revision] = printed(goals.audit(goal_id, event="Revised"))
    assert [(c["field"], c["after"]) for c in revision["changes"]] == [("client_words", words)]
    [entry] = [e for e in printed(goals.plan("client-7")) if e["goal_id"] == str(goal_id)]
    assert entry["client_words"] == words
