"""Events this goalflow does not know (written by a newer one) and formats newer than it.

Such a store is refused for writing with an error that names the event type, version and
position and the goalflow needed, and nothing is written; inspection still works, and
lists the unknown events raw. (Before: one unknown topic made show, history, events,
stats, rebuilds and commands on other goals fail with "unexpected TopicError".)
"""

from __future__ import annotations

import sys
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
from anxiety_goal import agreed_anxiety_goal
from click.testing import CliRunner

import goalflow
from goalflow.cli import cli
from goalflow.errors import StoreError, UnknownEvent
from goalflow.persistence import formats

DR = goalflow.Actor("dr-okafor", "clinician")
RATED = {"actor": {"id": "dr-okafor", "on_behalf_of": None, "role": "clinician"},
         "level": 1, "occurred_at": "2025-03-04T10:00:00+00:00",
         "timestamp": "2025-03-04T10:05:00+00:00"}


def insert_raw(url: str, goal_id: UUID, version: int, topic: str, state: dict[str, Any]
               ) -> int:
    """Put an event in the log as a newer goalflow would have; returns its position."""
    # Opened without read models, so that opening catches nothing up.
    with goalflow.open(url, projections=[]) as goals:
        store = goals.store
        with store.recorder.transaction(commit=True) as tx:
            tx.execute(f"INSERT INTO {tx.table(store.events_table)} (originator_id,"
                       " originator_version, topic, state) VALUES (?, ?, ?, ?)",
                       (tx.goal_id(goal_id), version, topic, orjson.dumps(state)))
            return store.head(tx)


@pytest.fixture
def clinic(store_url: str, clock: Any) -> tuple[str, UUID, UUID, int]:
    """A store with two goals, the first with an event of a type from a newer goalflow:
    (url, that goal, the other goal, the unknown event's position)."""
    with goalflow.open(store_url, clock=clock) as goals:
        rated = agreed_anxiety_goal(goals)
        other = agreed_anxiety_goal(goals)
        version = goals.get(rated).version
    position = insert_raw(store_url, rated, version + 1, "goalflow:Goal.AttainmentRated", RATED)
    return store_url, rated, other, position


def run(url: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--db", url, *args])


def test_inspection_goes_on_past_an_unknown_event(clinic: tuple[str, UUID, UUID, int]) -> None:
    url, rated, other, position = clinic
    assert run(url, "show", str(other)).exit_code == 0
    assert run(url, "history", str(other), "--json").exit_code == 0
    stats = run(url, "stats", "--json")
    assert stats.exit_code == 0
    assert orjson.loads(stats.output)["events_by_type"]["AttainmentRated"] == 1

    events = run(url, "events", "--json")
    assert events.exit_code == 0
    unknown = [orjson.loads(line) for line in events.output.splitlines()
               if orjson.loads(line).get("unknown")]
    assert len(unknown) == 1
    assert unknown[0]["position"] == position
    assert unknown[0]["type"] == "AttainmentRated"
    assert unknown[0]["state"]["level"] == 1
    assert "not known to this goalflow" in unknown[0]["problem"]
    assert "UNKNOWN goalflow:Goal.AttainmentRated" in run(url, "events").output

    history = run(url, "history", str(rated), "--json")
    assert history.exit_code == 0
    assert orjson.loads(history.output.splitlines()[-1])["unknown"] is True


def test_a_goal_with_an_unknown_event_cannot_be_shown_and_says_why(
        clinic: tuple[str, UUID, UUID, int]) -> None:
    url, rated, _, _ = clinic
    result = run(url, "show", str(rated))
    assert result.exit_code == 1
    assert "goalflow:Goal.AttainmentRated version 1" in result.stderr
    assert "written by a newer goalflow" in result.stderr
    assert "failed unexpectedly" not in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_store_with_an_unknown_event_is_refused_for_writing_and_nothing_is_written(
        clinic: tuple[str, UUID, UUID, int]) -> None:
    url, _, other, position = clinic
    before = _log_and_positions(url)
    with pytest.raises(UnknownEvent) as raised:
        goalflow.open(url)
    assert raised.value.position == position
    assert f"position {position}: stored event goalflow:Goal.AttainmentRated version 1" in \
        str(raised.value)
    result = run(url, "projections", "rebuild")
    assert result.exit_code == 1
    assert f"position {position}" in result.stderr
    assert "failed unexpectedly" not in result.stderr
    assert _log_and_positions(url) == before
    with pytest.raises(UnknownEvent), goalflow.open(url) as goals:  # so no command is
        goals.hold(other, by=DR, reason="away")  # recorded, on any goal


def test_a_newer_version_of_a_known_event_is_refused_as_unknown(store_url: str, clock: Any
                                                                  ) -> None:
    with goalflow.open(store_url, clock=clock) as goals:
        agreed_anxiety_goal(goals)
    newer = {**RATED, "class_version": 3}
    position = insert_raw(store_url, uuid4(), 1, "goalflow:Goal.Drafted", newer)
    with pytest.raises(UnknownEvent, match=r"Drafted version 3 .* knows up to version 2"):
        goalflow.open(store_url)
    events = run(store_url, "events", "--json", "--after", str(position - 1))
    assert orjson.loads(events.output)["schema_version"] == 3


def test_a_store_written_by_a_newer_goalflow_is_refused_for_writing_by_name(
        clinic: tuple[str, UUID, UUID, int]) -> None:
    url, rated, other, _ = clinic
    with goalflow.open(url, projections=[]) as goals, \
            goals.store.recorder.transaction(commit=True) as tx:
        tx.execute(f"UPDATE {tx.table(formats.FORMATS_TABLE)} SET version = ?, written_by ="
                   " '0.9.0' WHERE name = 'events'", (formats.EVENTS_SCHEMA + 1,))
    with pytest.raises(StoreError, match=r"written by goalflow 0\.9\.0 .* upgrade goalflow to"
                                         r" 0\.9\.0 or later; nothing was written"):
        goalflow.open(url, projections=[])
    shown = run(url, "show", str(rated))
    assert "last written by goalflow 0.9.0: use that or later" in shown.stderr
    assert run(url, "show", str(other)).exit_code == 0


def test_a_worker_waits_at_an_unknown_event_instead_of_dying(store_url: str, clock: Any
                                                              ) -> None:
    with goalflow.open(store_url, clock=clock) as goals:
        goal = agreed_anxiety_goal(goals)
        goals.projections.set_mode("plans", "worker")
        version = goals.get(goal).version
    insert_raw(store_url, goal, version + 1, "goalflow:Goal.AttainmentRated", RATED)
    faults: list[tuple[StoreError, float]] = []
    with goalflow.open(store_url, projections=[]) as goals:
        from goalflow.projection import Projections, discover

        worker = Projections(goals.store, discover())
        worker.run(["plans"], stop=lambda: len(faults) >= 2, wait=lambda _: None,
                   on_fault=lambda e, pause: faults.append((e, pause)))
    assert all(isinstance(e, UnknownEvent) for e, _ in faults)
    assert [pause for _, pause in faults] == [1.0, 2.0]


def test_a_stored_topic_never_imports_a_module() -> None:
    from goalflow.persistence.codec import GoalflowMapper

    sys.modules.pop("this", None)
    with pytest.raises(UnknownEvent):
        GoalflowMapper().decode_event(uuid4(), 1, "this:Thing", b"{}")
    assert "this" not in sys.modules


def _log_and_positions(url: str) -> tuple[int, list[Any]]:
    with goalflow.open(url, readonly=True) as goals, \
            goals.store.recorder.transaction(commit=False) as tx:
        return goals.store.head(tx), sorted(
            (t.name, t.position) for t in goals.projections.tracking().values())


def test_a_damaged_event_is_marked_where_it_is_and_named_by_position(tmp_path: Any,
                                                                      clock: Any) -> None:
    url = f"sqlite:///{tmp_path}/goals.db"
    with goalflow.open(url, clock=clock) as goals:
        damaged = agreed_anxiety_goal(goals)
        other = agreed_anxiety_goal(goals)
    import sqlite3

    with sqlite3.connect(tmp_path / "goals.db") as conn:  # someone edits a row by hand
        conn.execute("UPDATE stored_events SET state = X'00ff' WHERE originator_id = ? AND"
                     " originator_version = 2", (damaged.hex,))
        position = conn.execute("SELECT rowid FROM stored_events WHERE originator_id = ? AND"
                                " originator_version = 2", (damaged.hex,)).fetchone()[0]
    events = run(url, "events", "--json")
    assert events.exit_code == 0
    marked = [orjson.loads(line) for line in events.output.splitlines()
              if orjson.loads(line).get("unreadable")]
    assert [m["position"] for m in marked] == [position]
    for command in (["show", str(damaged)], ["history", str(damaged)]):
        result = run(url, *command)
        assert result.exit_code == 1
        assert result.stderr.startswith(f"Error: position {position}: cannot read stored event")
    assert run(url, "show", str(other)).exit_code == 0
    exported = run(url, "export", "--output", str(tmp_path / "out.jsonl"))
    assert exported.exit_code == 0
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert sum('"unreadable_state"' in line for line in lines) == 1
    refused = run(f"sqlite:///{tmp_path}/copy.db", "import", str(tmp_path / "out.jsonl"))
    assert refused.exit_code == 1
    assert f"the event at position {position} was unreadable" in refused.stderr
    with goalflow.open(url) as goals:  # commands on other goals go on
        goals.hold(other, by=DR, reason="away")
