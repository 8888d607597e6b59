"""The frontier a recorder keeps between its appends, so that an append need not read the
tree's edge back: kept only once the append's transaction committed, used only while the
stored tree still ends as it says (the same size and last leaf); the log verifies, and its
root is what an auditor computes, whoever appended in between and after an insert that
rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from anxiety_goal import DR_LEE, agreed_anxiety_goal
from eventsourcing.persistence import StoredEvent
from test_integrity import independent_root, stored_rows

import goalflow
from goalflow.integrity import chain


@pytest.fixture
def goals(store_url: str, clock: Any) -> Iterator[goalflow.Goals]:
    opened = goalflow.open(store_url, clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def frontier_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times an append read the tree's frontier from the chain's tables."""
    reads: list[int] = []
    real = chain.StoredNodes.fetch

    def counted(self: chain.StoredNodes, keys: Any) -> None:
        reads.append(1)
        real(self, keys)

    monkeypatch.setattr(chain.StoredNodes, "fetch", counted)
    return reads


def assert_intact(goals: goalflow.Goals) -> None:
    result = goals.verify()
    assert result.intact, [d.message for d in result.damage]
    assert result.root == independent_root(stored_rows(goals))


def test_a_recorder_appending_alone_reads_the_frontier_once(
        goals: goalflow.Goals, frontier_reads: list[int]) -> None:
    for _ in range(6):
        agreed_anxiety_goal(goals)
    assert len(frontier_reads) == 1  # its first append; then the frontier it kept
    frontier = goals.store.recorder.chain_frontier
    assert frontier is not None
    assert frontier.size == len(stored_rows(goals)) == 12
    assert_intact(goals)


def test_writers_taking_turns_on_one_store_read_it_after_each_other(
        store_url: str, clock: Any, frontier_reads: list[int]) -> None:
    first = goalflow.open(store_url, clock=clock)
    second = goalflow.open(store_url, clock=clock)
    try:
        for _ in range(3):
            agreed_anxiety_goal(first)
            agreed_anxiety_goal(second)
        turns = len(frontier_reads)
        assert turns >= 6  # each writer's first append after the other's reads the tables
        agreed_anxiety_goal(second)
        assert len(frontier_reads) == turns  # none appended in between: its own frontier
        assert_intact(first)
    finally:
        first.close()
        second.close()


class Refused(Exception):
    pass


def refuse(tx: Any, notification_ids: Any) -> None:
    raise Refused


def test_an_insert_that_rolled_back_leaves_the_kept_frontier_alone(
        goals: goalflow.Goals, store_url: str, clock: Any) -> None:
    agreed_anxiety_goal(goals)
    recorder = goals.store.recorder
    kept = recorder.chain_frontier
    event = StoredEvent(originator_id=uuid4(), originator_version=1, topic="goalflow:Nothing",
                        state=b"{}")
    with pytest.raises(Refused):  # after its leaf was appended, in the same transaction
        recorder.insert_events([event], writes=[refuse])
    assert recorder.chain_frontier == kept
    other = goalflow.open(store_url, clock=clock)
    try:
        other.record_progress(agreed_anxiety_goal(other), by=DR_LEE, measure="GAD-7",
                              value=12)
    finally:
        other.close()
    agreed_anxiety_goal(goals)
    assert_intact(goals)


def test_a_kept_frontier_is_used_only_while_the_tree_ends_as_it_says(
        goals: goalflow.Goals) -> None:
    agreed_anxiety_goal(goals)
    kept = goals.store.recorder.chain_frontier
    assert kept is not None
    row = (10_000, uuid4(), 1, "goalflow:Nothing", b"{}")

    def appended(known: chain.Frontier | None) -> chain.Frontier | None:
        with goals.store.recorder.transaction(commit=False) as tx:  # rolled back
            return chain.append(tx, [row], known)

    truth = appended(None)
    assert appended(kept) == truth
    bogus = kept._replace(nodes=tuple((key, bytes(32)) for key, _ in kept.nodes))
    assert appended(bogus) != truth  # it matched, so it was used (not read back)
    assert appended(bogus._replace(last_leaf=bytes(32))) == truth
    assert appended(bogus._replace(size=kept.size - 1)) == truth
    assert appended(bogus._replace(size=kept.size + 1)) == truth


@pytest.mark.parametrize("sizes", [(1, 1, 2, 5, 100), (1, 400, 3)],
                         ids=["small-batches", "a-batch-past-one-statement"])
def test_events_appended_in_batches_of_any_size_give_the_root_an_auditor_computes(
        goals: goalflow.Goals, sizes: tuple[int, ...]) -> None:
    recorder = goals.store.recorder
    for count in sizes:  # (PostgreSQL: leaves and nodes in one statement up to 300 rows)
        goal_id = uuid4()
        recorder.insert_events([
            StoredEvent(originator_id=goal_id, originator_version=version,
                        topic="goalflow:Nothing", state=b"{}")
            for version in range(1, count + 1)])
    assert len(stored_rows(goals)) == sum(sizes)
    assert_intact(goals)
