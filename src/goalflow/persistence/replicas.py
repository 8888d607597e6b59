"""Read replicas: PostgreSQL hot standbys that replay the primary's log, and reading at a
log position (read-your-writes).

A hot standby (streaming replication) replays the primary's WAL: goalflow's tables, events
and read models arrive there as the primary committed them, and nothing can be written
there. goalflow opens such a store read-only whatever it was asked (``pg_is_in_recovery()``
says which it is), refuses writes with :class:`~goalflow.errors.ReadOnlyReplica`, and
reads as on the primary.

A replica has replayed every event up to position P once its log holds P: the primary
gives events their positions in commit order (under the events table's lock), and a
standby replays commits in that order, so a position reached means every one before it
is there too, with the read-model rows written in the same transactions.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any

import attrs

from goalflow.errors import ReplicaBehind, UnreadableEvent
from goalflow.persistence.recorders import Tx

WAIT_TIMEOUT = 5.0
"""Seconds a read waits by default for a replica to reach the position it asks for."""

MAX_WAIT = 3600
"""The longest wait for a position a read takes, in seconds."""

_FIRST_PAUSE = 0.005
_LONGEST_PAUSE = 0.1


def in_recovery(conn: Any) -> bool:
    """Whether the PostgreSQL server of the (psycopg) connection is a standby."""
    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    return bool(row and row[0])


@attrs.frozen
class Replay:
    """How far a replica has replayed its primary's log.

    ``position``: the last event replayed (the replica's head). ``lag_seconds``: how long
    ago the primary committed the last transaction replayed, if WAL received since is not
    yet replayed (0 when all received is replayed; None when nothing was replayed since the
    replica started and some is pending). ``last_replayed_at``: that commit's time, on the
    primary's clock. ``wal_bytes_behind``: WAL received but not yet replayed. These are
    PostgreSQL's own measures, of the whole cluster's WAL: another database's writes count
    too, and a record that is not a transaction (a checkpoint's) can show, for a moment, a
    lag as old as the last transaction.

    When the primary was asked: ``primary_head``, its head; ``events_behind``, how many
    events it holds after ``position``; ``behind_seconds``, how long ago it recorded the
    oldest of them (0 when there is none): goalflow's own log, exactly.
    """

    position: int
    lag_seconds: float | None
    last_replayed_at: datetime | None
    wal_bytes_behind: int
    primary_head: int | None = None
    events_behind: int | None = None
    behind_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"position": self.position, "lag_seconds": self.lag_seconds,
                "last_replayed_at": (None if self.last_replayed_at is None
                                     else self.last_replayed_at.isoformat()),
                "wal_bytes_behind": self.wal_bytes_behind,
                "primary_head": self.primary_head, "events_behind": self.events_behind,
                "behind_seconds": self.behind_seconds}

    def describe(self) -> str:
        """One line: how far behind the replica is."""
        behind = ""
        if self.events_behind == 0:
            behind = f", as far as the primary (at {self.primary_head})"
        elif self.events_behind is not None:
            behind = (f", {self.events_behind} event{'s' if self.events_behind > 1 else ''}"
                      f" behind the primary (at {self.primary_head}; the oldest of them"
                      f" recorded {_age(self.behind_seconds)} ago)")
        return (f"replica: replayed up to position {self.position}{behind}; replay lag"
                f" {_age(self.lag_seconds)} ({self.wal_bytes_behind} bytes of WAL received,"
                " not yet replayed)")


def replay(tx: Tx, head: int) -> Replay:
    """The replica's replay state, read in ``tx`` (whose log holds up to ``head``)."""
    row = tx.execute(
        "SELECT pg_last_xact_replay_timestamp(),"
        " COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0),"
        " CASE WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0"
        " ELSE EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) END"
    ).fetchone()
    assert row is not None
    replayed_at, pending, lag = row
    return Replay(head, None if lag is None else max(float(lag), 0.0), replayed_at,
                  max(int(pending), 0))


def wait_for_position(store: Any, position: int, timeout: float) -> int:
    """Return the store's head once it holds ``position``; after ``timeout`` seconds,
    raise :class:`ReplicaBehind` saying how far behind the store is."""
    start = time.monotonic()
    deadline = start + timeout
    pause = _FIRST_PAUSE
    while True:
        with store.recorder.transaction(commit=False) as tx:
            head = int(store.head(tx))
            lag = replay(tx, head) if store.replica and head < position else None
        if head >= position:
            return head
        now = time.monotonic()
        if now >= deadline:
            raise _behind(store, position, head, now - start, lag)
        time.sleep(min(pause, deadline - now))
        pause = min(pause * 2, _LONGEST_PAUSE)


def _behind(store: Any, position: int, head: int, waited: float, lag: Replay | None
            ) -> ReplicaBehind:
    if lag is None:
        message = (f"store {store.url} holds the log up to position {head}, not {position}"
                   f" (waited {_seconds(waited)} s): {position} is not a position it recorded")
    else:
        seconds = "unknown" if lag.lag_seconds is None else f"{lag.lag_seconds:.1f} s"
        message = (f"replica {store.url} has replayed the log up to position {head}, "
                   f"{position - head} short of position {position}, after waiting"
                   f" {_seconds(waited)} s (replay lag {seconds})")
    return ReplicaBehind(message, position=position, replayed=head, waited=waited)


def _seconds(value: float) -> str:
    return f"{math.floor(value * 10) / 10:g}"


def against_primary(replayed: Replay, primary: Any, now: datetime) -> Replay:
    """``replayed`` with the primary's head, how many of its events the replica has yet to
    replay, and how long before ``now`` it recorded the oldest of them (``primary`` is the
    primary's store, opened read-only)."""
    with primary.recorder.transaction(commit=False) as tx:
        head = int(primary.head(tx))
        row = tx.execute(f"SELECT COUNT(*) FROM {tx.table(primary.events_table)}"
                         f" WHERE {tx.position_column} > ?", (replayed.position,)).fetchone()
        oldest = primary.notifications(tx, after=replayed.position, limit=1)
    seconds: float | None = 0.0
    if oldest:
        try:
            seconds = max((now - primary.decode(oldest[0]).timestamp).total_seconds(), 0.0)
        except UnreadableEvent:  # (an event this goalflow cannot read: its age is unknown)
            seconds = None
    return attrs.evolve(replayed, primary_head=head, events_behind=int(row[0]) if row else 0,
                        behind_seconds=seconds)


def _age(seconds: float | None) -> str:
    return "unknown" if seconds is None else f"{seconds:.1f} s"
