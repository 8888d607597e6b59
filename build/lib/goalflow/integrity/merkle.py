"""RFC 9162 (RFC 6962) Merkle tree hashes and proofs: pure arithmetic, no storage.

A tree of ``n`` leaves is read through a :data:`Nodes` function that gives the hash
of any *perfect* subtree: ``nodes(level, index)`` covers leaves ``index << level`` up
to ``(index + 1) << level``, level 0 being the leaf hashes themselves. Every range the
RFC's definitions split a tree into is made of such subtrees, so the root and the
proofs of a tree whose perfect subtrees are stored take O(log n) lookups.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

Nodes = Callable[[int, int], bytes]
"""The hash of the perfect subtree at (level, index)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The root of a tree of no leaves (RFC 9162 2.1.1)."""


class ProofError(ValueError):
    """A proof that does not prove what it claims, or that was asked of sizes it
    cannot be about."""


def leaf_hash(leaf_input: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf_input).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(size: int) -> int:
    """The largest power of two smaller than ``size`` (size > 1): where the RFC splits."""
    return 1 << ((size - 1).bit_length() - 1)


def range_hash(lo: int, hi: int, nodes: Nodes) -> bytes:
    """MTH(D[lo:hi]) for a range of the RFC's split of a tree (``lo`` is a multiple of
    a power of two at least ``hi - lo``: every range below a root is)."""
    size = hi - lo
    if size & (size - 1) == 0:
        level = size.bit_length() - 1
        if lo % size:
            raise ValueError(f"range {lo}..{hi} is not a subtree of the tree's split")
        return nodes(level, lo >> level)
    k = split(size)
    return node_hash(range_hash(lo, lo + k, nodes), range_hash(lo + k, hi, nodes))


def root(size: int, nodes: Nodes) -> bytes:
    """The Merkle Tree Hash of the first ``size`` leaves."""
    return EMPTY_ROOT if size == 0 else range_hash(0, size, nodes)


def frontier(size: int) -> list[tuple[int, int]]:
    """The perfect subtrees a tree of ``size`` leaves is made of, largest first: what an
    appender needs to complete the subtrees that its new leaves finish."""
    keys = []
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            keys.append((level, (size >> level) - 1))
    return keys


def completed(size: int, count: int) -> list[tuple[int, int]]:
    """The perfect subtrees of level >= 1 that appending ``count`` leaves to a tree of
    ``size`` completes, in the order they complete (children before parents)."""
    keys = []
    for leaf in range(size, size + count):
        level, end = 1, leaf + 1
        while end % (1 << level) == 0:
            keys.append((level, (end >> level) - 1))
            level += 1
    return keys


def inclusion_path(index: int, size: int, nodes: Nodes) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 6962 2.1.1),
    nearest the leaf first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    path = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split(hi - lo)
        if index < lo + k:
            path.append(range_hash(lo + k, hi, nodes))
            hi = lo + k
        else:
            path.append(range_hash(lo, lo + k, nodes))
            lo += k
    return path[::-1]


def consistency_proof(first: int, second: int, nodes: Nodes) -> list[bytes]:
    """The proof that the tree of ``first`` leaves is the start of the tree of
    ``second`` (RFC 6962 2.1.2), in the RFC's order."""
    if not 0 <= first <= second:
        raise ProofError(f"no consistency proof from {first} leaves to {second}")
    if first in (0, second):
        return []
    proof = []
    lo, hi, whole = 0, second, True
    while hi - lo != first - lo:
        k = split(hi - lo)
        if first - lo <= k:
            proof.append(range_hash(lo + k, hi, nodes))
            hi = lo + k
        else:
            proof.append(range_hash(lo, lo + k, nodes))
            lo += k
            whole = False
    if not whole:
        proof.append(range_hash(lo, hi, nodes))
    return proof[::-1]


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root that an audit path leads to from a leaf hash (RFC 9162 2.1.3.2)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ProofError("the audit path is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the audit path is shorter than the tree is deep")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes],
                     expected_root: bytes) -> None:
    """Raise ProofError unless the path proves the leaf is leaf ``index`` of the tree."""
    if root_from_inclusion(index, size, leaf, path) != expected_root:
        raise ProofError(f"the audit path of leaf {index} does not lead to the root")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """Raise ProofError unless ``proof`` shows that the tree of ``first`` leaves (with
    ``first_root``) is the start of the tree of ``second`` (RFC 9162 2.1.4.2)."""
    if first > second:
        raise ProofError(f"a tree of {second} cannot extend one of {first}")
    if first == second:
        if proof or first_root != second_root:
            raise ProofError("trees of one size must have one root and need no proof")
        return
    if first == 0:
        if proof:
            raise ProofError("every tree extends the empty one: the proof must be empty")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the trees need")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != first_root or sr != second_root:
        raise ProofError(f"the log of {second} events does not extend the one of {first}"
                         " that was digested")


def perfect_nodes(leaves: Sequence[bytes]) -> dict[tuple[int, int], bytes]:
    """Every perfect subtree's hash of a tree held in memory (for tests and small logs)."""
    nodes = {(0, i): h for i, h in enumerate(leaves)}
    level = 1
    while (1 << level) <= len(leaves):
        for i in range(len(leaves) >> level):
            nodes[(level, i)] = node_hash(nodes[(level - 1, 2 * i)],
                                          nodes[(level - 1, 2 * i + 1)])
        level += 1
    return nodes
