"""Racing writers and killed processes lose nothing and duplicate nothing (quick form).

The same trials run for minutes with larger counts in ``scripts/stress``.
"""

from __future__ import annotations

import threading
from pathlib import Path

import harness
import pytest

import goalflow


def test_racing_writer_processes_lose_nothing_and_duplicate_nothing(store_url: str) -> None:
    tally = harness.race(store_url, writers=4, goals=3, commands=40, seed=11)

    findings = harness.audit(store_url, tally)
    assert findings.clean, findings
    assert findings.events == len(tally.accepted)
    assert tally.attempted == 3 * 2 + 4 * 40
    # The lifecycle refused some (a step the goal never had, if nothing else), and only
    # commands that gave expected_version ever saw a conflict.
    assert {"InvalidTransition", "InvalidCommand"} & set(tally.refused.values())
    assert tally.surfaced_without_expected_version == 0
    # Racing writers chained their events in position order, each once.
    with goalflow.open(store_url, readonly=True) as goals:
        verified = goals.verify()
    assert verified.intact, verified.damage
    assert verified.size == findings.events


def test_a_follower_racing_the_writers_sees_every_event_once_in_position_order(
        store_url: str) -> None:
    # The ordering guarantee a read model in worker mode (or any subscriber) relies on:
    # reading on from the last position it saw never skips an event. Were positions
    # committed out of their order (a later position visible before an earlier one), the
    # follower, resuming after the later one, would never see the earlier: the comparison
    # with the whole log below would find it missing.
    with goalflow.open(store_url):
        pass  # the tables, before follower and writers race
    seen: list[int] = []
    done = threading.Event()

    def follow() -> None:
        with goalflow.open(store_url, readonly=True) as reader:
            while True:
                stopping = done.is_set()
                for delivery in reader.subscribe(after=seen[-1] if seen else 0, poll=0.01,
                                                 idle=0.05):
                    seen.append(delivery.position)
                if stopping:  # a last pass after the writers ended
                    return

    follower = threading.Thread(target=follow)
    follower.start()
    try:
        harness.race(store_url, writers=4, goals=3, commands=40, seed=13)
        during = len(seen)  # what it saw while they wrote
    finally:
        done.set()
        follower.join(timeout=60)
    assert not follower.is_alive()

    with goalflow.open(store_url, readonly=True) as goals:
        logged = [n.id for n in goals.store.scan()]
    assert len(logged) > 4 * 10
    assert during >= len(logged) // 2  # it followed the race, not only caught up after
    assert seen == sorted(set(seen))  # each once, in order
    assert seen == logged  # none missed


def test_a_killed_apply_leaves_whole_commands_and_a_rerun_records_nothing_twice(
    store_url: str, tmp_path: Path
) -> None:
    tally, sequence = harness.crash_apply(store_url, goals=4, commands=300, kills=3, seed=5,
                                          workdir=tmp_path)

    assert tally.kills == 3
    findings = harness.audit(store_url, tally)
    assert findings.clean, findings
    assert findings.events == len(sequence)
    assert harness.same_log_as(store_url, sequence) == []
    # Every event that survived the kills has its leaf, and no leaf lacks its event.
    with goalflow.open(store_url, readonly=True) as goals:
        verified = goals.verify()
    assert verified.intact, verified.damage
    assert verified.size == len(sequence)


def test_killed_projection_workers_and_rebuilds_leave_read_models_equal_to_a_rebuild(
    store_url: str,
) -> None:
    sequence = harness.valid_sequence(goals=6, commands=1_500, seed=8)
    tally = harness.crash_projections(store_url, sequence, kills=3, seed=8)

    assert tally.kills == 2 * 3  # three of the worker, three of a rebuild
    findings = harness.audit(store_url, tally)
    assert findings.clean, findings
    with goalflow.open(store_url) as goals:
        assert {t.mode for t in goals.projections.tracking().values()} == {"inline"}


@pytest.mark.parametrize("damage", ["lost", "duplicate", "refused", "read model"])
def test_the_audit_finds_each_kind_of_damage(store_url: str, damage: str) -> None:
    # The audit must be able to fail: damage a clean store behind goalflow's back.
    sequence = harness.valid_sequence(goals=2, commands=30, seed=3)
    tally = harness.Tally()
    with goalflow.open(store_url) as goals:
        for command in sequence:
            tally.accept(command["command_id"], harness.execute(goals, command))
        assert harness.audit(store_url, tally).clean
        last = sequence[-1]
        if damage == "lost":
            tally.accepted["phantom"] = (last["goal_id"], 999, "ProgressRecorded")
        elif damage == "duplicate":
            del tally.accepted[last["command_id"]]
        elif damage == "refused":
            tally.refused[last["command_id"]] = "InvalidTransition"
        else:
            generation = goals.projections.tracking()["audit"].generation
            with goals.store.recorder.transaction(commit=True) as tx:
                tx.execute(f"DELETE FROM {tx.table(f'gf_audit_entries__g{generation}')}")
    findings = harness.audit(store_url, tally)
    assert not findings.clean
    assert {"lost": findings.lost, "duplicate": findings.duplicates,
            "refused": findings.refused_recorded,
            "read model": findings.projection_mismatches}[damage] >= 1
