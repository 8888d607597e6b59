"""goalflow on a real PostgreSQL hot standby (streaming replication), through the API.

The primary takes the writes; the replica opens read-only whatever it is asked, reads as
the primary does, refuses every write in one line, and waits for a position a command
returned (read-your-writes), saying how far behind it is when it cannot reach it in time.
Replay is paused on the replica (``pg_wal_replay_pause``) to make it lag for real.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from standby import Replicated

import goalflow
from goalflow import Actor, Measure, Subject
from goalflow import demo as demo_scenario
from goalflow.errors import InvalidCommand, ReadOnlyReplica, ReplicaBehind, StoreError

CLINICIAN = Actor("dr-okafor", "clinician")
CLIENT = Actor("client-7", "client")
DEMO_GOAL = demo_scenario.DEMO_GOAL_ID
TODAY = date.today()
NOW = datetime.now(UTC)


def clock() -> datetime:
    return NOW


@pytest.fixture
def clinic(replicated: Replicated) -> Iterator[tuple[goalflow.Goals, goalflow.Goals]]:
    """The demo scenario recorded on the primary; the store on the primary and on the
    replica, both read with the same clock."""
    demo_scenario.run(replicated.primary, TODAY).close()
    primary = goalflow.open(replicated.primary, clock=clock)
    replica = replicated.open_replica(clock=clock)
    yield primary, replica
    replica.close()
    primary.close()


def active_goal(goals: goalflow.Goals) -> UUID:
    """A second client's goal, drafted and agreed: active, at version 2."""
    goal_id = goals.draft(
        Subject.client("client-9"), "By the end of next month I sleep through the night five"
        " nights a week, measured by my sleep diary", by=CLINICIAN,
        target_date=TODAY + timedelta(days=30), measures=[Measure("ISI", baseline=18, target=8)],
        steps=["No screens after ten"], strengths=["keeps a diary"], addresses=["insomnia"],
        client_words="I want to wake up rested")
    goals.agree(goal_id, by=Actor("client-9", "client"), terms_version=1, method="signature")
    return goal_id


def draft(n: int) -> tuple[str, dict[str, Any]]:
    return ("draft", {"subject": Subject.client(f"client-{n}"), "statement": "Sleep better",
                      "by": CLINICIAN})


def head(goals: goalflow.Goals) -> int:
    with goals.store.recorder.transaction(commit=False) as tx:
        return goals.store.head(tx)


def test_a_standby_opens_as_a_read_only_replica_whatever_was_asked(
        replicated: Replicated) -> None:
    with goalflow.open(replicated.primary) as primary:
        primary.draft(Subject.client("client-7"), "Sleep better", by=CLINICIAN)
        assert not primary.store.replica
        assert not primary.store.readonly
    for readonly in (False, True):
        with replicated.open_replica(readonly=readonly) as replica:
            assert replica.store.replica
            assert replica.store.readonly
            assert replica.replay() is not None


def test_every_read_on_the_replica_gives_what_the_primary_gives(
        clinic: tuple[goalflow.Goals, goalflow.Goals]) -> None:
    primary, replica = clinic
    reads: list[Callable[[goalflow.Goals], Any]] = [
        lambda g: g.get(DEMO_GOAL).to_dict(),
        lambda g: g.get(DEMO_GOAL, version=4).to_dict(),
        lambda g: g.get(DEMO_GOAL, as_of=datetime.combine(TODAY - timedelta(days=35),
                                                           datetime.min.time(), UTC)).to_dict(),
        lambda g: g.history(DEMO_GOAL),
        lambda g: g.plan("client-7", include_closed=True),
        lambda g: g.audit(DEMO_GOAL),
        lambda g: g.audit(actor="client-7"),
        lambda g: g.reviews(as_of=TODAY),
        lambda g: g.goal_index(),
        lambda g: g.outcomes("client-7"),
        lambda g: g.service_outcomes(),
        lambda g: g.timezone,
        lambda g: g.digest(),
        lambda g: g.verify(g.digest()).as_json(),
        lambda g: g.prove(DEMO_GOAL, g.digest()),
        lambda g: g.fhir(DEMO_GOAL),
        lambda g: g.fhir_history(DEMO_GOAL, release="R4B"),
        lambda g: g.fhir_subject("client-7", include_closed=True),
        lambda g: g.report(DEMO_GOAL).replace(str(g.store.url), "the store"),
        lambda g: list(g.subscribe(idle=0.2)),
        lambda g: g.projections.status(),
    ]
    for index, read in enumerate(reads):
        assert read(replica) == read(primary), f"read {index}"
    assert len(primary.history(DEMO_GOAL)) == 15


def test_every_write_on_the_replica_is_refused_in_one_line_and_nothing_is_written(
        clinic: tuple[goalflow.Goals, goalflow.Goals], replicated: Replicated) -> None:
    primary, replica = clinic
    before = head(primary)
    writes: list[Callable[[], Any]] = [
        lambda: replica.draft(Subject.client("client-9"), "Sleep better", by=CLINICIAN),
        lambda: replica.hold(DEMO_GOAL, by=CLINICIAN, reason="away"),
        lambda: replica.execute("hold", goal_id=DEMO_GOAL, by=CLINICIAN, reason="away"),
        lambda: list(replica.execute_many([("hold", {"goal_id": DEMO_GOAL, "by": CLINICIAN,
                                                     "reason": "away"})])),
        lambda: replica.batch().add("hold", goal_id=DEMO_GOAL, by=CLINICIAN, reason="away"),
        lambda: replica.set_timezone("Europe/London"),
        lambda: replica.projections.rebuild("audit"),
        lambda: replica.projections.set_mode("audit", "worker"),
        lambda: replica.projections.run(["audit"], stop=lambda: True),
        lambda: replica.projections.catch_up("audit"),
    ]
    for index, write in enumerate(writes):
        with pytest.raises(ReadOnlyReplica) as refused:
            write()
        message = str(refused.value)
        assert "\n" not in message, index
        assert f"store {replica.store.url} is a read-only replica" in message, index
        assert "send writes to the primary" in message, index
    with goalflow.open(replicated.primary) as again:  # (nothing kept in memory)
        assert head(again) == before
        assert again.get(DEMO_GOAL).version == 15


def test_a_write_on_the_replica_is_refused_before_the_store_is_touched(
        replicated: Replicated) -> None:
    # (isinstance: the refusal is a StoreError too, for callers that catch those.)
    with goalflow.open(replicated.primary):
        pass
    with replicated.open_replica() as replica, \
            pytest.raises(StoreError, match=r"read-only replica .*: draft refused;"):
        replica.draft(Subject.client("client-9"), "Sleep better", by=CLINICIAN)


def test_a_read_at_a_command_s_position_waits_for_the_replica_to_replay_it(
        clinic: tuple[goalflow.Goals, goalflow.Goals], replicated: Replicated) -> None:
    primary, replica = clinic
    servers = replicated.servers
    goal_id = active_goal(primary)
    servers.caught_up()
    servers.pause_replay()
    try:
        outcome = primary.execute("hold", goal_id=goal_id, by=CLINICIAN,
                                  reason="Client travelling for two weeks")
        # Not replayed yet: the replica still shows the goal as it was.
        assert replica.get(goal_id).status == "active"
        resume = threading.Timer(0.5, servers.resume_replay)
        resume.start()
        goal = replica.get(goal_id, min_position=outcome.position, timeout=30)
        resume.join()
    finally:
        servers.resume_replay()
    assert (goal.version, goal.status) == (outcome.version, "on-hold") == (3, "on-hold")
    # ... and the read models were written in the command's transaction: there too.
    assert {g.goal_id: g.status for g in replica.goal_index()}[goal_id] == "on-hold"


def test_a_replica_that_cannot_reach_a_position_in_time_says_how_far_behind_it_is(
        clinic: tuple[goalflow.Goals, goalflow.Goals], replicated: Replicated) -> None:
    primary, replica = clinic
    replayed = head(replica)
    replicated.servers.pause_replay()
    try:
        outcomes = list(primary.execute_many([draft(n) for n in (11, 12, 13)]))
        with pytest.raises(ReplicaBehind) as behind:
            replica.get(outcomes[0].goal_id, min_position=outcomes[-1].position, timeout=0.3)
        status = replica.replay(primary)
    finally:
        replicated.servers.resume_replay()
    error = behind.value
    wanted = outcomes[-1].position
    assert (error.position, error.replayed) == (wanted, replayed)
    assert error.waited >= 0.3
    assert isinstance(error, TimeoutError)
    assert str(error).startswith(
        f"replica {replica.store.url} has replayed the log up to position {replayed},"
        f" {wanted - replayed} short of position {wanted}, after waiting 0.3 s (replay lag ")
    assert "\n" not in str(error)
    # How far behind, as `goalflow projections status` says it.
    assert status is not None
    assert (status.position, status.primary_head, status.events_behind) == \
        (replayed, wanted, 3)
    assert status.behind_seconds is not None
    assert status.behind_seconds >= 0
    assert status.wal_bytes_behind > 0  # received, not replayed
    # Resumed, it catches up; the same read then succeeds, and nothing is behind.
    assert replica.wait_for_position(wanted, timeout=30) >= wanted
    caught_up = replica.replay(primary)
    assert caught_up is not None
    assert (caught_up.position, caught_up.events_behind, caught_up.behind_seconds) == \
        (wanted, 0, 0.0)


def test_the_primary_is_not_a_replica_and_holds_its_own_positions(
        clinic: tuple[goalflow.Goals, goalflow.Goals]) -> None:
    primary, _ = clinic
    assert primary.replay() is None
    assert primary.wait_for_position(head(primary), timeout=0) == head(primary)


def test_a_replica_follows_the_log_by_polling(clinic: tuple[goalflow.Goals, goalflow.Goals],
                                              replicated: Replicated) -> None:
    # A standby cannot LISTEN: subscribe looks again every `poll` seconds instead.
    primary, replica = clinic
    start = head(replica)
    delivered: list[int] = []

    def follow() -> None:
        for delivery in replica.subscribe(after=start, poll=0.05, idle=5):
            delivered.append(delivery.position)
            return

    follower = threading.Thread(target=follow)
    follower.start()
    outcome = primary.execute(*draft(9)[:1], **draft(9)[1])
    follower.join(timeout=30)
    assert delivered == [outcome.position]


BAD_WAITS: list[tuple[dict[str, Any], str]] = [
    ({"min_position": -1}, "min_position"), ({"min_position": "7"}, "min_position"),
    ({"min_position": True}, "min_position"), ({"min_position": 1, "timeout": -1}, "timeout"),
    ({"min_position": 1, "timeout": float("nan")}, "timeout"),
    ({"min_position": 1, "timeout": "5"}, "timeout"),
    ({"min_position": 1, "timeout": 10**6}, "timeout"),
]


def test_a_bad_position_or_timeout_is_refused_by_name(
        clinic: tuple[goalflow.Goals, goalflow.Goals]) -> None:
    _, replica = clinic
    for options, field in BAD_WAITS:
        with pytest.raises(InvalidCommand) as refused:
            replica.get(DEMO_GOAL, **options)
        assert refused.value.field == field, options
        assert str(refused.value).startswith(f"{field} must be "), options


def test_an_encrypted_store_reads_on_the_replica_and_refuses_its_writes_there(
        replicated: Replicated) -> None:
    key = os.urandom(32)
    with goalflow.open(replicated.primary, master_key=key) as primary:
        goal_id = active_goal(primary)
        shown = primary.get(goal_id).to_dict()
    with replicated.open_replica(master_key=key) as replica:
        assert replica.store.encrypted
        assert replica.get(goal_id).to_dict() == shown
        assert replica.retention_holds() == []
        for write in (
            lambda: replica.forget("client-9", by=Actor("dr-achebe", "supervisor"),
                                   reason="Retention period ended"),
            lambda: replica.hold_retention("client-9", until=TODAY + timedelta(days=9),
                                           by=CLINICIAN, reason="Complaint open"),
            lambda: replica.release_retention("client-9", by=CLINICIAN, reason="Closed"),
            lambda: replica.rotate_master_key(os.urandom(32)),
        ):
            with pytest.raises(ReadOnlyReplica, match=r"^store .* is a read-only replica"):
                write()
    with goalflow.open(replicated.primary, master_key=key) as primary:
        assert primary.get(goal_id).to_dict() == shown
