"""Arbitrary JSON through commands-as-data: only GoalflowErrors, never half a command."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import goalflow
from goalflow.application import _PARAMETERS, COMMANDS
from goalflow.commands import parse_command
from goalflow.errors import GoalflowError

GOAL = "0b6a2f4e-8c1d-4f5e-9a7b-3c2d1e0f9a8b"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20)
    | st.sampled_from(["s1", "client-7", "dr-lee", "clinician", "client", "verbal",
                       "2026-03-01", "2026-03-01T09:30:00+01:00", GOAL, "GAD-7"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["id", "role", "kind", "members", "name", "baseline",
                                       "target", "direction", "on_behalf_of", "s1", "x"]),
                      children, max_size=4),
    max_leaves=12,
)
# Mostly well-formed envelopes, so the arbitrary values get past the first checks and
# reach the domain's own rules.
actors = st.sampled_from([{"id": "client-7", "role": "client"},
                          {"id": "dr-lee", "role": "clinician"},
                          {"id": "mum", "role": "guardian", "on_behalf_of": "client-7"}])
likely = {
    "goal_id": st.just(GOAL) | json_values,
    "by": st.one_of(actors, actors, actors, json_values),
    "witnessed_by": actors | json_values,
    "subject": st.just({"kind": "client", "id": "client-7"}) | json_values,
    "step_id": st.just("s1") | json_values,
    "measure": st.just("GAD-7") | json_values,
}
OPTIONS = ("occurred_at", "command_id", "expected_version")


@st.composite
def commands(draw: st.DrawFn) -> dict[str, Any]:
    """A command with its own argument names (and now and then a stranger)."""
    command = draw(st.sampled_from([*COMMANDS, "meditate"]))
    data: dict[str, Any] = {"command": command, "goal_id": draw(likely["goal_id"]),
                            "by": draw(likely["by"])}
    for name in _PARAMETERS.get(command, {}):
        if name != "by" and draw(st.integers(0, 9)) < 7:
            data[name] = draw(likely.get(name, json_values))
    for name in OPTIONS:
        if draw(st.integers(0, 9)) == 0:
            data[name] = draw(json_values)
    if draw(st.integers(0, 19)) == 0:
        data["surprise"] = draw(json_values)
    return data


def recorded(goals: goalflow.Goals) -> int:
    with goals.store.recorder.transaction(commit=False) as tx:
        return int(goals.store.head(tx))


def seeded() -> goalflow.Goals:
    goals = goalflow.open("memory://")
    goals.draft(goalflow.Subject.client("client-7"), "Manage anxiety with relaxation",
                by=goalflow.Actor("dr-lee", "clinician"), goal_id=GOAL, addresses=["anxiety"],
                measures=[goalflow.Measure("GAD-7", 15, 7)], steps=["Breathe"],
                target_date=date.today() + timedelta(days=30))
    return goals


GOALS = seeded()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands())
def test_arbitrary_json_commands_give_goalflow_errors_or_whole_commands(
        data: dict[str, Any]) -> None:
    before = recorded(GOALS)
    try:
        command, arguments = parse_command(data)
        outcome = GOALS.execute(command, **arguments)
    except GoalflowError:
        assert recorded(GOALS) == before  # refused: nothing of it was recorded
        return
    assert recorded(GOALS) in (before, before + 1)  # one whole event (or a replay)
    assert outcome.replayed or recorded(GOALS) == before + 1
