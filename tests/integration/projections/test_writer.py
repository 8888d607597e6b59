"""The Writer holds a batch's writes in memory and flushes them: the database must end up
exactly as if every write had gone straight to it, in order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from as_printed import printed

import goalflow
from goalflow.projection import Json, Projection, ProjectionError, Table, Writer

GOAL = UUID("0b6a2f4e-8c1d-4f5e-9a7b-3c2d1e0f9a8b")
WHEN = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


class Notes(Projection):
    name = "notes"
    tables = (Table("t_notes", (("goal_id", "uuid"), ("n", "int"), ("text", "text"),
                                ("at", "timestamp"), ("tags", "json"), ("score", "numeric"),
                                ("done", "bool")),
                    primary_key=("goal_id", "n")),)


@pytest.fixture
def writer(store_url: str) -> Any:
    goals = goalflow.open(store_url, projections=[Notes()])
    projection = goals.projections.get("notes")
    generation = goals.projections.tracking()["notes"].generation
    with goals.store.recorder.transaction(commit=True) as tx:
        yield Writer(tx, projection, generation), lambda: rows(tx, generation)
    goals.close()


def rows(tx: Any, generation: int) -> list[tuple[Any, ...]]:
    tx.execute(f"SELECT n, text, done FROM {tx.table(f't_notes__g{generation}')} ORDER BY n")
    return [(row[0], row[1], bool(row[2])) for row in tx.fetchall()]


def note(n: int, text: str = "x", **extra: Any) -> dict[str, Any]:
    return {"goal_id": GOAL, "n": n, "text": text, "at": WHEN, "tags": Json(["a"]),
            "score": 1.5, "done": False, **extra}


def test_reads_see_pending_writes_as_the_database_would_return_them(writer: Any) -> None:
    w, _ = writer
    w.insert("t_notes", note(1))
    [pending] = w.select("t_notes", {"goal_id": GOAL, "n": 1})
    w.flush()
    w.memo.clear()
    fresh = Writer(w.tx, w.projection, w.generation)
    assert fresh.select("t_notes", {"goal_id": GOAL, "n": 1}) == [pending]
    assert pending == {"goal_id": str(GOAL), "n": 1, "text": "x",
                       "at": "2026-03-01T09:30:00+00:00", "tags": ["a"], "score": 1.5,
                       "done": False}


def test_a_batch_of_writes_ends_as_the_same_writes_one_by_one(writer: Any) -> None:
    w, stored = writer
    for n in (1, 2, 3, 4):
        w.insert("t_notes", note(n))
    w.flush()
    # In the next batch: rows known only to the database, rows written twice, deleted and
    # written again, deleted without ever being read, and inserted then deleted.
    w.update("t_notes", {"goal_id": GOAL, "n": 1}, {"text": "one"})
    w.update("t_notes", {"goal_id": GOAL, "n": 1}, {"done": True})
    w.delete("t_notes", {"goal_id": GOAL, "n": 2})
    w.insert("t_notes", note(2, "two again"))
    w.delete("t_notes", {"goal_id": GOAL, "n": 3})
    w.insert("t_notes", note(5, "five"))
    w.update("t_notes", {"goal_id": GOAL, "n": 5}, {"text": "five, edited"})
    w.insert("t_notes", note(6))
    w.delete("t_notes", {"goal_id": GOAL, "n": 6})
    w.update("t_notes", {"goal_id": GOAL, "n": 99}, {"text": "no such row"})
    assert w.select("t_notes", {"goal_id": GOAL, "n": 3}) == []
    assert w.select("t_notes", {"goal_id": GOAL, "n": 1})[0]["text"] == "one"
    w.flush()

    assert stored() == [(1, "one", True), (2, "two again", False), (4, "x", False),
                        (5, "five, edited", False)]


def test_updates_before_a_row_is_read_are_applied_on_top_of_it(writer: Any) -> None:
    w, stored = writer
    w.insert("t_notes", note(1))
    w.flush()
    w.update("t_notes", {"goal_id": GOAL, "n": 1}, {"text": "blind"})
    w.update("t_notes", {"goal_id": GOAL, "n": 1}, {"done": True})
    assert w.select("t_notes", {"goal_id": GOAL, "n": 1}, columns="n, text, done") == \
        [{"n": 1, "text": "blind", "done": True}]
    w.update("t_notes", {"goal_id": GOAL, "n": 7}, {"text": "no such row"})
    w.insert("t_notes", note(7, "seven"))  # the update matched nothing; the insert stands
    w.update("t_notes", {"goal_id": GOAL, "n": 8}, {"text": "no such row either"})
    w.flush()
    assert stored() == [(1, "blind", True), (7, "seven", False)]


def test_a_second_insert_of_a_held_key_is_refused(writer: Any) -> None:
    w, _ = writer
    w.insert("t_notes", note(1))
    with pytest.raises(ProjectionError, match="already has a row"):
        w.insert("t_notes", note(1))
    w.flush()
    w.update("t_notes", {"goal_id": GOAL, "n": 1}, {"text": "changed, not read"})
    with pytest.raises(ProjectionError, match="already has a row"):
        w.insert("t_notes", note(1))


def test_writes_not_by_primary_key_go_straight_to_the_database(writer: Any) -> None:
    w, stored = writer
    w.insert("t_notes", note(1))
    w.insert("t_notes", note(2))
    w.update("t_notes", {"goal_id": GOAL}, {"done": True})  # flushes, then all of the goal
    assert stored() == [(1, "x", True), (2, "x", True)]
    assert [r["n"] for r in w.select("t_notes", {"goal_id": GOAL}, order="n DESC")] == [2, 1]
    w.delete("t_notes", {"goal_id": GOAL})
    assert stored() == []


def test_a_key_given_as_a_uuid_or_its_string_is_one_row(writer: Any) -> None:
    w, stored = writer
    w.insert("t_notes", note(1))
    w.delete("t_notes", {"goal_id": str(GOAL), "n": 1})
    w.insert("t_notes", note(1, "again"))
    assert w.select("t_notes", {"goal_id": str(GOAL), "n": 1}, columns="text") == \
        [{"text": "again"}]
    w.flush()
    assert stored() == [(1, "again", False)]


def test_a_row_inserted_without_every_column_reads_back_with_nulls(writer: Any) -> None:
    w, _ = writer
    w.insert("t_notes", {"goal_id": GOAL, "n": 1, "text": "partial"})
    assert w.select("t_notes", {"goal_id": GOAL, "n": 1}, columns="text, score, done") == \
        [{"text": "partial", "score": None, "done": None}]


def test_a_column_list_that_is_not_plain_names_goes_to_the_database(writer: Any) -> None:
    w, _ = writer
    w.insert("t_notes", note(1, "one"))
    [row] = w.select("t_notes", {"goal_id": GOAL, "n": 1}, columns="upper(text) AS loud")
    assert row["loud"] == "ONE"


def test_inserting_a_stored_row_again_is_refused_even_if_deleted_in_the_batch(
    writer: Any,
) -> None:
    w, _ = writer
    w.insert("t_notes", note(1))
    w.flush()
    w.insert("t_notes", note(1, "twice"))  # as SQL: this insert would fail
    with pytest.raises(ProjectionError, match="already has a row"):
        w.delete("t_notes", {"goal_id": GOAL, "n": 1})


def test_values_of_subclasses_are_written_as_their_base_types(store_url: str) -> None:
    class ClinicDatetime(datetime):  # as a test clock or a date library might give
        pass

    clock_time = ClinicDatetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    with goalflow.open(store_url, clock=lambda: clock_time) as goals:
        goal_id = goals.draft(goalflow.Subject.client("client-7"), "Sleep better",
                              by=goalflow.Actor("dr-lee", "clinician"))
        assert printed(goals.audit(goal_id))[0]["recorded_at"] == "2026-03-01T09:30:00+00:00"


def test_a_row_without_its_whole_primary_key_is_refused_by_name(writer: Any) -> None:
    w, _ = writer
    with pytest.raises(ProjectionError, match="t_notes row needs 'goal_id'"):
        w.insert("t_notes", {"n": 1, "text": "whose?"})
