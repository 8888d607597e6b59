"""The Merkle tree's tables, written in the same transaction as the events they cover.

``goalflow_chain_leaves`` holds one row per event, in log order: its leaf index (0, 1,
...), its position and its leaf hash. ``goalflow_chain_nodes`` holds the hash of every
perfect subtree above the leaves, keyed by the tree size at which it was completed and
its level, so that a root or a proof reads O(log n) rows and a check of the whole tree
reads the nodes in the order they were made. ``goalflow_chain`` says when chaining
began: at the store's creation, or when a store written before it was upgraded (its
events up to then were chained at that time, from what they held then).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID

from goalflow.integrity import merkle
from goalflow.integrity.leaves import leaf_input

if TYPE_CHECKING:
    from goalflow.persistence.recorders import Dialect, Tx

LEAVES_TABLE = "goalflow_chain_leaves"
NODES_TABLE = "goalflow_chain_nodes"
CHAIN_TABLE = "goalflow_chain"

Row = tuple[int, Any, int, str, bytes]
"""An event as stored: (position, originator id, originator version, topic, state)."""

Progress = Callable[[int, int], None]


def tables(dialect: Dialect, schema: str) -> list[str]:
    """CREATE statements of the chain's tables."""

    def name(table: str) -> str:
        return f'"{schema}"."{table}"' if schema else f'"{table}"'

    if dialect == "sqlite":
        integer, blob, text, suffix = "INTEGER", "BLOB", "TEXT", " WITHOUT ROWID"
    else:
        integer, blob, text, suffix = "bigint", "bytea", "text", ""
    return [
        f"CREATE TABLE IF NOT EXISTS {name(LEAVES_TABLE)} (leaf_index {integer} PRIMARY KEY,"
        f" position {integer} NOT NULL UNIQUE, hash {blob} NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {name(NODES_TABLE)} (tree_size {integer} NOT NULL,"
        f" level {integer} NOT NULL, hash {blob} NOT NULL, PRIMARY KEY (tree_size, level)"
        f"){suffix}",
        f"CREATE TABLE IF NOT EXISTS {name(CHAIN_TABLE)} (began_position {integer} NOT NULL,"
        f" began_at {text} NOT NULL, how {text} NOT NULL)",
    ]


def node_size(level: int, index: int) -> int:
    """The tree size at which the perfect subtree (level, index) is complete."""
    return (index + 1) << level


class StoredNodes:
    """The perfect subtrees' hashes as a :data:`merkle.Nodes` function, read from the
    chain's tables in the given transaction (fetched in batches, kept once read)."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.known: dict[tuple[int, int], bytes] = {}

    def __call__(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self.known:
            self.fetch([key])
        try:
            return self.known[key]
        except KeyError:
            raise MissingNode(level, index) from None

    def fetch(self, keys: Iterable[tuple[int, int]]) -> None:
        wanted = sorted(set(keys) - set(self.known))
        leaves = [index for level, index in wanted if level == 0]
        nodes = [(node_size(level, index), level) for level, index in wanted if level]
        tx = self.tx
        for start in range(0, len(leaves), 500):
            chunk = leaves[start:start + 500]
            for index, digest in tx.execute(
                    f"SELECT leaf_index, hash FROM {tx.table(LEAVES_TABLE)} WHERE leaf_index"
                    f" IN ({', '.join('?' for _ in chunk)})", chunk).fetchall():
                self.known[(0, index)] = bytes(digest)
        for start in range(0, len(nodes), 250):
            pairs = nodes[start:start + 250]
            where = " OR ".join("(tree_size = ? AND level = ?)" for _ in pairs)
            for size, level, digest in tx.execute(
                    f"SELECT tree_size, level, hash FROM {tx.table(NODES_TABLE)} WHERE {where}",
                    [value for key in pairs for value in key]).fetchall():
                self.known[(level, (size >> level) - 1)] = bytes(digest)

    def prefetch(self, compute: Callable[[merkle.Nodes], object]) -> None:
        """Fetch, in a few queries, every node that ``compute`` will ask for (the proofs'
        arithmetic asks for the same nodes whatever their hashes are)."""
        asked: list[tuple[int, int]] = []

        def record(level: int, index: int) -> bytes:
            asked.append((level, index))
            return bytes(32)

        compute(record)
        self.fetch(asked)


class MissingNode(LookupError):
    """A node the tree should have and the chain's tables do not hold."""

    def __init__(self, level: int, index: int) -> None:
        super().__init__(f"the chain has no {'leaf' if level == 0 else 'node'} for"
                         f" {'leaf' if level == 0 else 'subtree'} {index}"
                         f"{'' if level == 0 else f' at level {level}'}")
        self.level, self.index = level, index


def size(tx: Tx) -> int:
    """How many leaves the tree has."""
    row = tx.execute(f"SELECT MAX(leaf_index) FROM {tx.table(LEAVES_TABLE)}").fetchone()
    return 0 if row is None or row[0] is None else int(row[0]) + 1


class Frontier(NamedTuple):
    """The tree as an appender needs it: its size, its last leaf's hash and the hashes of
    the perfect subtrees it is made of (:func:`merkle.frontier`). A recorder keeps the one
    its last committed append left, so that the next append need not read it back."""

    size: int
    last_leaf: bytes
    nodes: tuple[tuple[tuple[int, int], bytes], ...]  # ((level, index), hash), largest first


Tail = tuple[int, bytes | None]
"""The tree's size and its last leaf's hash (None when empty)."""


def tail(tx: Tx) -> Tail:
    """The tree's :data:`Tail`, in one indexed read."""
    return tail_of(send_tail(tx).fetchone())


def send_tail(tx: Tx) -> Tx:
    """Send the read of the tree's tail (its answer is fetched by :func:`tail_of`): in a
    PostgreSQL pipeline, with the events' insert, under the lock that orders them."""
    return tx.execute(f"SELECT leaf_index, hash FROM {tx.table(LEAVES_TABLE)}"
                      " ORDER BY leaf_index DESC LIMIT 1")


def tail_of(row: Sequence[Any] | None) -> Tail:
    return (0, None) if row is None else (int(row[0]) + 1, bytes(row[1]))


def append(tx: Tx, rows: Sequence[Row], known: Frontier | None = None, *,
           at: Tail | None = None) -> Frontier | None:
    """Add the leaves of newly stored events (in position order) and the subtrees they
    complete, in the events' transaction (under the lock that orders their positions).

    ``known`` is the frontier a previous append returned, once its transaction committed:
    it is used (rather than read from the tables) only while the stored tree still ends as
    it did then, at the same size with the same last leaf; else the frontier is read.
    Returns the frontier after these leaves (None when there were none), for the caller
    to keep if and when this transaction commits. ``at``: the tree's tail, read already in
    this transaction (under the same lock).
    """
    if not rows:
        return None
    start, last = tail(tx) if at is None else at
    frontier: dict[tuple[int, int], bytes]
    if known is not None and known.size == start and known.last_leaf == last:
        frontier = dict(known.nodes)
    else:
        nodes = StoredNodes(tx)
        nodes.fetch(merkle.frontier(start))
        frontier = {key: nodes(*key) for key in merkle.frontier(start)}
    leaf_rows = []
    for offset, (position, goal_id, version, topic, state) in enumerate(rows):
        digest = merkle.leaf_hash(leaf_input(position, as_uuid(goal_id), version, topic,
                                             bytes(state)))
        frontier[(0, start + offset)] = digest
        leaf_rows.append((start + offset, position, digest))
    node_rows = []
    for level, index in merkle.completed(start, len(rows)):
        digest = merkle.node_hash(frontier.pop((level - 1, 2 * index)),
                                  frontier.pop((level - 1, 2 * index + 1)))
        frontier[(level, index)] = digest
        node_rows.append((node_size(level, index), level, digest))
    together = len(leaf_rows) + len(node_rows) <= ONE_STATEMENT
    if tx.dialect == "postgresql" and node_rows and together:
        # Both tables in one statement: one round trip to the server, not two.
        tx.execute(f"WITH leaves AS (INSERT INTO {tx.table(LEAVES_TABLE)} (leaf_index,"
                   f" position, hash) VALUES {_values(len(leaf_rows))}) INSERT INTO"
                   f" {tx.table(NODES_TABLE)} (tree_size, level, hash) VALUES"
                   f" {_values(len(node_rows))}",
                   [value for row in (*leaf_rows, *node_rows) for value in row])
    else:
        tx.executemany(f"INSERT INTO {tx.table(LEAVES_TABLE)} (leaf_index, position, hash)"
                       " VALUES (?, ?, ?)", leaf_rows)
        if node_rows:
            tx.executemany(f"INSERT INTO {tx.table(NODES_TABLE)} (tree_size, level, hash)"
                           " VALUES (?, ?, ?)", node_rows)
    end = start + len(rows)
    return Frontier(end, leaf_rows[-1][2],
                    tuple((key, frontier[key]) for key in merkle.frontier(end)))


ONE_STATEMENT = 300
"""Rows (of three values) up to which PostgreSQL gets an append's leaves and nodes in one
statement: far below its 65,535 parameters."""


def _values(rows: int) -> str:
    return ", ".join("(?, ?, ?)" for _ in range(rows))


def as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def id_bytes(value: Any) -> bytes:
    """A goal id's 16 bytes, as a row holds it: a UUID (PostgreSQL), 32 hex digits (SQLite),
    or any other text a UUID reads (a row rewritten by hand)."""
    if isinstance(value, UUID):
        return value.bytes
    if isinstance(value, str) and len(value) == 32:
        with contextlib.suppress(ValueError):
            found = bytes.fromhex(value)
            if len(found) == 16:  # (fromhex skips spaces)
                return found
    return as_uuid(value).bytes


class Began(NamedTuple):
    """When chaining began: events after ``position`` were chained as they were
    recorded; those up to it (if any) when the store was upgraded, at ``at``."""

    position: int
    at: str
    how: str  # "created" or "upgraded"


def began(tx: Tx) -> Began | None:
    row = tx.execute(f"SELECT began_position, began_at, how FROM {tx.table(CHAIN_TABLE)}"
                     ).fetchone()
    return None if row is None else Began(int(row[0]), str(row[1]), str(row[2]))


def start(tx: Tx, events_table: str, *, progress: Progress | None = None) -> Began:
    """Chain every event already stored (none, for a new store), in this transaction,
    and record when chaining began."""
    position_column = tx.position_column
    table = tx.table(events_table)
    row = tx.execute(f"SELECT COUNT(*), MAX({position_column}) FROM {table}").fetchone()
    total, head = (int(row[0]), int(row[1] or 0)) if row else (0, 0)
    done, after = 0, 0
    while True:
        rows = tx.execute(
            f"SELECT {position_column}, originator_id, originator_version, topic, state"
            f" FROM {table} WHERE {position_column} > ? ORDER BY {position_column} LIMIT ?",
            (after, 2000)).fetchall()
        if not rows:
            break
        append(tx, [(int(r[0]), r[1], int(r[2]), r[3], bytes(r[4])) for r in rows])
        done += len(rows)
        after = int(rows[-1][0])
        if progress:
            progress(done, total)
    record = Began(head, datetime.now(UTC).isoformat(), "upgraded" if total else "created")
    tx.execute(f"INSERT INTO {tx.table(CHAIN_TABLE)} (began_position, began_at, how)"
               " VALUES (?, ?, ?)", record)
    return record
