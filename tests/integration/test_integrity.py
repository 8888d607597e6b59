"""The tamper-evident log on real stores: every kind of damage made with raw SQL is found,
with its first position; a kept digest catches a rewrite; a goal's proof is checked with
no store; an older store is chained on its first writable open."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from hashlib import sha256
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest
from anxiety_goal import DR_LEE, agreed_anxiety_goal
from as_printed import printed
from read_only import unwritable_for_root

import goalflow
from goalflow.errors import GoalNotFound, StoreError
from goalflow.integrity import chain, merkle, proofs
from goalflow.integrity.digest import Digest, DigestError
from goalflow.integrity.leaves import leaf_input
from goalflow.persistence.recorders import Tx

FIXTURES = Path(__file__).parents[1] / "fixtures" / "stores" / "v1"


def sql(goals: goalflow.Goals, statement: str, params: Sequence[Any] = ()) -> list[Any]:
    """Raw SQL on the store, as someone with write access to the database could run it.
    ``{events}``, ``{leaves}``, ``{nodes}`` and ``{pos}`` name its tables and position."""
    store = goals.store
    with store.recorder.transaction(commit=True) as tx:
        tx.execute(statement.format(events=tx.table(store.events_table),
                                    leaves=tx.table(chain.LEAVES_TABLE),
                                    nodes=tx.table(chain.NODES_TABLE),
                                    pos=tx.position_column), params)
        return tx.fetchall() if statement.lstrip().upper().startswith("SELECT") else []


def altered(state: bytes) -> bytes:
    """The state with one byte changed (the actor's id: every event has one)."""
    changed = state.replace(b"dr-lee", b"dr-lea", 1)
    assert changed != state
    return changed


def stored_rows(goals: goalflow.Goals) -> list[tuple[int, UUID, int, str, bytes]]:
    return [(int(p), chain.as_uuid(g), int(v), t, bytes(s)) for p, g, v, t, s in sql(
        goals, "SELECT {pos}, originator_id, originator_version, topic, state FROM {events}"
        " ORDER BY {pos}")]


def independent_root(rows: Sequence[tuple[int, UUID, int, str, bytes]]) -> str:
    """The root recomputed from the rows alone, as an auditor would (merkle in memory)."""
    hashes = [merkle.leaf_hash(leaf_input(*row)) for row in rows]
    nodes = merkle.perfect_nodes(hashes)
    return merkle.root(len(hashes), lambda level, index: nodes[(level, index)]).hex()


@pytest.fixture
def log(goals: goalflow.Goals) -> goalflow.Goals:
    """A store with eight goals' events (two dozen), chained."""
    for _ in range(8):
        goal = agreed_anxiety_goal(goals)
        goals.record_progress(goal, by=DR_LEE, measure="GAD-7", value=12)
    return goals


def kinds(goals: goalflow.Goals, digest: Digest | None = None) -> dict[str, int | None]:
    return {d.kind: d.position for d in goals.verify(digest).damage}


def test_an_intact_log_verifies_and_its_root_is_what_an_auditor_computes(
        log: goalflow.Goals) -> None:
    rows = stored_rows(log)
    digest = log.digest()
    assert digest.size == len(rows) > 20
    assert digest.root == independent_root(rows)
    result = log.verify(digest)
    assert result.intact
    assert result.damage == ()
    assert (result.size, result.root, result.head) == (len(rows), digest.root, rows[-1][0])
    assert result.began is not None
    assert result.began.how == "created"
    assert result.began.position == 0


def test_a_changed_byte_of_a_state_is_found_at_its_position(log: goalflow.Goals) -> None:
    position, *_, state = stored_rows(log)[9]
    changed = altered(state)
    assert changed != state
    sql(log, "UPDATE {events} SET state = ? WHERE {pos} = ?", (changed, position))
    assert kinds(log) == {"changed": position}


def test_a_deleted_event_is_found(log: goalflow.Goals) -> None:
    position = stored_rows(log)[5][0]
    sql(log, "DELETE FROM {events} WHERE {pos} = ?", (position,))
    assert kinds(log) == {"deleted": position}


def test_an_event_inserted_without_a_leaf_is_found(log: goalflow.Goals) -> None:
    _, goal_id, _, topic, state = stored_rows(log)[3]
    sql(log, "INSERT INTO {events} (originator_id, originator_version, topic, state)"
        " VALUES (?, 99, ?, ?)",
        (goal_id.hex if log.store.url.kind == "sqlite" else goal_id, topic, state))
    inserted = stored_rows(log)[-1][0]
    assert kinds(log) == {"inserted": inserted}


def test_two_rows_with_their_states_swapped_are_found_as_moved(log: goalflow.Goals) -> None:
    rows = stored_rows(log)
    first, second = rows[4], rows[11]
    sql(log, "UPDATE {events} SET state = ? WHERE {pos} = ?", (second[4], first[0]))
    sql(log, "UPDATE {events} SET state = ? WHERE {pos} = ?", (first[4], second[0]))
    found = log.verify().damage
    assert [(d.kind, d.position, d.count) for d in found] == [("reordered", first[0], 2)]


def test_a_changed_leaf_is_told_apart_from_a_changed_event(log: goalflow.Goals) -> None:
    position = stored_rows(log)[6][0]
    sql(log, "UPDATE {leaves} SET hash = ? WHERE position = ?", (bytes(32), position))
    found = log.verify().damage
    assert [(d.kind, d.position) for d in found] == [("chain", position)]
    assert "a leaf hash was changed" in found[0].message


def test_a_changed_interior_node_is_found_at_the_first_event_it_covers(
        log: goalflow.Goals) -> None:
    rows = stored_rows(log)
    sql(log, "UPDATE {nodes} SET hash = ? WHERE tree_size = 16 AND level = 3", (bytes(32),))
    # The subtree of level 3 completed at size 16 covers leaves 8..15.
    assert kinds(log) == {"chain": rows[8][0]}


def test_a_truncated_tail_is_found_with_a_kept_digest(log: goalflow.Goals) -> None:
    digest = log.digest()
    rows = stored_rows(log)
    cut = rows[-3][0]
    for table, column in (("{events}", "{pos}"), ("{leaves}", "position")):
        sql(log, f"DELETE FROM {table} WHERE {column} >= ?", (cut,))
    sql(log, "DELETE FROM {nodes} WHERE tree_size > ?", (len(rows) - 3,))
    assert log.verify().intact  # consistent in itself: only the digest can tell
    found = log.verify(digest).damage
    assert [d.kind for d in found] == ["truncated"]
    assert f"the digest covered {len(rows)} events, the log holds {len(rows) - 3}" \
        in found[0].message


def _rewrite_tail(goals: goalflow.Goals, keep: int) -> None:
    """Change an event after the first ``keep`` and recompute every hash after them: what
    someone who can write the database and knows the chain could do."""
    rows = stored_rows(goals)
    position, *_, state = rows[keep + 1]
    sql(goals, "UPDATE {events} SET state = ? WHERE {pos} = ?",
        (altered(state), position))
    sql(goals, "DELETE FROM {leaves} WHERE leaf_index >= ?", (keep,))
    sql(goals, "DELETE FROM {nodes} WHERE tree_size > ?", (keep,))
    with goals.store.recorder.transaction(commit=True) as tx:
        chain.append(tx, stored_rows_in(goals, tx)[keep:])


def stored_rows_in(goals: goalflow.Goals, tx: Tx) -> list[chain.Row]:
    return [(int(p), g, int(v), t, bytes(s)) for p, g, v, t, s in tx.execute(
        f"SELECT {tx.position_column}, originator_id, originator_version, topic, state FROM"
        f" {tx.table(goals.store.events_table)} ORDER BY {tx.position_column}").fetchall()]


def test_a_rewrite_that_recomputed_every_hash_is_found_only_with_a_kept_digest(
        log: goalflow.Goals) -> None:
    digest = log.digest()
    goal = agreed_anxiety_goal(log)  # the log moves on after the digest
    del goal
    _rewrite_tail(log, keep=digest.size - 5)
    assert log.verify().intact  # nothing inside the store can tell
    found = log.verify(digest).damage
    assert [d.kind for d in found] == ["rewritten"]
    assert found[0].position is None


def test_a_log_that_grew_after_the_digest_is_proved_consistent_with_it(
        log: goalflow.Goals) -> None:
    digest = log.digest()
    for _ in range(3):
        agreed_anxiety_goal(log)
    result = log.verify(digest)
    assert result.intact
    assert result.size > digest.size


def test_a_goals_proof_is_checked_with_no_store(log: goalflow.Goals) -> None:
    goal_id = UUID(printed(log.goal_index())[0]["goal_id"])
    digest = log.digest()
    proof = orjson.loads(orjson.dumps(log.prove(goal_id, digest)))
    log.close()
    events = proofs.check(proof, Digest.parse(orjson.dumps(digest.as_json())))
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    assert {e["goal_id"] for e in events} == {str(goal_id)}
    assert proof["events_after_digest"] == 0


def test_a_goal_with_events_after_the_digest_is_proved_up_to_it(log: goalflow.Goals) -> None:
    goal_id = UUID(printed(log.goal_index())[0]["goal_id"])
    digest = log.digest()
    log.record_progress(goal_id, by=DR_LEE, measure="GAD-7", value=11)
    proof = log.prove(goal_id, digest)
    assert proof["events_after_digest"] == 1
    assert "1 later event(s)" in proof["note"]
    assert len(proofs.check(proof, digest)) == len(proof["events"])


def test_a_proof_with_one_byte_changed_anywhere_is_refused(log: goalflow.Goals) -> None:
    goal_id = UUID(printed(log.goal_index())[-1]["goal_id"])
    digest = log.digest()
    text = orjson.dumps(log.prove(goal_id, digest))
    accepted = []
    for at in range(0, len(text), 7):
        for replacement in (b"0", b"f"):
            changed = text[:at] + replacement + text[at + 1:]
            if changed == text:
                continue
            try:
                proofs.check(orjson.loads(changed), digest)
            except (orjson.JSONDecodeError, DigestError):
                continue
            accepted.append((at, text[max(0, at - 20):at + 20]))
    assert accepted == []


def test_a_proof_against_a_digest_the_log_does_not_match_is_refused(
        log: goalflow.Goals) -> None:
    goal_id = UUID(printed(log.goal_index())[0]["goal_id"])
    digest = log.digest()
    wrong = Digest(digest.size, "0" * 64, digest.at)
    with pytest.raises(DigestError, match="do not hash to the digest's root"):
        log.prove(goal_id, wrong)
    with pytest.raises(DigestError, match=r"covers \d+ events; the log holds only"):
        log.prove(goal_id, Digest(digest.size + 1, digest.root))
    with pytest.raises(GoalNotFound):
        log.prove(UUID(int=7), digest)


def test_an_older_store_is_chained_on_its_first_writable_open(tmp_path: Path, clock: Any
                                                              ) -> None:
    shutil.copyfile(FIXTURES / "goalflow.sqlite", tmp_path / "old.db")
    url = f"sqlite:///{tmp_path}/old.db"
    with goalflow.open(url, readonly=True) as before, pytest.raises(
            StoreError, match=r"has no chain yet: .* open it once for writing"):
        before.verify()
    heard: list[tuple[int, int]] = []
    with goalflow.open(url, clock=clock,
                       progress=lambda done, total: heard.append((done, total))) as goals:
        rows = stored_rows(goals)
        result = goals.verify()
        assert result.intact
        assert result.root == independent_root(rows)
        assert result.began is not None
        assert (result.began.how, result.began.position) == ("upgraded", rows[-1][0])
        assert heard[-1] == (len(rows), len(rows))
        agreed_anxiety_goal(goals)  # and it goes on being chained as events are recorded
        after = goals.verify()
        assert after.intact
        assert after.size == len(stored_rows(goals)) > len(rows)


def test_digest_json_is_read_strictly() -> None:
    assert Digest.parse('{"size": 3, "root": "' + "A" * 64 + '"}').root == "a" * 64
    for text, problem in (("nope", "is not JSON"), ("[]", "must be a JSON object"),
                          ('{"size": -1, "root": "00"}', "size must be a whole number"),
                          ('{"size": 1, "root": "xyz"}', "root must be 64 hex digits")):
        with pytest.raises(DigestError, match=problem):
            Digest.parse(text)


def test_a_read_only_sqlite_file_is_verified_and_proved_and_left_byte_identical(
        tmp_path: Path, clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "copy"
    folder.mkdir()
    with goalflow.open(f"sqlite:///{folder}/goals.db", clock=clock) as goals:
        goal_id = agreed_anxiety_goal(goals)
    path = folder / "goals.db"
    before = sha256(path.read_bytes()).hexdigest()
    path.chmod(0o444)
    folder.chmod(0o555)
    unwritable_for_root(monkeypatch, folder)
    try:
        with goalflow.open(f"sqlite:///{path}", readonly=True) as goals:
            digest = goals.digest()
            assert goals.verify(digest).intact
            assert proofs.check(goals.prove(goal_id, digest), digest)
        assert sha256(path.read_bytes()).hexdigest() == before
        assert sorted(p.name for p in folder.iterdir()) == ["goals.db"]
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)


def test_a_digest_of_a_chain_missing_a_node_is_refused_naming_verify(log: goalflow.Goals
                                                                     ) -> None:
    sql(log, "DELETE FROM {nodes} WHERE tree_size = 16 AND level = 4")
    with pytest.raises(StoreError, match=r"the chain has no node for subtree 0 at level 4;"
                                         r" run goalflow verify"):
        log.digest()
    assert kinds(log) == {"chain": stored_rows(log)[0][0]}
