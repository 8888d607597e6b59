"""Verifying a store's log against its Merkle tree, streaming: flat memory at any size.

Every leaf is recomputed from the event row as stored and compared with the chain's
leaf; every stored node with the hash of its stored children; the root is recomputed
from the events alone. What differs is named by kind, each with the first position it
affects. With a digest kept outside the system, the log is also proved (RFC 9162
consistency proof) to begin with the events that were digested: that catches a rewrite
that recomputed every hash, which no check inside the store can.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs

from goalflow.integrity import chain, merkle
from goalflow.integrity.digest import Digest
from goalflow.integrity.leaves import leaf_input_of

KINDS = {
    "changed": "an event's stored bytes changed",
    "deleted": "an event was deleted (its leaf has no event)",
    "inserted": "an event was added without a leaf",
    "reordered": "events were moved between positions",
    "chain": "a leaf or node of the chain itself changed or is missing",
    "truncated": "events the digest covered are gone from the end of the log",
    "rewritten": "the log no longer begins with the events that were digested",
}
"""The kinds of damage verification names, in words."""

PAGE = 5000
_SUSPECTS = 200  # changed events kept to look for moves among them


@attrs.define
class Damage:
    """One kind of damage found: the first position it affects and how many it does."""

    kind: str
    position: int | None  # None where no one position can be named (a rewrite)
    count: int = 1
    detail: str = ""

    @property
    def message(self) -> str:
        more = f" (and {self.count - 1} more)" if self.count > 1 else ""
        detail = f": {self.detail}" if self.detail else ""
        where = "" if self.position is None else f", first at position {self.position}"
        return f"{KINDS[self.kind]}{where}{more}{detail}"


@attrs.frozen
class Verification:
    """What :func:`verify` found."""

    size: int
    root: str
    head: int
    began: chain.Began | None
    damage: tuple[Damage, ...]
    digest: Digest | None = None

    @property
    def intact(self) -> bool:
        return not self.damage

    def as_json(self) -> dict[str, Any]:
        return {
            "intact": self.intact, "size": self.size, "root": self.root,
            "last_position": self.head,
            "chain_began": None if self.began is None else self.began._asdict(),
            "digest": None if self.digest is None else self.digest.as_json(),
            "damage": [{"kind": d.kind, "position": d.position, "count": d.count,
                        "message": d.message} for d in self.damage],
        }


class _Tree:
    """The tree recomputed from the events, and the stored tree checked node by node,
    each keeping only the last two subtrees of each level."""

    def __init__(self) -> None:
        self.true: list[dict[int, bytes]] = [{}]
        self.stored: list[dict[int, bytes | None]] = [{}]
        self.first: list[dict[int, int]] = [{}]  # the position of each subtree's first leaf

    @staticmethod
    def _keep(levels: list[Any], level: int, index: int, value: Any) -> None:
        while len(levels) <= level:
            levels.append({})
        row = levels[level]
        row[index] = value
        row.pop(index - 2, None)

    def leaf(self, index: int, position: int, true: bytes, stored: bytes) -> None:
        # _keep at level 0, written out: it runs for every event of the log
        trues, stores, firsts = self.true[0], self.stored[0], self.first[0]
        trues[index], stores[index], firsts[index] = true, stored, position
        trues.pop(index - 2, None)
        stores.pop(index - 2, None)
        firsts.pop(index - 2, None)

    def node(self, level: int, index: int, stored: bytes | None) -> tuple[bytes, bytes | None]:
        """Record a completed subtree; returns (its true hash, its stored children's)."""
        true_left = self.true[level - 1][2 * index]
        true_right = self.true[level - 1][2 * index + 1]
        true = merkle.node_hash(true_left, true_right)
        left = self.stored[level - 1].get(2 * index)
        right = self.stored[level - 1].get(2 * index + 1)
        if left == true_left and right == true_right:
            children: bytes | None = true  # the same children: no need to hash them again
        else:
            children = None if left is None or right is None else merkle.node_hash(left, right)
        self._keep(self.true, level, index, true)
        self._keep(self.stored, level, index, stored)
        self._keep(self.first, level, index, self.first[level - 1][2 * index])
        return true, children

    def root(self, size: int) -> bytes:
        """The true root at ``size`` (the tree's size now)."""
        result: bytes | None = None
        for level, index in reversed(merkle.frontier(size)):
            h = self.true[level][index]
            result = h if result is None else merkle.node_hash(h, result)
        return merkle.EMPTY_ROOT if result is None else result


def _rows(store: Any, which: str, bound: int) -> Iterator[tuple[Any, ...]]:
    """The events (to position ``bound``), leaves (to index ``bound``) or nodes (to tree
    size ``bound``) in the order they were written, read a page per transaction."""
    after = -1 if which == "leaves" else 0
    while after < bound:
        with store.recorder.transaction(commit=False) as tx:
            if which == "events":
                pos = tx.position_column
                rows = tx.execute(
                    f"SELECT {pos}, originator_id, originator_version, topic, state FROM"
                    f" {tx.table(store.events_table)} WHERE {pos} > ? AND {pos} <= ?"
                    f" ORDER BY {pos} LIMIT ?", (after, bound, PAGE), binary=True).fetchall()
            elif which == "leaves":
                rows = tx.execute(
                    f"SELECT leaf_index, position, hash FROM {tx.table(chain.LEAVES_TABLE)}"
                    " WHERE leaf_index > ? AND leaf_index <= ? ORDER BY leaf_index LIMIT ?",
                    (after, bound, PAGE), binary=True).fetchall()
            else:  # a range of tree sizes a page: one size has several nodes
                upto = min(after + PAGE, bound)
                rows = tx.execute(
                    f"SELECT tree_size, level, hash FROM {tx.table(chain.NODES_TABLE)}"
                    " WHERE tree_size > ? AND tree_size <= ? ORDER BY tree_size, level",
                    (after, upto), binary=True).fetchall()
                yield from rows
                after = upto
                continue
        if not rows:
            return
        yield from rows
        after = rows[-1][0]


def _leaf_input(row: tuple[Any, ...]) -> bytes:
    position, goal_id, version, topic, state = row
    # A state rewritten as text (SQLite lets a raw UPDATE do that) is hashed as its bytes.
    data = state.encode() if isinstance(state, str) else bytes(state)
    return leaf_input_of(position, chain.id_bytes(goal_id), version, topic, data)


def verify(store: Any, digest: Digest | None = None, *, progress: chain.Progress | None = None
           ) -> Verification:
    """Check the whole log against its chain (and, given one, a kept digest)."""
    with store.recorder.transaction(commit=False) as tx:
        began = chain.began(tx)
        pos = tx.position_column
        # One statement, so one snapshot: every event up to head has its leaf below size.
        row = tx.execute(
            f"SELECT (SELECT MAX(leaf_index) FROM {tx.table(chain.LEAVES_TABLE)}) AS leaves,"
            f" (SELECT MAX({pos}) FROM {tx.table(store.events_table)}) AS head").fetchone()
    size = 0 if row[0] is None else int(row[0]) + 1
    head = int(row[1] or 0)
    found: dict[str, Damage] = {}

    def damage(kind: str, position: int | None, detail: str = "") -> None:
        if kind in found:
            found[kind].count += 1
        else:
            found[kind] = Damage(kind, position, detail=detail)

    event_rows = _rows(store, "events", head)
    leaf_rows = _rows(store, "leaves", size - 1)
    node_rows = _rows(store, "nodes", size)
    tree = _Tree()
    suspects: list[tuple[int, tuple[Any, ...], bytes]] = []  # changed: (index, row, leaf)
    pending: dict[int, tuple[int, tuple[Any, ...]]] = {}  # leaf index -> its mismatch
    digest_root: bytes | None = None
    next_node = next(node_rows, None)
    event = next(event_rows, None)
    last_leaf_position = 0
    for done, (index, position, stored_hash) in enumerate(leaf_rows, 1):
        stored = bytes(stored_hash)
        if position <= last_leaf_position:
            damage("chain", position, "the chain's leaves are out of position order")
        last_leaf_position = position
        while event is not None and event[0] < position:
            damage("inserted", event[0])
            event = next(event_rows, None)
        if event is not None and event[0] == position:
            true = merkle.leaf_hash(_leaf_input(event))
            if true != stored:
                pending[index] = (position, event)
            event = next(event_rows, None)
        else:
            damage("deleted", position)
            true = stored  # nothing to recompute it from: the rest can still be checked
        tree.leaf(index, position, true, stored)
        end = index + 1
        level = 1
        while end % (1 << level) == 0:
            node_index = (end >> level) - 1
            while next_node is not None and (next_node[0], next_node[1]) < (end, level):
                damage("chain", position, "a node the tree has no place for")
                next_node = next(node_rows, None)
            node_hash = None
            if next_node is not None and (next_node[0], next_node[1]) == (end, level):
                node_hash = bytes(next_node[2])
                next_node = next(node_rows, None)
            true_node, children = tree.node(level, node_index, node_hash)
            first = tree.first[level][node_index]
            if level == 1:
                for child in (2 * node_index, 2 * node_index + 1):
                    if child in pending:
                        child_position, row = pending.pop(child)
                        if node_hash is not None and node_hash == children:
                            damage("changed", child_position)  # the chain holds the old bytes
                            if len(suspects) < _SUSPECTS:
                                suspects.append((child, row, tree.stored[0][child] or b""))
                        else:
                            damage("chain", child_position, "a leaf hash was changed")
                if node_hash is None:
                    damage("chain", first, "a node is missing")
                elif node_hash != children and node_hash != true_node:
                    damage("chain", first, "a node was changed")
            elif node_hash is None:
                damage("chain", first, "a node is missing")
            elif node_hash != children:
                damage("chain", first, "a node was changed")
            level += 1
        if digest is not None and done == digest.size:
            digest_root = tree.root(done)
        if progress and done % PAGE == 0:
            progress(done, size)
    for child, (child_position, row) in pending.items():  # the last leaf, on its own
        damage("changed", child_position)
        if len(suspects) < _SUSPECTS:
            suspects.append((child, row, tree.stored[0].get(child) or b""))
    while event is not None:
        damage("inserted", event[0])
        event = next(event_rows, None)
    while next_node is not None:
        damage("chain", last_leaf_position, "a node beyond the tree's size")
        next_node = next(node_rows, None)
    _find_moves(suspects, found)
    root = tree.root(size) if size else merkle.EMPTY_ROOT
    if digest is not None:
        _check_digest(store, digest, size, root, digest_root, head, damage)
    if progress:
        progress(size, size)
    return Verification(size, root.hex(), head, began, tuple(found.values()), digest)


def _find_moves(suspects: list[tuple[int, tuple[Any, ...], bytes]],
                found: dict[str, Damage]) -> None:
    """Among changed events, those whose bytes are another changed event's: moved.

    An event's leaf covers its position, so an event moved to another row (or two rows'
    states swapped) shows as two changed events; the bytes now at one position hash, with
    the other position's identity, to the other's leaf.
    """
    moved: set[int] = set()
    for _, row, _ in suspects:
        for _, other_row, other_leaf in suspects:
            if other_row is row:
                continue
            position, goal_id, version, topic, _ = other_row
            state = row[4]
            candidates = (
                (position, goal_id, version, topic, state),  # the state moved
                (position, *row[1:]),  # the whole event moved
            )
            if any(merkle.leaf_hash(_leaf_input(c)) == other_leaf for c in candidates):
                moved.update((row[0], position))
    if not moved:
        return
    changed = found["changed"]
    found["reordered"] = Damage("reordered", min(moved), len(moved))
    changed.count -= len(moved)
    if changed.count <= 0:
        del found["changed"]
    else:
        first_unmoved = [row[0] for _, row, _ in suspects if row[0] not in moved]
        if first_unmoved:
            changed.position = min(first_unmoved)


def _check_digest(store: Any, digest: Digest, size: int, root: bytes,
                  digest_root: bytes | None, head: int,
                  damage: Callable[..., None]) -> None:
    """That the log begins with the events digested: the tree recomputed at the
    digest's size has its root, and the stored tree proves it extends to today's."""
    if digest.size > size:
        damage("truncated", head + 1, f"the digest covered {digest.size} events, the log"
               f" holds {size}")
        return
    if digest.size == 0:
        return
    if digest_root != digest.root_bytes:
        damage("rewritten", None, f"the first {digest.size} events do not hash to the"
               " digest's root")
        return
    with store.recorder.transaction(commit=False) as tx:
        nodes = chain.StoredNodes(tx)
        try:
            nodes.prefetch(lambda n: merkle.consistency_proof(digest.size, size, n))
            proof = merkle.consistency_proof(digest.size, size, nodes)
            merkle.verify_consistency(digest.size, size, digest.root_bytes, root, proof)
        except (merkle.ProofError, chain.MissingNode) as e:
            damage("rewritten", None, str(e))
