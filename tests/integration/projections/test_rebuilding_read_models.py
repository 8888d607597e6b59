"""Proof that the read models are derived data: rebuilt from the log, they come out the same.

A seeded random clinic (many clients and groups, guardians, every event type, revisions
that remove, reword and add steps, measures replaced, holds, reviews with and without a
date, goals entered in error) is recorded with the read models kept inline. Each read model
is then dumped row by row, rebuilt from scratch and dumped again; and a second store that
recorded the same clinic without any read model builds them when it is opened. All equal,
on SQLite and on PostgreSQL. The read models are also checked against the goals themselves.
"""

from __future__ import annotations

from collections import Counter

import pytest
from as_printed import printed
from random_clinic import (
    AWKWARD_CASES,
    CLIENTS,
    EVENT_TYPES,
    GROUPS,
    ClinicClock,
    exercised,
    far_future,
    run_clinic,
)
from read_models import (
    comparable_plan,
    dump_all,
    entry_fields,
    expected_agreements,
    expected_due_on,
    expected_entry,
    expected_plan_goal,
)

import goalflow

SEED = 20250303


def assert_covers_everything(seen: Counter[str]) -> None:
    missing = [name for name in (*EVENT_TYPES, *AWKWARD_CASES) if not seen[name]]
    assert not missing, f"the clinic (seed {SEED}) never exercised {missing}: {seen}"


def test_every_read_model_rebuilt_from_the_log_equals_the_one_kept_inline(
    goals: goalflow.Goals, clock: ClinicClock
) -> None:
    clinic = run_clinic(goals, clock, seed=SEED)
    assert_covers_everything(exercised(goals, clinic.goal_ids))
    kept_inline = dump_all(goals)
    assert sorted(kept_inline) == ["audit", "outcomes", "plans", "reviews"]
    empty = [f"{name}.{table}" for name, tables in kept_inline.items()
             for table, rows in tables.items() if not rows]
    assert not empty, f"tables with no rows prove nothing: {empty}"

    for name in kept_inline:
        goals.projections.rebuild(name)

    rebuilt = dump_all(goals)
    for name, tables in kept_inline.items():
        for table, rows in tables.items():
            assert rebuilt[name][table] == rows, f"{name}: {table} differs after a rebuild"
    head = goals.projections.head()
    for state in goals.projections.tracking().values():
        assert (state.generation, state.position) == (2, head)
        assert (state.building_generation, state.building_position) == (None, None)


def test_read_models_built_when_a_store_is_opened_equal_those_kept_inline(
    goals: goalflow.Goals, clock: ClinicClock, second_clock: ClinicClock, second_store_url: str
) -> None:
    run_clinic(goals, clock, seed=SEED)
    with goalflow.open(second_store_url, clock=second_clock, projections=[]) as bare:
        run_clinic(bare, second_clock, seed=SEED)
        assert bare.projections.tracking() == {}
        assert bare.projections.head() == goals.projections.head()

    with goalflow.open(second_store_url) as opened:
        built_on_open = dump_all(opened)
        tracking = opened.projections.tracking()
        head = opened.projections.head()

    kept_inline = dump_all(goals)
    for name, tables in kept_inline.items():
        assert tracking[name].position == head
        for table, rows in tables.items():
            assert built_on_open[name][table] == rows, f"{name}: {table} differs"


def test_the_read_models_say_what_the_goals_themselves_say(
    goals: goalflow.Goals, clock: ClinicClock
) -> None:
    clinic = run_clinic(goals, clock, seed=SEED)
    everything = {goal_id: goals.get(goal_id) for goal_id in clinic.goal_ids}
    listed = {gid: goal for gid, goal in everything.items()
              if goal.status != "entered-in-error"}

    # Plans: every client's and every group's goals, closed ones too, none in error.
    for subject_id in (*CLIENTS, *(group.id for group in GROUPS)):
        plan = comparable_plan(printed(goals.plan(subject_id, include_closed=True)))
        theirs = {str(gid): expected_plan_goal(goal) for gid, goal in listed.items()
                  if subject_id in (goal.subject.id, *goal.subject.members)}
        assert sorted(plan) == sorted(theirs), f"the goals in {subject_id}'s plan"
        for goal_id, expected in theirs.items():
            assert plan[goal_id] == expected, f"goal {goal_id} in {subject_id}'s plan"

    # Reviews: every active or on-hold goal, due as the policy says, oldest first.
    worklist = printed(goals.reviews(as_of=far_future()))
    expected_due = sorted((expected_due_on(goal).isoformat(), str(gid))
                          for gid, goal in listed.items()
                          if goal.status in ("active", "on-hold"))
    assert [(item["due_on"], item["goal_id"]) for item in worklist] == expected_due
    assert worklist, "no goal to review proves nothing"

    # Audit: one entry per event in log order, each revision's agreement as replayed.
    entries = printed(goals.audit())
    by_goal: dict[str, list[dict[str, object]]] = {}
    for entry in entries:
        by_goal.setdefault(entry["goal_id"], []).append(entry)
    assert [e["position"] for e in entries] == sorted(e["position"] for e in entries)
    unagreed = []
    for gid, goal in everything.items():
        events = goals.history(gid)
        trail = by_goal.pop(str(gid))
        assert [entry_fields(e) for e in trail] == [expected_entry(e, goal) for e in events]
        agreements = expected_agreements(events)
        for entry in trail:
            if entry["event_type"] != "Revised":
                continue
            expected = agreements[entry["version"]]  # type: ignore[index]
            agreement = entry["agreement"]
            assert isinstance(agreement, dict)
            assert {k: agreement[k] for k in expected} == expected, \
                f"revision at version {entry['version']} of goal {gid}"
            if expected["previously_agreed"] and expected["agreement"] == "pending":
                unagreed.append(entry["position"])
    assert not by_goal, "entries for goals nobody drafted"
    assert [e["position"] for e in printed(goals.audit(unagreed=True))] == sorted(unagreed)
    assert unagreed, "no unagreed revision proves nothing about the unagreed query"


@pytest.mark.parametrize("name", ["plans", "audit", "reviews"])
def test_rebuilding_an_empty_store_gives_empty_tables(goals: goalflow.Goals, name: str) -> None:
    assert goals.projections.rebuild(name) == 0
    state = goals.projections.tracking()[name]
    assert (state.generation, state.position, state.building_generation) == (2, 0, None)
