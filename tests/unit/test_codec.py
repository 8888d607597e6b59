"""The codec, without a database: every event and snapshot survives storage exactly.

"Exactly" is stricter than ``==``: a UUID stays a UUID, a date a date, an aware datetime an
aware datetime in its own offset, 15 stays 15 and not 15.0, an attrs value stays that value.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest
from eventsourcing.persistence import StoredEvent
from hypothesis import given
from hypothesis import strategies as st

from goalflow.domain import Actor, FieldChange, Goal, Measure, Reading, Step, Subject
from goalflow.errors import InvalidCommand, UnreadableEvent
from goalflow.persistence.codec import GoalflowMapper

from .builders import (
    ANXIETY_GOAL,
    DR_LINDQVIST,
    DR_OKAFOR,
    DRAFTED_AT,
    MAYA,
    MAYAS_SUBJECT,
    ROSA,
    TARGET_DATE,
    TUESDAY_GROUP,
    When,
    agree_all,
    assert_identical,
    assert_same_event,
    moment,
)

ANXIETY_GOAL_ID = UUID("5b0e7f1c-3a52-4d8e-9a51-2f1d6f3c9b7a")
INDIA = timezone(timedelta(hours=5, minutes=30))  # Maya's telehealth sessions from Pune


def in_offset(when: datetime, tz: timezone) -> When:
    moved = when.astimezone(tz)
    return {"occurred_at": moved, "recorded_at": moved}


def late(occurred: datetime, recorded: datetime) -> When:
    return {"occurred_at": occurred, "recorded_at": recorded}


def anxiety_goal_history(goal_id: UUID = ANXIETY_GOAL_ID) -> list[Goal.Event]:
    """The anxiety goal's whole life, touching every kind of value an event can carry."""
    goal = Goal.draft(
        goal_id=goal_id,
        subject=MAYAS_SUBJECT,
        by=DR_OKAFOR,
        occurred_at=DRAFTED_AT,
        recorded_at=DRAFTED_AT + timedelta(microseconds=250),
        **{
            **ANXIETY_GOAL,
            "measures": (Measure("GAD-7", 15, 7), Measure("self-rated calm", 3.5, 7.0, "increase")),
        },
    )
    goal.add_step(
        by=DR_LINDQVIST, description="Keep a worry diary", **in_offset(moment(hours=1), UTC)
    )
    goal.disagree(
        by=ROSA,
        reason="Maya finds meditation makes her feel worse",
        alternative="Walk the dog and talk it through",
        **in_offset(moment(hours=2), INDIA),
    )
    goal.revise(
        by=DR_OKAFOR,
        reason="Meditation made Maya feel worse",
        **late(moment(hours=3), moment(days=1)),
        statement="Manage anxiety with walking, yoga and talking it through",
        client_words=None,
        addresses=["Generalised anxiety disorder", "Insomnia"],
        target_date=date(2024, 4, 18),
        strengths=["Walks her dog every day"],
        measures=[Measure("GAD-7", 15, 5), Measure("PHQ-9", 12, 4.5)],
        add_steps=["Walk the dog for 20 minutes after work"],
        remove_steps=["s4"],
        reword_steps={"s1": "Learn one grounding exercise"},
    )
    goal.agree(
        by=MAYA,
        terms_version=3,
        method="verbal",
        witnessed_by=DR_OKAFOR,
        **late(moment(days=1, hours=1), moment(days=1, hours=2)),
    )
    goal.complete_step(
        by=MAYA,
        step_id="s2",
        note="Yoga every morning this week",
        **in_offset(moment(days=7), INDIA),
    )
    goal.complete_step(by=ROSA, step_id="s1", note=None, **at_days(8))
    goal.reopen_step(by=DR_OKAFOR, step_id="s1", reason="Stopped practising", **at_days(9))
    goal.record_progress(by=MAYA, measure="GAD-7", value=11, **at_days(10))
    goal.record_progress(by=DR_OKAFOR, measure="PHQ-9", value=8.5, **at_days(10))
    goal.review(
        by=DR_LINDQVIST,
        outcome="continue",
        notes="Sleeping better",
        next_review_on=date(2024, 6, 1),
        **at_days(11),
    )
    goal.hold(by=DR_OKAFOR, reason="Maya is in hospital for two weeks", **at_days(12))
    goal.resume(by=DR_OKAFOR, **at_days(26))
    goal.revise(
        by=DR_OKAFOR,
        reason="More time after the hospital stay",
        client_words="I want my Mondays back",
        target_date=date(2024, 5, 2),
        **at_days(27),
    )
    goal.agree(by=MAYA, terms_version=4, method="portal", **at_days(28))
    goal.achieve(by=DR_OKAFOR, **at_days(50))
    goal.enter_in_error(by=DR_LINDQVIST, reason="Achieved in the wrong chart", **at_days(51))
    return list(goal.collect_events())


def at_days(days: float) -> When:
    return {"occurred_at": moment(days=days), "recorded_at": moment(days=days, minutes=5)}


def discontinued_and_withdrawn() -> list[Goal.Event]:
    group_goal = Goal.draft(
        goal_id=UUID(int=1), subject=TUESDAY_GROUP, by=DR_OKAFOR, **at_days(0), **ANXIETY_GOAL
    )
    for member in TUESDAY_GROUP.members:
        group_goal.agree(by=Actor(member, "client"), terms_version=1, method="portal", **at_days(1))
    group_goal.discontinue(by=DR_OKAFOR, reason="The group ended", **at_days(3))
    withdrawn = Goal.draft(
        goal_id=UUID(int=2), subject=MAYAS_SUBJECT, by=DR_OKAFOR, **at_days(0), **ANXIETY_GOAL
    )
    withdrawn.withdraw(by=DR_OKAFOR, reason="Maya chose another goal", **at_days(1))
    return [e for goal in (group_goal, withdrawn) for e in goal.collect_events()]


EVERY_EVENT = anxiety_goal_history() + discontinued_and_withdrawn()

PINNED_TOPICS = {
    Goal.Drafted: "goalflow:Goal.Drafted",
    Goal.AgreedByClient: "goalflow:Goal.AgreedByClient",
    Goal.ClientDisagreed: "goalflow:Goal.ClientDisagreed",
    Goal.StepAdded: "goalflow:Goal.StepAdded",
    Goal.StepCompleted: "goalflow:Goal.StepCompleted",
    Goal.StepReopened: "goalflow:Goal.StepReopened",
    Goal.ProgressRecorded: "goalflow:Goal.ProgressRecorded",
    Goal.Revised: "goalflow:Goal.Revised",
    Goal.ReviewHeld: "goalflow:Goal.ReviewHeld",
    Goal.PutOnHold: "goalflow:Goal.PutOnHold",
    Goal.Resumed: "goalflow:Goal.Resumed",
    Goal.Achieved: "goalflow:Goal.Achieved",
    Goal.Discontinued: "goalflow:Goal.Discontinued",
    Goal.Withdrawn: "goalflow:Goal.Withdrawn",
    Goal.EnteredInError: "goalflow:Goal.EnteredInError",
}


def round_trip(event: Any) -> Any:
    mapper = GoalflowMapper()
    return mapper.to_domain_event(mapper.to_stored_event(event))


def _name(event: Any) -> str:
    return f"v{event.originator_version}-{type(event).__name__}"


def test_the_histories_hold_every_kind_of_event() -> None:
    assert {type(e) for e in EVERY_EVENT} == set(PINNED_TOPICS)


@pytest.mark.parametrize("event", EVERY_EVENT, ids=_name)
def test_every_event_reads_back_exactly_as_it_was_written(event: Goal.Event) -> None:
    restored = round_trip(event)

    assert restored == event
    assert_same_event(restored, event)


@pytest.mark.parametrize("event", EVERY_EVENT, ids=_name)
def test_every_event_is_stored_under_its_pinned_topic(event: Goal.Event) -> None:
    stored = GoalflowMapper().to_stored_event(event)
    assert stored.topic == PINNED_TOPICS[type(event)]
    assert stored.originator_id == event.originator_id
    assert stored.originator_version == event.originator_version


def test_a_drafted_event_names_the_goal_by_its_pinned_aggregate_topic() -> None:
    drafted = EVERY_EVENT[0]
    assert isinstance(drafted, Goal.Drafted)
    assert drafted.originator_topic == "goalflow:Goal"
    assert round_trip(drafted).originator_topic == "goalflow:Goal"


def test_replaying_the_stored_history_rebuilds_the_same_goal() -> None:
    history = anxiety_goal_history()
    live: Any = None
    for event in history:
        live = event.mutate(live)

    replayed: Any = None
    for event in history:
        replayed = round_trip(event).mutate(replayed)

    assert replayed == live
    assert_identical(vars(replayed), vars(live), "goal")
    assert replayed.status == "entered-in-error"


# -- values inside events keep their types --------------------------------------------------------


def _revisions() -> list[Goal.Revised]:
    return [e for e in EVERY_EVENT if isinstance(e, Goal.Revised)]


def test_a_revisions_before_and_after_are_typed_by_the_field_they_belong_to() -> None:
    restored = round_trip(_revisions()[0])
    changes = {c.field: c for c in restored.changes}

    assert changes["target_date"] == FieldChange("target_date", date(2024, 4, 4), date(2024, 4, 18))
    assert type(changes["target_date"].before) is date
    assert type(changes["target_date"].after) is date
    assert changes["client_words"].after is None
    assert changes["addresses"].before == ("Generalised anxiety disorder",)
    assert type(changes["addresses"].after) is tuple
    assert changes["measures"].after == (Measure("GAD-7", 15, 5), Measure("PHQ-9", 12, 4.5))
    assert all(type(m) is Measure for m in changes["measures"].before)
    assert type(changes["measures"].after[1].target) is float
    assert type(changes["measures"].before[1].baseline) is float
    assert restored.steps_added == (Step("s5", "Walk the dog for 20 minutes after work"),)
    assert [s.step_id for s in restored.steps_removed] == ["s4"]
    assert type(restored.steps_removed[0]) is Step
    assert type(restored.steps_reworded[0]).__name__ == "StepRewording"


def test_a_revision_that_fills_in_a_missing_value_reads_back_typed() -> None:
    restored = round_trip(_revisions()[1])
    changes = {c.field: c for c in restored.changes}
    assert changes["client_words"] == FieldChange("client_words", None, "I want my Mondays back")
    assert type(changes["target_date"].after) is date


def test_ids_dates_and_times_keep_their_types_and_offsets() -> None:
    drafted, _, disagreed = (round_trip(e) for e in EVERY_EVENT[:3])

    assert type(drafted.originator_id) is UUID
    assert drafted.originator_id == ANXIETY_GOAL_ID
    assert type(drafted.target_date) is date
    assert drafted.timestamp == DRAFTED_AT + timedelta(microseconds=250)
    assert drafted.timestamp.utcoffset() == timedelta(hours=-5)
    assert disagreed.occurred_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert type(drafted.subject) is Subject
    assert type(drafted.actor) is Actor
    assert type(drafted.measures) is tuple
    assert type(drafted.steps[0]) is Step


def test_a_witnessed_agreement_keeps_both_actors() -> None:
    agreed = next(e for e in EVERY_EVENT if isinstance(e, Goal.AgreedByClient))
    restored = round_trip(agreed)
    assert (restored.actor, restored.witnessed_by) == (MAYA, DR_OKAFOR)
    assert type(restored.witnessed_by) is Actor


def test_a_guardians_actor_keeps_whom_they_act_for() -> None:
    disagreed = round_trip(next(e for e in EVERY_EVENT if isinstance(e, Goal.ClientDisagreed)))
    assert disagreed.actor == ROSA
    assert disagreed.actor.acts_for == "maya"


def test_a_group_subject_keeps_its_members_as_a_tuple() -> None:
    drafted = round_trip(
        next(e for e in EVERY_EVENT if isinstance(e, Goal.Drafted) and e.subject.kind == "group")
    )
    assert drafted.subject == TUESDAY_GROUP
    assert type(drafted.subject.members) is tuple


@pytest.mark.parametrize("value", [11, 8.5, 0, -0.0, 1e-300, 9_007_199_254_740_993])
def test_a_reading_keeps_its_number_type(value: float) -> None:
    event = _progress(value)
    restored = round_trip(event)
    assert_same_event(restored, event)


def _progress(value: float, when: When | None = None) -> Goal.ProgressRecorded:
    goal = Goal.draft(
        goal_id=ANXIETY_GOAL_ID, subject=MAYAS_SUBJECT, by=DR_OKAFOR, **at_days(0), **ANXIETY_GOAL
    )
    agree_all(goal)
    goal.record_progress(by=MAYA, measure="GAD-7", value=value, **(when or at_days(3)))
    [event] = goal.collect_events()
    assert isinstance(event, Goal.ProgressRecorded)
    return event


# -- canonical bytes ----------------------------------------------------------------------------


@pytest.mark.parametrize("event", EVERY_EVENT, ids=_name)
def test_the_same_event_is_always_stored_as_the_same_bytes(event: Goal.Event) -> None:
    first = GoalflowMapper().to_stored_event(event).state
    again = GoalflowMapper().to_stored_event(event).state
    after_reading = GoalflowMapper().to_stored_event(round_trip(event)).state

    assert first == again == after_reading
    assert orjson.dumps(orjson.loads(first), option=orjson.OPT_SORT_KEYS) == first


def test_two_goals_with_the_same_history_are_stored_byte_for_byte_alike() -> None:
    mapper = GoalflowMapper()
    first = [mapper.to_stored_event(e) for e in anxiety_goal_history()]
    second = [mapper.to_stored_event(e) for e in anxiety_goal_history()]
    assert first == second


def test_a_stored_reading_has_the_documented_shape() -> None:
    # Pinned bytes: any change here breaks reading goals stored by earlier releases.
    stored = GoalflowMapper().to_stored_event(_progress(11))
    assert stored.topic == "goalflow:Goal.ProgressRecorded"
    assert stored.originator_version == 3
    assert stored.state == (
        b'{"actor":{"id":"maya","on_behalf_of":null,"role":"client"},"measure":"GAD-7",'
        b'"occurred_at":"2024-03-07T09:30:00-05:00",'
        b'"timestamp":"2024-03-07T09:35:00-05:00","value":11}'
    )


def test_a_reading_stored_by_an_earlier_release_still_reads() -> None:
    stored = StoredEvent(
        originator_id=ANXIETY_GOAL_ID,
        originator_version=7,
        topic="goalflow:Goal.ProgressRecorded",
        state=(
            b'{"actor":{"id":"rosa","on_behalf_of":"maya","role":"guardian"},'
            b'"measure":"GAD-7","occurred_at":"2024-03-11T18:00:00+05:30",'
            b'"timestamp":"2024-03-12T09:00:00-05:00","value":9.5}'
        ),
    )

    event = GoalflowMapper().to_domain_event(stored)

    assert type(event) is Goal.ProgressRecorded
    assert (event.goal_id, event.originator_version) == (ANXIETY_GOAL_ID, 7)
    assert event.actor == ROSA
    assert (event.measure, event.value) == ("GAD-7", 9.5)
    assert event.occurred_at == datetime(2024, 3, 11, 18, tzinfo=INDIA)
    assert event.occurred_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert event.recorded_at == moment(days=8, hours=-0.5)


def test_an_unreadable_stored_event_is_reported_with_its_goal_and_version() -> None:
    stored = StoredEvent(
        originator_id=ANXIETY_GOAL_ID,
        originator_version=4,
        topic="goalflow:Goal.ProgressRecorded",
        state=b'{"occurred_at": 7}',
    )
    with pytest.raises(UnreadableEvent, match=f"goal {ANXIETY_GOAL_ID} version 4: "):
        GoalflowMapper().to_domain_event(stored)


# -- snapshots ----------------------------------------------------------------------------------


def _goal_with_everything() -> Goal:
    goal: Any = None
    for event in anxiety_goal_history()[:-2]:  # still active, with readings and a review
        goal = event.mutate(goal)
    assert goal.status == "active"
    return goal


def test_a_snapshot_rebuilds_an_equal_goal() -> None:
    goal = _goal_with_everything()
    snapshot = Goal.Snapshot.take(goal)
    assert snapshot.mutate(None) == goal


def test_a_stored_snapshot_rebuilds_the_goal_with_every_type_intact() -> None:
    goal = _goal_with_everything()
    mapper = GoalflowMapper()

    stored = mapper.to_stored_event(Goal.Snapshot.take(goal))
    restored = mapper.to_domain_event(stored).mutate(None)

    assert stored.topic == "goalflow:Goal.Snapshot"
    assert restored == goal
    assert_identical(vars(restored), vars(goal), "goal")
    assert restored.readings == {
        "GAD-7": Reading(11, moment(days=10)),
        "PHQ-9": Reading(8.5, moment(days=10)),
    }
    assert type(restored.readings["GAD-7"]) is Reading
    assert type(restored.id) is UUID
    assert type(restored.next_review_on) is date
    assert restored.drafted_at.utcoffset() == timedelta(hours=-5)


def test_a_snapshot_of_a_fresh_draft_keeps_its_empty_and_missing_values() -> None:
    goal = Goal.draft(
        goal_id=ANXIETY_GOAL_ID,
        subject=MAYAS_SUBJECT,
        statement="Feel calmer",
        by=DR_OKAFOR,
        **at_days(0),
    )
    goal.collect_events()
    mapper = GoalflowMapper()
    restored = mapper.to_domain_event(mapper.to_stored_event(Goal.Snapshot.take(goal)))
    assert_identical(vars(restored.mutate(None)), vars(goal), "goal")


def test_snapshots_of_equal_goals_are_the_same_bytes_whatever_order_readings_came_in() -> None:
    def with_readings(order: list[str]) -> Goal:
        goal: Any = None
        for event in anxiety_goal_history()[:8]:
            goal = event.mutate(goal)
        for measure in order:
            goal.record_progress(by=MAYA, measure=measure, value=9, **at_days(10))
        goal.collect_events()
        return goal

    one, other = with_readings(["GAD-7", "PHQ-9"]), with_readings(["PHQ-9", "GAD-7"])
    assert list(one.readings) != list(other.readings)
    pinned = datetime(2024, 6, 1, tzinfo=UTC)
    stored = [
        GoalflowMapper()
        .to_stored_event(dataclasses.replace(Goal.Snapshot.take(g), timestamp=pinned))
        .state
        for g in (one, other)
    ]
    assert stored[0] == stored[1]


# -- arbitrary content ----------------------------------------------------------------------------

prose = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cs")) | st.sampled_from("\n\t"),
    min_size=1,
    max_size=300,
).filter(lambda s: s.strip() != "")
lines = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=80
).filter(lambda s: s.strip() != "")
numbers = st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@given(
    statement=prose,
    client_words=st.none() | prose,
    addresses=st.lists(lines, max_size=3),
    name=lines,
    baseline=st.none() | numbers,
    target=st.none() | numbers,
    step=prose,
    tz=offsets,
    microseconds=st.integers(0, 999_999),
)
def test_any_valid_draft_reads_back_exactly(
    statement: str,
    client_words: str | None,
    addresses: list[str],
    name: str,
    baseline: float | None,
    target: float | None,
    step: str,
    tz: timezone,
    microseconds: int,
) -> None:
    when = (DRAFTED_AT + timedelta(microseconds=microseconds)).astimezone(tz)
    goal = Goal.draft(
        goal_id=ANXIETY_GOAL_ID,
        subject=MAYAS_SUBJECT,
        by=DR_OKAFOR,
        occurred_at=when,
        recorded_at=when,
        statement=statement,
        client_words=client_words,
        addresses=addresses,
        measures=[Measure(name, baseline, target)],
        steps=[step],
        target_date=TARGET_DATE,
    )
    [drafted] = goal.collect_events()

    assert_same_event(round_trip(drafted), drafted)


@given(value=numbers, tz=offsets, delay=st.timedeltas(timedelta(0), timedelta(days=400)))
def test_any_valid_reading_reads_back_exactly(value: float, tz: timezone, delay: timedelta) -> None:
    occurred = moment(days=3).astimezone(tz)
    event = _progress(value, {"occurred_at": occurred, "recorded_at": occurred + delay})
    assert_same_event(round_trip(event), event)


@given(reason=prose, measure_name=lines)
def test_any_valid_revision_reads_back_exactly(reason: str, measure_name: str) -> None:
    goal: Any = None
    for event in anxiety_goal_history()[:1]:
        goal = event.mutate(goal)
    goal.revise(
        by=DR_OKAFOR,
        reason=reason,
        measures=[Measure(measure_name, 1, 2.5)],
        reword_steps={"s2": reason},
        **at_days(1),
    )
    [revised] = goal.collect_events()
    assert_same_event(round_trip(revised), revised)


# -- whatever the domain accepts, the store can keep ----------------------------------------------


EDGES = {
    "a lone surrogate in a statement": lambda: Goal.draft(
        goal_id=ANXIETY_GOAL_ID,
        subject=MAYAS_SUBJECT,
        by=DR_OKAFOR,
        **at_days(0),
        **{**ANXIETY_GOAL, "statement": "Manage anxiety \ud83d"},
    ),
    "a reading beyond 64 bits": lambda: _progress_goal(2**64),
    "a reading below -2**63": lambda: _progress_goal(-(2**63) - 1),
    "a baseline beyond 64 bits": lambda: Goal.draft(
        goal_id=ANXIETY_GOAL_ID,
        subject=MAYAS_SUBJECT,
        by=DR_OKAFOR,
        **at_days(0),
        **{**ANXIETY_GOAL, "measures": [Measure("steps walked", baseline=10**20, target=0)]},
    ),
    "an offset with seconds": lambda: Goal.draft(
        goal_id=ANXIETY_GOAL_ID,
        subject=MAYAS_SUBJECT,
        by=DR_OKAFOR,
        **in_offset(DRAFTED_AT, timezone(timedelta(minutes=19, seconds=32))),
        **ANXIETY_GOAL,
    ),
}


def _progress_goal(value: int) -> Goal:
    goal = Goal.draft(
        goal_id=ANXIETY_GOAL_ID, subject=MAYAS_SUBJECT, by=DR_OKAFOR, **at_days(0), **ANXIETY_GOAL
    )
    agree_all(goal)
    goal.record_progress(by=MAYA, measure="GAD-7", value=value, **at_days(3))
    return goal


@pytest.mark.parametrize("make", EDGES.values(), ids=EDGES.keys())
def test_a_value_the_domain_accepts_is_stored_exactly(make: Any) -> None:
    try:
        goal = make()
    except InvalidCommand:
        return  # refusing it up front, with a clear error, is just as good
    for event in goal.collect_events():
        assert_same_event(round_trip(event), event)


def test_a_value_object_field_missing_from_a_stored_event_reads_as_its_default() -> None:
    # As if Measure.direction had been added after this event was stored.
    fixture = orjson.loads((Path(__file__).resolve().parent.parent / "fixtures" / "events"
                            / "Drafted.v2.json").read_bytes())["instances"][0]
    state = orjson.loads(fixture["state"])
    for measure in state["measures"]:
        del measure["direction"]
    del state["steps"][0]["status"]
    event = GoalflowMapper().decode_event(UUID(fixture["goal_id"]), fixture["version"],
                                          fixture["topic"], orjson.dumps(state))
    assert {m.direction for m in event.measures} == {"decrease"}
    assert event.steps[0].status == "open"


def test_a_value_object_missing_a_field_it_cannot_do_without_is_unreadable() -> None:
    fixture = orjson.loads((Path(__file__).resolve().parent.parent / "fixtures" / "events"
                            / "Drafted.v2.json").read_bytes())["instances"][0]
    state = orjson.loads(fixture["state"])
    del state["measures"][0]["name"]
    with pytest.raises(UnreadableEvent, match="Measure has no name"):
        GoalflowMapper().decode_event(UUID(fixture["goal_id"]), fixture["version"],
                                      fixture["topic"], orjson.dumps(state))
