"""Forgetting a subject (crypto-shredding) and the retention holds that stop it.

``forget`` records a ``SubjectForgotten`` event (in clear, no client data) on each of the
subject's goals, with the read models' deletions, in one transaction; then destroys the
subject's data key, and last forgets which key was theirs (a new goal of theirs gets a new
key). Should a step after the events fail, forgetting the subject again finishes the job
(the goals already marked are not marked twice).

Holds live in the event store's ``goalflow_retention_holds``, one row per hold or release
(rows are only ever added): a subject is held while its latest row is a hold whose
``until`` date has not passed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from goalflow.crypto import sealing
from goalflow.domain.goal import Goal
from goalflow.domain.values import MAX_ID_LENGTH, Actor, check_text
from goalflow.errors import InvalidCommand, StoreError
from goalflow.persistence.recorders import Tx
from goalflow.persistence.store import GoalStore

HOLDS_TABLE = sealing.HOLDS_TABLE
MAX_REASON = 2000


def _require_encrypted(store: GoalStore) -> sealing.Sealer:
    if store.sealer is None:
        raise StoreError(f"store {store.url} is not encrypted: forgetting a subject and"
                         " retention holds need a store made with a master key (README,"
                         " 'Encryption at rest')")
    return store.sealer


def _check_actor(by: Any) -> Actor:
    if not isinstance(by, Actor):
        raise InvalidCommand("by must be an Actor (who does it, in which role)", field="by")
    return by


def active_hold(tx: Tx, subject_id: str, today: date) -> dict[str, Any] | None:
    """The hold in force on the subject today, if any."""
    row = tx.execute(f"SELECT action, until, by_id, reason, recorded_at FROM"
                     f" {tx.table(HOLDS_TABLE)} WHERE subject_id = ? ORDER BY seq DESC LIMIT 1",
                     (subject_id,)).fetchone()
    if row is None or row[0] != "hold" or date.fromisoformat(row[1]) < today:
        return None
    return {"subject_id": subject_id, "until": row[1], "by": row[2], "reason": row[3],
            "placed_at": row[4]}


def holds(store: GoalStore, today: date) -> list[dict[str, Any]]:
    """Every hold in force today, by subject."""
    _require_encrypted(store)
    with store.recorder.transaction(commit=False) as tx:
        subjects = [r[0] for r in tx.execute(
            f"SELECT DISTINCT subject_id FROM {tx.table(HOLDS_TABLE)} ORDER BY subject_id"
        ).fetchall()]
        found = [active_hold(tx, s, today) for s in subjects]
    return [h for h in found if h is not None]


def hold(store: GoalStore, subject_id: str, *, until: date, by: Actor, reason: str,
         now: datetime, today: date) -> dict[str, Any]:
    """Place a retention hold on the subject until ``until`` (inclusive)."""
    _require_encrypted(store)
    store.refuse_writes("hold-retention")
    check_text("subject_id", subject_id, limit=MAX_ID_LENGTH)
    check_text("reason", reason, limit=MAX_REASON)
    _check_actor(by)
    if not isinstance(until, date) or isinstance(until, datetime):
        raise InvalidCommand("until must be a date (YYYY-MM-DD)", field="until")
    if until < today:
        raise InvalidCommand(f"until {until.isoformat()} has passed (today is"
                             f" {today.isoformat()})", field="until")
    _add(store, subject_id, "hold", until.isoformat(), by, reason, now)
    return {"subject_id": subject_id, "until": until.isoformat(), "by": by.id,
            "reason": reason, "placed_at": now.isoformat()}


def release(store: GoalStore, subject_id: str, *, by: Actor, reason: str, now: datetime,
            today: date) -> dict[str, Any]:
    """End the hold in force on the subject."""
    _require_encrypted(store)
    store.refuse_writes("release-retention")
    check_text("subject_id", subject_id, limit=MAX_ID_LENGTH)
    check_text("reason", reason, limit=MAX_REASON)
    _check_actor(by)
    with store.recorder.transaction(commit=False) as tx:
        held = active_hold(tx, subject_id, today)
    if held is None:
        raise InvalidCommand(f"subject {subject_id} has no retention hold in force",
                             field="subject_id")
    _add(store, subject_id, "release", None, by, reason, now)
    return {**held, "released_by": by.id, "released_at": now.isoformat(),
            "release_reason": reason}


def _add(store: GoalStore, subject_id: str, action: str, until: str | None, by: Actor,
         reason: str, now: datetime) -> None:
    store.refuse_writes()
    with store.recorder.transaction(commit=True) as tx:
        store.claim_write(tx)
        tx.execute(f"INSERT INTO {tx.table(HOLDS_TABLE)} (subject_id, action, until, by_id,"
                   " by_role, reason, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (subject_id, action, until, by.id, by.role, reason, now.isoformat()))


def forget(store: GoalStore, subject_id: str, *, by: Actor, reason: str,
           override_hold: str | None, now: datetime, occurred_at: datetime,
           today: date) -> dict[str, Any]:
    """Forget the subject: mark each of its goals, delete its read-model rows, destroy
    its data key. Returns what was done."""
    sealer = _require_encrypted(store)
    store.refuse_writes("forget")
    check_text("subject_id", subject_id, limit=MAX_ID_LENGTH)
    check_text("reason", reason, limit=MAX_REASON)
    check_text("override_hold", override_hold, limit=MAX_REASON, optional=True)
    _check_actor(by)
    key_id = store.subject_key_id(subject_id)
    if key_id is None:
        raise InvalidCommand(f"subject {subject_id} has no data key in store {store.url}"
                             " (no goals of theirs were recorded, or they were forgotten"
                             " already)", field="subject_id")
    with store.recorder.transaction(commit=False) as tx:
        held = active_hold(tx, subject_id, today)
    if held is not None and not override_hold:
        raise InvalidCommand(
            f"subject {subject_id} is under a retention hold until {held['until']} (placed by"
            f" {held['by']}: {held['reason']}); forget refused (to override it, give"
            " --override-hold REASON, which is recorded)", field="subject_id")
    goal_ids: list[UUID] = []
    positions: list[int] = []
    for _attempt in range(10):
        with store.recorder.transaction(commit=False) as tx:
            goal_ids = sealing.goals_of_key(tx, key_id)
            pending = _unmarked(tx, store, goal_ids)
        events = [Goal.SubjectForgotten(  # type: ignore[call-arg]
            originator_id=goal_id, originator_version=version + 1, timestamp=now,
            actor=by, occurred_at=occurred_at, subject_id=subject_id, reason=reason,
            hold_overridden=override_hold if held is not None else None)
            for goal_id, version in pending]
        if not events:
            break
        try:
            positions = store.record_erasures(events)
            break
        except IntegrityError:  # a command on one of the goals landed meanwhile: again
            continue
    else:
        raise StoreError(f"could not mark the goals of {subject_id} as forgotten: they kept"
                         " changing; try again")
    sealer.keys.destroy(key_id)
    sealer.drop(key_id)
    with store.recorder.transaction(commit=True) as tx:  # a new goal of theirs: a new key
        tx.execute(f"DELETE FROM {tx.table(sealing.SUBJECT_KEYS_TABLE)} WHERE subject_id = ?"
                   " AND key_id = ?", (subject_id, str(key_id)))
    return {"subject_id": subject_id, "goals": [str(g) for g in goal_ids],
            "positions": positions, "by": by.id, "reason": reason,
            "hold_overridden": override_hold if held is not None else None,
            "erased_at": now.isoformat()}


def _unmarked(tx: Tx, store: GoalStore, goal_ids: list[UUID]) -> list[tuple[UUID, int]]:
    """The goals not yet marked forgotten, with their latest versions."""
    found: list[tuple[UUID, int]] = []
    table = tx.table(store.events_table)
    for goal_id in goal_ids:
        row = tx.execute(f"SELECT MAX(originator_version), SUM(CASE WHEN topic = ? THEN 1"
                         f" ELSE 0 END) FROM {table} WHERE originator_id = ?",
                         (Goal.SubjectForgotten.TOPIC, tx.goal_id(goal_id))).fetchone()
        if row is not None and row[0] is not None and not row[1]:
            found.append((goal_id, int(row[0])))
    return found


def rotate(store: GoalStore, new_key: Any) -> int:
    """Re-wrap every data key with a new master key (one transaction, no event touched)."""
    sealer = _require_encrypted(store)
    store.refuse_writes("rotate-master-key")
    return sealer.keys.rotate(new_key, sealer.store_id)
