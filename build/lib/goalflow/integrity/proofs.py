"""One goal's proof: its events with their leaf inputs and RFC 9162 inclusion proofs
against a kept digest, in one JSON file that is checked with no store at all.

An auditor so gets one client's goal history, each event provably in the digested log,
at the position given and unaltered, without access to anyone else's data.
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

import orjson

from goalflow.errors import GoalNotFound, UnreadableEvent
from goalflow.inspection import RawEvent, event_record
from goalflow.integrity import chain, merkle
from goalflow.integrity.digest import Digest, DigestError
from goalflow.integrity.leaves import leaf_input, parse
from goalflow.persistence.codec import GoalflowMapper

FORMAT = "goalflow-goal-proof"
VERSION = 1


class ProofFileError(DigestError):
    """A proof that is malformed, or does not prove what it says."""


def prove(store: Any, goal_id: UUID, digest: Digest) -> dict[str, Any]:
    """The proof of a goal's events up to the digest's size; DigestError if the log does
    not match the digest (then nothing it holds can be proved against it)."""
    with store.recorder.transaction(commit=False) as tx:
        size = chain.size(tx)
        if digest.size > size:
            raise DigestError(f"the digest covers {digest.size} events; the log holds only"
                              f" {size}: run goalflow verify --digest")
        nodes = chain.StoredNodes(tx)
        nodes.prefetch(lambda n: merkle.root(digest.size, n))
        try:
            matches = merkle.root(digest.size, nodes) == digest.root_bytes
        except chain.MissingNode:
            matches = False
        if not matches:
            raise DigestError(f"the log's first {digest.size} events do not hash to the"
                              " digest's root: run goalflow verify --digest")
        pos = tx.position_column
        rows = tx.execute(
            f"SELECT e.{pos}, e.originator_version, e.topic, e.state, l.leaf_index FROM"
            f" {tx.table(store.events_table)} e LEFT JOIN {tx.table(chain.LEAVES_TABLE)} l"
            f" ON l.position = e.{pos} WHERE e.originator_id = ?"
            " ORDER BY e.originator_version", (tx.goal_id(goal_id),)).fetchall()
        if not rows:
            raise GoalNotFound(goal_id)
        covered = [r for r in rows if r[4] is not None and r[4] < digest.size]
        nodes.prefetch(lambda n: [merkle.inclusion_path(r[4], digest.size, n)
                                  for r in covered])
        paths = [merkle.inclusion_path(r[4], digest.size, nodes) for r in covered]
    events = []
    for (position, version, topic, state, index), path in zip(covered, paths, strict=True):
        data = leaf_input(position, goal_id, version, topic, bytes(state))
        try:
            decoded, schema = store.mapper.decode_stored(goal_id, version, topic, bytes(state))
            record = event_record(position, decoded, schema)
        except UnreadableEvent as e:
            record = event_record(position, RawEvent(goal_id, version, topic, bytes(state), e))
        events.append({
            "position": position, "leaf_index": index, "leaf_input": data.hex(),
            "leaf_hash": merkle.leaf_hash(data).hex(),
            "audit_path": [h.hex() for h in path], "event": record,
        })
    later = len(rows) - len(covered)
    proof = {
        "format": FORMAT, "version": VERSION, "goal_id": str(goal_id),
        "tree_size": digest.size, "root": digest.root, "digest_at": digest.at,
        "events": events, "events_after_digest": later,
        "note": (f"{later} later event(s) of this goal are after the digest's"
                 f" {digest.size} events and are not proved here" if later else
                 "every event of this goal recorded when the proof was made is proved"),
    }
    return {**proof, "checksum": _checksum(proof)}


_FIELDS = {"format", "version", "goal_id", "tree_size", "root", "digest_at", "events",
           "events_after_digest", "note", "checksum"}
_EVENT_FIELDS = {"position", "leaf_index", "leaf_input", "leaf_hash", "audit_path", "event"}


def _checksum(proof: dict[str, Any]) -> str:
    """SHA-256 of the proof's other fields (canonical JSON): it catches a file changed by
    accident where the proofs prove nothing (the note, the count of later events). It is
    no defence against a forger, who can recompute it; the inclusion proofs are."""
    rest = {k: v for k, v in proof.items() if k != "checksum"}
    return hashlib.sha256(orjson.dumps(rest, option=orjson.OPT_SORT_KEYS)).hexdigest()


def check(proof: Any, digest: Digest) -> list[dict[str, Any]]:
    """Check a proof against a kept digest, with no store: each leaf hash from its leaf
    input, each inclusion proof against the digest's root, each decoded event against its
    leaf input. Returns the events (oldest first); ProofFileError names the first bad one.
    """
    if not isinstance(proof, dict) or proof.get("format") != FORMAT:
        raise ProofFileError(f"not a goalflow goal proof (no \"format\": \"{FORMAT}\")")
    if set(proof) != _FIELDS:
        raise ProofFileError(f"the proof's fields are not a goalflow proof's (unexpected:"
                             f" {', '.join(sorted(set(proof) ^ _FIELDS))})")
    if proof["checksum"] != _checksum(proof):
        raise ProofFileError("the proof's checksum does not match: the file was changed")
    if proof.get("version") != VERSION:
        raise ProofFileError(f"proof format version {proof.get('version')!r} is not known"
                             f" (this goalflow reads {VERSION})")
    if digest.at is not None and proof["digest_at"] != digest.at:
        raise ProofFileError(f"the proof is against the digest of {proof['digest_at']},"
                             f" not the one of {digest.at}")
    if proof.get("tree_size") != digest.size or proof.get("root") != digest.root:
        raise ProofFileError(f"the proof is for a log of {proof.get('tree_size')} events with"
                             f" root {str(proof.get('root'))[:16]}..., not the digest's"
                             f" {digest.size} with root {digest.root[:16]}...")
    try:
        goal_id = UUID(str(proof.get("goal_id")))
    except ValueError:
        raise ProofFileError("the proof's goal_id is not a goal id") from None
    events = proof.get("events")
    if not isinstance(events, list) or not events:
        raise ProofFileError("the proof holds no events")
    mapper = GoalflowMapper()
    checked = []
    for number, item in enumerate(events, 1):
        where = f"event {number}"
        if not isinstance(item, dict) or set(item) != _EVENT_FIELDS:
            raise ProofFileError(f"{where}: malformed (its fields are not a proved event's)")
        try:
            where = f"event {number} (position {item['position']})"
            data = bytes.fromhex(item["leaf_input"])
            leaf = parse(data)
            stated = bytes.fromhex(item["leaf_hash"])
            path = [bytes.fromhex(h) for h in item["audit_path"]]
            index = item["leaf_index"]
        except (KeyError, TypeError, ValueError) as e:
            raise ProofFileError(f"{where}: malformed ({e})") from None
        if merkle.leaf_hash(data) != stated:
            raise ProofFileError(f"{where}: its leaf_hash is not the hash of its leaf_input")
        if (leaf.position, leaf.goal_id, leaf.version) != (item["position"], goal_id, number):
            raise ProofFileError(f"{where}: its leaf_input is of goal {leaf.goal_id} version"
                                 f" {leaf.version} at position {leaf.position}, not of this"
                                 f" goal's version {number}")
        if not isinstance(index, int) or isinstance(index, bool):
            raise ProofFileError(f"{where}: leaf_index must be a whole number")
        try:
            merkle.verify_inclusion(index, digest.size, stated, path, digest.root_bytes)
        except merkle.ProofError as e:
            raise ProofFileError(f"{where}: {e}") from None
        try:
            decoded, schema = mapper.decode_stored(goal_id, leaf.version, leaf.topic, leaf.state)
            record = event_record(leaf.position, decoded, schema)
        except UnreadableEvent as e:
            record = event_record(leaf.position,
                                  RawEvent(goal_id, leaf.version, leaf.topic, leaf.state, e))
        if record != item.get("event"):
            raise ProofFileError(f"{where}: the event shown is not the one its leaf_input"
                                 " holds")
        checked.append(record)
    return checked
