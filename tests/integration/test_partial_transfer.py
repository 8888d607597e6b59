"""Partial exports (by goal, subject, recording or clinical time) import into another store:
empty, or holding other goals (a merge), ids, versions and command ids kept, the chain
verifying, conflicts refused with nothing written; and the clinical view of a goal."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import psycopg
import pytest
from anxiety_goal import DR_LEE, MAYA, agreed_anxiety_goal, draft_anxiety_goal
from test_privacy import SUPERVISOR, draft_maya, draft_sam

import goalflow
from goalflow import Actor, Subject, transfer
from goalflow.errors import GoalErased, GoalNotFound, StoreError

pytest_plugins = ["test_privacy"]  # its fixtures: key, vault, keys_cleanup

SAM = Actor("client-11", "client")


@pytest.fixture
def other_url(store_url: str, tmp_path: Path) -> Iterator[str]:
    """A second empty store of the same kind as ``store_url``."""
    if store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/other.db"
        return
    server = os.environ["GOALFLOW_TEST_POSTGRES"]
    schema = f"gf_{uuid.uuid4().hex}"
    yield f"{server}{'&' if '?' in server else '?'}schema={schema}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '20s'")
        for name in (schema, f"{schema}_keys"):
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')  # type: ignore[arg-type]


def exported(goals: goalflow.Goals, **options: Any) -> bytes:
    out = io.BytesIO()
    transfer.export(goals, out, **options)
    return out.getvalue()


def imported(goals: goalflow.Goals, data: bytes) -> dict[str, Any]:
    return transfer.import_(goals, io.BytesIO(data))


def command_ids(goals: goalflow.Goals) -> list[tuple[str, str, int]]:
    _header, *lines = exported(goals).splitlines()
    records = [orjson.loads(line) for line in lines]
    return sorted((r["command_id"], r["goal_id"], r["version"]) for r in records
                  if r["kind"] == "command")


def sams_goal(goals: goalflow.Goals, **options: Any) -> UUID:
    return goals.draft(Subject.client(SAM.id), "Sleep seven hours on most nights", by=DR_LEE,
                       **options)


def test_a_goals_export_imports_into_an_empty_store_with_ids_versions_and_command_ids(
        goals: goalflow.Goals, other_url: str, clock: Any) -> None:
    anxiety = draft_anxiety_goal(goals, command_id="draft-1")
    goals.agree(anxiety, by=MAYA, terms_version=1, method="signature", command_id="agree-1")
    sams_goal(goals, command_id="sam-1")
    data = exported(goals, goal_ids=[anxiety])

    with goalflow.open(other_url, clock=clock) as target:
        done = imported(target, data)

        assert (done["added"], done["commands_added"], done["held"]) == (2, 2, 0)
        assert target.get(anxiety).to_dict() == goals.get(anxiety).to_dict()
        assert command_ids(target) == [("agree-1", str(anxiety), 2),
                                       ("draft-1", str(anxiety), 1)]
        assert target.verify().damage == ()
        # The command ids came as idempotency records: the same command is not done twice.
        again = target.agree(anxiety, by=MAYA, terms_version=1, method="signature",
                             command_id="agree-1")
        assert again == 2
        assert target.get(anxiety).version == 2
        assert [g.goal_id for g in target.goal_index()] == [anxiety]


def test_a_subjects_export_merges_into_a_store_holding_other_goals(
        goals: goalflow.Goals, other_url: str, clock: Any) -> None:
    anxiety = agreed_anxiety_goal(goals)
    draft_anxiety_goal(goals, statement="Walk the dog every morning, for my mood")
    sams_goal(goals)
    data = exported(goals, subjects=[MAYA.id])
    with goalflow.open(other_url, clock=clock) as target:
        theirs = sams_goal(target, command_id="sam-1")
        target.add_step(theirs, by=DR_LEE, description="Keep a sleep diary")

        done = imported(target, data)

        assert (done["added"], done["held"]) == (3, 0)
        maya = sorted(g.goal_id for g in goals.goal_index(subject=MAYA.id))
        assert sorted(g.goal_id for g in target.goal_index(subject=MAYA.id)) == maya
        assert target.get(anxiety).to_dict() == goals.get(anxiety).to_dict()
        assert target.get(theirs).version == 2  # the target's own goal, untouched
        assert target.verify().damage == ()
        assert transfer.digest(target)[0] == 5
        # Writing goes on after a merge, and the chain still verifies.
        target.record_progress(anxiety, by=MAYA, measure="GAD-7", value=11)
        assert target.verify().damage == ()


def test_importing_the_same_partial_export_twice_changes_nothing_the_second_time(
        goals: goalflow.Goals, other_url: str, clock: Any) -> None:
    anxiety = draft_anxiety_goal(goals, command_id="draft-1")
    data = exported(goals, goal_ids=[anxiety])
    with goalflow.open(other_url, clock=clock) as target:
        imported(target, data)
        before = transfer.digest(target), command_ids(target)

        again = imported(target, data)

        assert (again["added"], again["commands_added"], again["held"],
                again["commands_held"]) == (0, 0, 1, 1)
        assert (transfer.digest(target), command_ids(target)) == before


def test_an_export_with_blank_lines_before_its_header_imports_whole_or_partial(
        goals: goalflow.Goals, other_url: str, tmp_path: Path, clock: Any) -> None:
    """Blank lines are allowed anywhere in an export (the check skips them): the header is
    its first line that is not blank, not its first line."""
    anxiety = draft_anxiety_goal(goals, command_id="draft-1")
    sams = sams_goal(goals)
    with goalflow.open(other_url, clock=clock) as target:
        done = imported(target, b"\n\n" + exported(goals, goal_ids=[anxiety]))
        assert (done["added"], done["commands_added"]) == (1, 1)
        assert target.get(anxiety).to_dict() == goals.get(anxiety).to_dict()
    with goalflow.open(f"sqlite:///{tmp_path}/whole.db", clock=clock) as whole:
        imported(whole, b"\n" + exported(goals))
        assert transfer.digest(whole) == transfer.digest(goals)
        assert whole.get(sams).version == 1


def test_a_goal_the_target_holds_with_other_events_is_refused_and_nothing_is_written(
        goals: goalflow.Goals, other_url: str, clock: Any) -> None:
    same_id = uuid.uuid4()
    draft_anxiety_goal(goals, goal_id=same_id)
    new_here = sams_goal(goals)
    data = exported(goals, goal_ids=[new_here, same_id])
    with goalflow.open(other_url, clock=clock) as target:
        clock.advance(minutes=1)  # another draft of the same id: other events
        draft_anxiety_goal(target, goal_id=same_id)
        before = transfer.digest(target), command_ids(target)

        with pytest.raises(StoreError, match=rf"^goal {same_id} already exists in store .*"
                                             r" with different events \(version 1 differs\)$"):
            imported(target, data)

        assert (transfer.digest(target), command_ids(target)) == before
        with pytest.raises(GoalNotFound):
            target.get(new_here)  # not half-imported either


def test_a_command_id_the_target_uses_for_another_command_is_refused(
        goals: goalflow.Goals, other_url: str, clock: Any) -> None:
    anxiety = draft_anxiety_goal(goals, command_id="intake-1")
    data = exported(goals, goal_ids=[anxiety])
    with goalflow.open(other_url, clock=clock) as target:
        theirs = sams_goal(target, command_id="intake-1")
        before = transfer.digest(target)

        with pytest.raises(StoreError, match=rf"^command id intake-1 is already used in store"
                                             rf" .* for a different command \(goal {theirs}\);"
                                             rf" the export's is of goal {anxiety}$"):
            imported(target, data)

        assert transfer.digest(target) == before


def test_an_export_since_a_time_continues_the_goals_the_target_holds(
        goals: goalflow.Goals, other_url: str, clock: Any) -> None:
    anxiety = agreed_anxiety_goal(goals)
    first = exported(goals, goal_ids=[anxiety])
    later = clock.advance(days=7)
    goals.record_progress(anxiety, by=MAYA, measure="GAD-7", value=11, command_id="gad-1")
    goals.record_progress(anxiety, by=MAYA, measure="GAD-7", value=10)
    since = exported(goals, since=later)
    header = orjson.loads(since.splitlines()[0])
    assert (header["events"], header["commands"]) == (2, 1)
    assert list(header["bases"]) == [str(anxiety)]
    assert header["bases"][str(anxiety)]["version"] == 2

    with goalflow.open(other_url, clock=clock) as target:
        with pytest.raises(StoreError, match=rf"^goal {anxiety}: the export takes it up at"
                                             r" version 3, but store .* does not hold it"):
            imported(target, since)
        assert transfer.digest(target)[0] == 0

        imported(target, first)
        done = imported(target, since)

        assert (done["added"], done["commands_added"]) == (2, 1)
        assert target.get(anxiety).to_dict() == goals.get(anxiety).to_dict()
        assert transfer.digest(target) == transfer.digest(goals)
        assert target.verify().damage == ()


def test_an_export_since_a_time_is_refused_where_the_goal_began_otherwise(
        goals: goalflow.Goals, other_url: str, clock: Any) -> None:
    goal_id = uuid.uuid4()
    anxiety = draft_anxiety_goal(goals, goal_id=goal_id)
    later = clock.advance(days=1)
    goals.agree(anxiety, by=MAYA, terms_version=1, method="signature")
    since = exported(goals, since=later)
    with goalflow.open(other_url, clock=clock) as target:
        draft_anxiety_goal(target, goal_id=goal_id, statement="Another goal with the same id,"
                           " to manage anxiety with daily exercise")
        with pytest.raises(StoreError, match=rf"^goal {goal_id} already exists in store .*"
                                             r" with different events \(before version 2\)$"):
            imported(target, since)
        assert target.get(goal_id).version == 1


def test_an_export_of_what_occurred_since_takes_each_goal_from_its_first_such_event(
        goals: goalflow.Goals, other_url: str, clock: Any) -> None:
    anxiety = agreed_anxiety_goal(goals)  # v1, v2 happened at the start
    start = clock.now
    clock.advance(days=10)
    goals.record_progress(anxiety, by=MAYA, measure="GAD-7", value=12,
                          occurred_at=start + timedelta(days=5))  # v3
    goals.record_progress(anxiety, by=MAYA, measure="GAD-7", value=10,
                          occurred_at=start + timedelta(days=1))  # v4: entered late
    late = orjson.loads(exported(goals, occurred_since=start + timedelta(days=3))
                        .splitlines()[0])
    assert (late["events"], late["bases"][str(anxiety)]["version"]) == (2, 2)
    assert late["scope"]["occurred_since"] == (start + timedelta(days=3)).isoformat()
    # Recorded since then: both (they were entered on day 10); happened since day 0: all.
    assert orjson.loads(exported(goals, since=start + timedelta(days=3))
                        .splitlines()[0])["events"] == 2
    assert orjson.loads(exported(goals, occurred_since=start).splitlines()[0])["events"] == 4


def test_the_clinical_view_holds_an_event_entered_late_and_the_record_view_does_not(
        goals: goalflow.Goals, clock: Any) -> None:
    anxiety = agreed_anxiety_goal(goals)
    start = clock.now
    clock.advance(days=10)  # entered on day 10, of a session on day 2
    goals.record_progress(anxiety, by=MAYA, measure="GAD-7", value=9,
                          occurred_at=start + timedelta(days=2))
    clock.advance(days=1)
    goals.record_progress(anxiety, by=MAYA, measure="GAD-7", value=8)  # day 11
    moment = start + timedelta(days=5)

    record = goals.get(anxiety, as_of=moment)
    clinical = goals.get(anxiety, as_of=moment, clinical=True)

    assert (record.version, "GAD-7" in record.readings) == (2, False)
    assert (clinical.version, clinical.readings["GAD-7"].value) == (3, 9)
    assert clinical.reading_counts["GAD-7"] == 1  # the reading of day 11 is in neither
    # Later on, both views hold everything.
    now = goals.get(anxiety).to_dict()
    assert goals.get(anxiety, as_of=clock.now, clinical=True).to_dict() == now
    with pytest.raises(GoalNotFound, match="nothing of it had happened by"):
        goals.get(anxiety, as_of=start - timedelta(days=1), clinical=True)
    with pytest.raises(goalflow.InvalidCommand, match="clinical needs as_of"):
        goals.get(anxiety, clinical=True)


def test_the_clinical_view_skips_a_step_added_late_but_keeps_one_entered_late(
        goals: goalflow.Goals, clock: Any) -> None:
    anxiety = draft_anxiety_goal(goals)
    start = clock.now
    clock.advance(days=3)
    goals.add_step(anxiety, by=DR_LEE, description="Yoga for 10 minutes daily")  # day 3
    clock.advance(days=3)
    goals.add_step(anxiety, by=DR_LEE, description="Walk after lunch",
                   occurred_at=start + timedelta(days=1))  # happened day 1, entered day 6

    steps = [s.description for s in
             goals.get(anxiety, as_of=start + timedelta(days=2), clinical=True).steps]

    assert "Walk after lunch" in steps
    assert "Yoga for 10 minutes daily" not in steps


def test_a_store_in_another_time_zone_refuses_a_partial_export(
        goals: goalflow.Goals, other_url: str, clock: Any) -> None:
    anxiety = draft_anxiety_goal(goals)
    data = exported(goals, goal_ids=[anxiety])
    with goalflow.open(other_url, clock=clock) as target:
        target.set_timezone("America/Chicago")
        sams_goal(target)
        with pytest.raises(StoreError, match=r"keeps its dates in time zone America/Chicago,"
                                             r" but the exported store in UTC"):
            imported(target, data)
        with pytest.raises(GoalNotFound):
            target.get(anxiety)


# -- encrypted stores ----------------------------------------------------------------


def test_an_encrypted_subjects_export_with_keys_merges_into_an_encrypted_store(
        vault: goalflow.Goals, other_url: str, key: str, clock: Any) -> None:
    sam = draft_sam(vault)
    maya = draft_maya(vault)
    data = exported(vault, subjects=["sam"], with_keys=True)
    header = orjson.loads(data.splitlines()[0])
    assert [s for s, _ in header["subject_keys"]] == ["sam"]
    assert [k["key_id"] for k in header["keys"]] == [str(vault.store.subject_key_id("sam"))]
    with goalflow.open(other_url, master_key=key, clock=clock) as target:
        theirs = target.draft(Subject.client("ari"), "Ride the bus to school alone", by=DR_LEE)

        done = imported(target, data)

        assert done["added"] == 1
        assert target.get(sam).to_dict() == vault.get(sam).to_dict()
        assert target.get(theirs).version == 1
        with pytest.raises(GoalNotFound):
            target.get(maya)
        assert target.verify().damage == ()
        assert imported(target, data)["added"] == 0  # twice: a no-op
        target.forget("sam", by=SUPERVISOR, reason="moved away")  # its key map came along
        with pytest.raises(GoalErased):
            target.get(sam)


def test_an_encrypted_partial_export_is_refused_where_the_subject_has_another_key(
        vault: goalflow.Goals, other_url: str, key: str, clock: Any) -> None:
    sam = draft_sam(vault)
    data = exported(vault, goal_ids=[sam], with_keys=True)
    with goalflow.open(other_url, master_key=key, clock=clock) as target:
        draft_sam(target)  # sam's first goal here made sam a key of this store's own
        before = transfer.digest(target)
        with pytest.raises(StoreError, match=r"^subject sam has another data key in store"):
            imported(target, data)
        assert transfer.digest(target) == before


def test_an_encrypted_partial_export_without_keys_is_refused(
        vault: goalflow.Goals, other_url: str, key: str) -> None:
    sam = draft_sam(vault)
    data = exported(vault, goal_ids=[sam])
    with goalflow.open(other_url, master_key=key) as target, \
            pytest.raises(StoreError, match=r"carries no data keys.*--with-keys"):
        imported(target, data)
