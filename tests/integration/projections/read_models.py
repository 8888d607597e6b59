"""Reading read models back for comparison, and what the goals themselves say they should be.

``dump`` reads every table of a projection through its views, row by row in key order.
The ``expected_*`` functions work out, from the goals and their event histories alone (never
from a projection), what the plans, the reviews worklist and the audit trail must show.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import goalflow
from goalflow import Goal
from goalflow.domain.plain import plain

Rows = list[dict[str, Any]]


def dump(goals: goalflow.Goals, name: str) -> dict[str, Rows]:
    """Every row of every table of the projection, as its views show them, in key order.

    The values are the database driver's own (not decoded by goalflow), so two dumps are
    equal only if the stored values are.
    """
    projection = goals.projections.get(name)
    tables: dict[str, Rows] = {}
    with goals.store.recorder.transaction(commit=False) as tx:
        for table in projection.tables:
            tx.execute(f"SELECT * FROM {tx.table(table.name)}"
                       f" ORDER BY {', '.join(table.primary_key)}")
            names = [d[0] for d in tx.cursor.description]
            tables[table.name] = [dict(zip(names, row, strict=True)) for row in tx.fetchall()]
    return tables


def dump_all(goals: goalflow.Goals) -> dict[str, dict[str, Rows]]:
    return {name: dump(goals, name) for name in sorted(goals.projections.all)}


def rebuilt(goals: goalflow.Goals, name: str) -> dict[str, Rows]:
    """The projection rebuilt from scratch from the whole log, then dumped."""
    goals.projections.rebuild(name, restart=True)
    return dump(goals, name)


def physical_rows(goals: goalflow.Goals, table: str) -> int:
    """How many rows a physical table (one generation, not a view) holds."""
    with goals.store.recorder.transaction(commit=False) as tx:
        row = tx.execute(f"SELECT COUNT(*) FROM {tx.table(table)}").fetchone()
    assert row is not None
    return int(row[0])


def table_exists(goals: goalflow.Goals, table: str) -> bool:
    with goals.store.recorder.transaction(commit=False) as tx:
        if tx.dialect == "sqlite":
            tx.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,))
        else:
            tx.execute("SELECT 1 WHERE to_regclass(?) IS NOT NULL", (tx.table(table),))
        return tx.fetchone() is not None


# -- what the goals themselves say ------------------------------------------------


def expected_plan_goal(goal: Goal) -> dict[str, Any]:
    """The plan entry of one goal, from the goal's own state."""
    open_goal = goal.status in ("proposed", "active", "on-hold")
    awaiting = list(goal.awaiting_agreement_from) if open_goal else []
    return {
        "goal_id": str(goal.goal_id), "subject_kind": goal.subject.kind,
        "subject_id": goal.subject.id, "group_goal": goal.subject.kind == "group",
        "status": goal.status, "terms_version": goal.terms_version,
        "awaiting_agreement": bool(awaiting), "awaiting_agreement_from": awaiting,
        "statement": goal.statement, "client_words": goal.client_words,
        "target_date": plain(goal.target_date), "next_review_on": plain(goal.next_review_on),
        "drafted_at": plain(goal.drafted_at), "version": goal.version,
        "updated_at": plain(goal.modified_on),
        "steps": [(s.step_id, s.description, s.status) for s in goal.steps],
        "measures": [
            (m.name, m.baseline, m.target, m.direction,
             *((r.value, plain(r.occurred_at)) if (r := goal.readings.get(m.name))
               else (None, None)))
            for m in goal.measures
        ],
        "achievement_status": goalflow.outcomes.achievement(goal).to_dict(),
    }


def comparable_plan(plan: Rows) -> dict[str, dict[str, Any]]:
    """A plan as returned by ``goals.plan``, in the shape of ``expected_plan_goal``."""
    result = {}
    for entry in plan:
        entry = dict(entry)
        entry["steps"] = [(s["step_id"], s["description"], s["status"]) for s in entry["steps"]]
        entry["measures"] = [(m["name"], m["baseline"], m["target"], m["direction"],
                              m["latest"], m["latest_at"]) for m in entry["measures"]]
        result[entry["goal_id"]] = entry
    return result


def expected_due_on(goal: Goal, interval_days: int = 90) -> date:
    """When the goal is next due for review, by the policy in the issue."""
    if goal.next_review_on is not None:
        return goal.next_review_on
    moments = [m for m in (goal.last_reviewed_at, goal.activated_at) if m is not None]
    return (max(moments) + timedelta(days=interval_days)).date()


def expected_agreements(events: list[Goal.Event]) -> dict[int, dict[str, Any]]:
    """For each revision (by goal version): was it agreed before, and what became of it.

    Worked out by replaying the goal event by event: a revision is ``agreed`` when the goal
    next becomes active (every required party agreed), ``superseded`` when its terms change
    again before that, and otherwise still ``pending``.
    """
    revisions: dict[int, dict[str, Any]] = {}
    open_revision: int | None = None
    goal: Any = None
    for event in events:
        ever_agreed = bool(goal is not None and goal.ever_agreed)
        goal = event.mutate(goal)  # type: ignore[attr-defined]
        if isinstance(event, Goal.Revised | Goal.StepAdded) and open_revision is not None:
            revisions[open_revision]["agreement"] = "superseded"
            open_revision = None
        if isinstance(event, Goal.Revised):
            open_revision = event.originator_version
            revisions[open_revision] = {
                "previously_agreed": ever_agreed, "agreement": "pending", "agreed_at": None,
                "terms_version": goal.terms_version}
        if (isinstance(event, Goal.AgreedByClient) and goal.status == "active"
                and open_revision is not None):
            revisions[open_revision].update(agreement="agreed",
                                            agreed_at=plain(event.occurred_at))
            open_revision = None
    return revisions


def expected_entry(event: Goal.Event, goal: Goal) -> dict[str, Any]:
    """The audit entry fields that come straight from an event."""
    return {
        "goal_id": str(event.originator_id), "version": event.originator_version,
        "event_type": type(event).__name__, "recorded_at": plain(event.timestamp),
        "occurred_at": plain(event.occurred_at), "actor_id": event.actor.id,
        "actor_role": event.actor.role, "on_behalf_of": event.actor.on_behalf_of,
        "reason": getattr(event, "reason", None), "subject_id": goal.subject.id,
    }


def entry_fields(entry: dict[str, Any]) -> dict[str, Any]:
    keys = ("goal_id", "version", "event_type", "recorded_at", "occurred_at", "actor_id",
            "actor_role", "on_behalf_of", "reason", "subject_id")
    return {k: entry[k] for k in keys}

