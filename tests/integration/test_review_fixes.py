"""Error paths found in review: each refusal is a GoalflowError naming the problem."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from typing import Any

import pytest
from as_printed import printed
from eventsourcing.persistence import OperationalError

import goalflow
from goalflow import Actor, InvalidCommand, Measure, StoreError, Subject, transfer
from goalflow.transfer import ExportFileError

DR = Actor("dr-lee", "clinician")


def anxiety_goal(goals: goalflow.Goals) -> object:
    return goals.draft(Subject.client("maya"), "Manage anxiety with relaxation", by=DR,
                       measures=[Measure("GAD-7", 15, 7)], steps=["Learn two breathing exercises"],
                       target_date=date.today() + timedelta(days=30), addresses=["anxiety"])


@pytest.fixture
def memory() -> goalflow.Goals:
    return goalflow.open("memory://")


@pytest.mark.parametrize("wording", [["s1", "Learn one grounding exercise"], 7, "s1"])
def test_reword_steps_that_is_not_a_mapping_is_refused_by_name(memory: goalflow.Goals,
                                                               wording: object) -> None:
    goal_id = anxiety_goal(memory)

    with pytest.raises(InvalidCommand, match="reword_steps must map step ids") as e:
        memory.revise(goal_id, by=DR, reason="clearer wording", reword_steps=wording)
    assert e.value.field == "reword_steps"


def test_a_number_beyond_64_bits_with_a_command_id_is_an_invalid_command(
        memory: goalflow.Goals) -> None:
    with pytest.raises(InvalidCommand, match="draft: measures: Integer exceeds 64-bit range"):
        memory.draft(Subject.client("maya"), "Manage anxiety", by=DR, command_id="ehr-1",
                     measures=[_huge_measure()])


def _huge_measure() -> Measure:
    # Measure refuses it itself; build one around the check, as a careless caller's
    # subclass or a future field might, to reach the command-id fingerprint.
    measure = Measure("GAD-7", baseline=7, target=7)
    object.__setattr__(measure, "baseline", 2**64)
    return measure


@pytest.mark.parametrize("late_days", ["2", -1, True])
def test_audit_refuses_late_days_that_are_not_days(memory: goalflow.Goals,
                                                   late_days: object) -> None:
    with pytest.raises(InvalidCommand, match="late_days must be a number of days"):
        printed(memory.audit(late_days=late_days))  # type: ignore[arg-type]


def test_reviews_refuses_an_as_of_that_is_not_a_date(memory: goalflow.Goals) -> None:
    with pytest.raises(InvalidCommand, match="as_of must be a date"):
        printed(memory.reviews(as_of="2026-01-01"))  # type: ignore[arg-type]


def test_a_database_fault_reaches_the_caller_as_a_store_error(memory: goalflow.Goals,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    goal_id = anxiety_goal(memory)

    def locked(*_: object, **__: object) -> None:
        raise OperationalError("database is locked")

    # A goal load is one statement outside a transaction (recorder.statement); the other
    # reads take a transaction.
    monkeypatch.setattr(memory.store.recorder, "statement", locked)
    with pytest.raises(StoreError, match="database is locked"):
        memory.get(goal_id)
    monkeypatch.setattr(memory.store.recorder, "transaction", locked)
    with pytest.raises(StoreError, match="database is locked"):
        memory.history(goal_id)


def export_of(goals: goalflow.Goals) -> list[dict[str, object]]:
    out = io.BytesIO()
    transfer.export(goals, out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def as_file(records: list[dict[str, object]], prefix: bytes = b"") -> io.BytesIO:
    return io.BytesIO(prefix + b"".join(json.dumps(r).encode() + b"\n" for r in records))


def test_an_export_whose_event_topic_was_edited_is_refused(memory: goalflow.Goals) -> None:
    anxiety_goal(memory)
    records = export_of(memory)
    records[1]["topic"] = "goalflow:Goal.Achieved"

    with pytest.raises(ExportFileError, match="line 2: the event's content does not match"):
        transfer.check(as_file(records))


def test_a_command_record_pointing_at_no_event_is_refused(memory: goalflow.Goals) -> None:
    goal_id = anxiety_goal(memory)
    memory.add_step(goal_id, by=DR, description="10 minutes of yoga daily", command_id="c-1")
    records = export_of(memory)
    command = records[-1]
    assert command["kind"] == "command"
    command["position"] = 99
    fields = {k: v for k, v in command.items() if k not in ("kind", "sha256")}
    command["sha256"] = transfer._command_sha(fields)

    with pytest.raises(ExportFileError, match="points at no event"):
        transfer.check(as_file(records))


def test_an_export_starting_with_a_blank_line_imports(memory: goalflow.Goals) -> None:
    goal_id = anxiety_goal(memory)
    target = goalflow.open("memory://")

    transfer.import_(target, as_file(export_of(memory), prefix=b"\n"))

    assert target.get(goal_id) == memory.get(goal_id)


def test_an_import_stopped_while_its_read_models_were_built_can_be_run_again(
        tmp_path: Any, clock: Any) -> None:
    from click.testing import CliRunner

    from goalflow.cli import cli

    source = goalflow.open(f"sqlite:///{tmp_path}/source.db", clock=clock)
    goal = source.draft(Subject.client("maya"), "Manage anxiety", by=DR, command_id="ehr-1")
    source.close()
    export = tmp_path / "export.jsonl"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", f"sqlite:///{tmp_path}/source.db", "export",
                               "--output", str(export)]).exit_code == 0
    target = f"sqlite:///{tmp_path}/target.db"
    with goalflow.open(target, projections=[]) as goals, export.open("rb") as file:
        transfer.import_(goals, file)  # the events are in; the read models never ran

    again = runner.invoke(cli, ["--db", target, "import", str(export)])
    assert again.exit_code == 0, again.output
    assert "already holds these 1 events and 1 command ids" in again.output
    with goalflow.open(target, readonly=True) as goals:
        assert [g["goal_id"] for g in printed(goals.goal_index())] == [str(goal)]
    migrated = runner.invoke(cli, ["--db", f"sqlite:///{tmp_path}/source.db", "migrate",
                                   "--to", target])
    assert migrated.exit_code == 0, migrated.output
    assert "counts and content digest match" in migrated.output


def test_an_import_into_a_store_holding_other_events_is_still_refused(tmp_path: Any,
                                                                      clock: Any) -> None:
    one = goalflow.open(f"sqlite:///{tmp_path}/one.db", clock=clock)
    one.draft(Subject.client("maya"), "Manage anxiety", by=DR)
    export = io.BytesIO()
    transfer.export(one, export)
    other = goalflow.open(f"sqlite:///{tmp_path}/other.db", clock=clock)
    other.draft(Subject.client("jonah"), "Sleep better", by=DR)
    export.seek(0)
    with pytest.raises(StoreError, match="is not empty"):
        transfer.import_(other, export)
    one.close()
    other.close()
