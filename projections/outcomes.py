"""Outcomes of measurement-based care: per measure, per goal and per subject.

Tables (views over the live generation); every value is what :mod:`goalflow.outcomes`
computes (the same functions ``goals.outcomes()`` uses), as of the last event read:

- ``gf_outcome_measures``: one row per measure of a goal: ``baseline`` (and
  ``baseline_from``: ``measure`` or ``first reading``), ``latest``/``latest_at``,
  ``readings``, ``change``, ``rci``, ``reliable`` (improved, deteriorated,
  no-reliable-change; null: cannot be judged), ``clinical_at_baseline``, ``clinical_now``,
  ``recovered``, ``reliably_recovered``, ``target_met``, and the rule behind each
  (``rci_rule``, ``reliable_rule``, ``clinical_rule``, ``target_rule``).
- ``gf_outcome_goals``: one row per goal: ``subject_id``, ``closed_as`` and ``closed_at``
  (completed, cancelled, rejected or entered-in-error, and when; null while the goal is
  open: ``gf_plan_goals`` has its status), the paired result (``paired_reliable``,
  ``paired_clinical_at_baseline``, ``paired_recovered``, ``paired_reliably_recovered``,
  ``paired_measures``, ``paired_rule``), FHIR ``achievement_status`` with
  ``achievement_explanation``, the GAS scale (``gas_levels``, ``gas_weight``,
  ``gas_baseline_level``), and ``inputs``: the measures and readings the results come from.
- ``gf_outcome_ratings``: each goal's latest GAS rating by each rater role.
- ``gf_outcome_gas``: per subject and rater role (``any``: each goal's latest rating from
  anyone) the Kiresuk-Sherman ``t_score`` and ``baseline_t_score`` over ``goals`` rated
  goals (the subject's own goals, not entered-in-error).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from goalflow import Goal, Measure, Reading, outcomes
from goalflow.projection import Json, Projection, Reader, Table, Writer, as_json_read, plain
from goalflow.projection import write_versions as _write_versions

ANY_RATER = "any"
RATER_ROLES = ("client", "clinician", "carer")


class _Rating(NamedTuple):
    level: int
    rater_role: str
    occurred_at: datetime


class Outcomes(Projection):
    name = "outcomes"
    tables = (
        Table("gf_outcome_goals", (
            ("goal_id", "uuid"), ("subject_kind", "text"), ("subject_id", "text"),
            ("closed_as", "text"), ("closed_at", "timestamp"), ("achievement_status", "text"),
            ("achievement_explanation", "text"), ("paired_measures", "json"),
            ("paired_rule", "text"), ("paired_reliable", "text"),
            ("paired_clinical_at_baseline", "bool"), ("paired_recovered", "bool"),
            ("paired_reliably_recovered", "bool"), ("gas_levels", "json"),
            ("gas_weight", "numeric"), ("gas_baseline_level", "int"), ("inputs", "json"),
            ("version", "int"), ("updated_at", "timestamp"),
        ), primary_key=("goal_id",), indexes=(("subject_id",), ("closed_as",))),
        Table("gf_outcome_measures", (
            ("goal_id", "uuid"), ("name", "text"), ("position", "int"),
            ("instrument", "text"), ("direction", "text"), ("baseline", "numeric"),
            ("baseline_from", "text"), ("target", "numeric"), ("readings", "int"),
            ("latest", "numeric"), ("latest_at", "timestamp"), ("paired", "bool"),
            ("change", "numeric"), ("rci", "numeric"), ("rci_rule", "text"),
            ("reliable", "text"), ("reliable_rule", "text"),
            ("clinical_at_baseline", "bool"), ("clinical_now", "bool"),
            ("clinical_rule", "text"), ("recovered", "bool"), ("reliably_recovered", "bool"),
            ("target_met", "bool"), ("target_rule", "text"),
        ), primary_key=("goal_id", "name")),
        Table("gf_outcome_ratings", (
            ("goal_id", "uuid"), ("rater_role", "text"), ("level", "int"),
            ("rater_id", "text"), ("rated_at", "timestamp"),
        ), primary_key=("goal_id", "rater_role")),
        Table("gf_outcome_gas", (
            ("subject_id", "text"), ("rater_role", "text"), ("goals", "int"),
            ("t_score", "numeric"), ("baseline_t_score", "numeric"),
        ), primary_key=("subject_id", "rater_role")),
    )

    def handle(self, w: Writer, event: Goal.Event) -> None:
        super().handle(w, event)
        # The goal's version and when it changed: written once per batch, by end_batch.
        w.memo.setdefault("outcomes: versions", {})[event.originator_id] = event

    # -- events ---------------------------------------------------------------------

    def on_Drafted(self, w: Writer, e: Goal.Drafted) -> None:
        inputs = {"measures": [plain(m) for m in e.measures], "first": {}, "latest": {},
                  "counts": {}}
        w.insert("gf_outcome_goals", {
            "goal_id": e.originator_id, "subject_kind": e.subject.kind,
            "subject_id": e.subject.id, "closed_as": None, "closed_at": None,
            "gas_levels": None, "gas_weight": None, "gas_baseline_level": None,
            "inputs": Json(inputs), "version": e.originator_version,
            "updated_at": e.timestamp})
        _pending(w)[e.originator_id] = _Pending((), as_json_read(inputs))

    def on_ProgressRecorded(self, w: Writer, e: Goal.ProgressRecorded) -> None:
        inputs = self._inputs(w, e.originator_id)
        reading = {"value": e.value, "occurred_at": e.occurred_at.isoformat()}
        inputs["latest"][e.measure] = reading
        inputs["first"].setdefault(e.measure, reading)
        inputs["counts"][e.measure] = inputs["counts"].get(e.measure, 0) + 1

    def on_Revised(self, w: Writer, e: Goal.Revised) -> None:
        for change in e.changes:
            if change.field != "measures":
                continue
            inputs = self._inputs(w, e.originator_id)
            inputs["measures"] = [plain(m) for m in change.after]
            names = {m.name for m in change.after}
            for part in ("first", "latest", "counts"):
                inputs[part] = {k: v for k, v in inputs[part].items() if k in names}

    def on_GasScaleSet(self, w: Writer, e: Goal.GasScaleSet) -> None:
        w.update("gf_outcome_goals", {"goal_id": e.originator_id}, {
            "gas_levels": Json(list(e.scale.levels)), "gas_weight": e.scale.weight,
            "gas_baseline_level": e.scale.baseline_level})
        self._gas(w, self._subject(w, e.originator_id))

    def on_AttainmentRated(self, w: Writer, e: Goal.AttainmentRated) -> None:
        key = {"goal_id": e.originator_id, "rater_role": e.rater_role}
        kept = w.select("gf_outcome_ratings", key, columns="rated_at")
        row = {"level": e.level, "rater_id": e.actor.id, "rated_at": e.occurred_at}
        if not kept:
            w.insert("gf_outcome_ratings", {**key, **row})
        elif datetime.fromisoformat(kept[0]["rated_at"]) <= e.occurred_at:
            w.update("gf_outcome_ratings", key, row)  # a late entry keeps the newer rating
        self._gas(w, self._subject(w, e.originator_id))

    def on_Achieved(self, w: Writer, e: Goal.Event) -> None:
        self._close(w, e, "completed")

    def on_Discontinued(self, w: Writer, e: Goal.Event) -> None:
        self._close(w, e, "cancelled")

    def on_Withdrawn(self, w: Writer, e: Goal.Event) -> None:
        self._close(w, e, "rejected")

    def on_EnteredInError(self, w: Writer, e: Goal.Event) -> None:
        self._close(w, e, "entered-in-error")
        self._gas(w, self._subject(w, e.originator_id))

    def on_SubjectForgotten(self, w: Writer, e: Goal.SubjectForgotten) -> None:
        """The subject was forgotten: the goal's rows go, and the subject's GAS scores
        with them (every goal of the subject is forgotten together)."""
        self.erase_goal(w, e.originator_id)
        _pending(w).pop(e.originator_id, None)  # nothing left to judge
        w.delete("gf_outcome_gas", {"subject_id": e.subject_id})

    def end_batch(self, w: Writer) -> None:
        """Write the inputs of each goal the batch changed and judge it, once, from where
        the batch leaves them: its results are a function of its inputs and ``closed_as``
        alone, so this writes the rows that doing it after each event would have."""
        _write_versions(w, "outcomes: versions", "gf_outcome_goals")
        pending = _pending(w)
        while pending:
            goal_id, (existing, live) = pending.popitem()
            found = w.select("gf_outcome_goals", {"goal_id": goal_id}, columns="closed_as")
            if not found:
                continue
            inputs = as_json_read(live)  # as a select after each event would give them
            w.update("gf_outcome_goals", {"goal_id": goal_id}, {"inputs": Json(inputs)})
            self._judge(w, goal_id, found[0]["closed_as"], inputs, existing=existing)

    # -- helpers --------------------------------------------------------------------

    def _inputs(self, w: Writer, goal_id: UUID) -> dict[str, Any]:
        """The goal's inputs as the batch has left them so far, to change in place: read
        once per batch, written (and the goal judged) by :meth:`end_batch`."""
        pending = _pending(w)
        found = pending.get(goal_id)
        if found is None:
            inputs = w.select("gf_outcome_goals", {"goal_id": goal_id}, columns="inputs")[0]
            found = pending[goal_id] = _Pending(tuple(_names(inputs["inputs"])),
                                                inputs["inputs"])
        return found.inputs

    def _subject(self, w: Writer, goal_id: UUID) -> str:
        row = w.select("gf_outcome_goals", {"goal_id": goal_id}, columns="subject_id")[0]
        return str(row["subject_id"])

    def _close(self, w: Writer, e: Goal.Event, status: str) -> None:
        self._inputs(w, e.originator_id)  # judged again at the end of the batch
        w.update("gf_outcome_goals", {"goal_id": e.originator_id},
                 {"closed_as": status, "closed_at": e.occurred_at})

    def _judge(self, w: Writer, goal_id: UUID, closed_as: str | None,
               inputs: dict[str, Any], *, existing: Sequence[str]) -> None:
        """Work the goal's results out again from its inputs and write them; ``existing``
        names the measure rows it has. Only a completed goal's status matters to them
        (achievementStatus), so open goals, in whatever status, are judged as open."""
        status = closed_as or "open"
        measures = [Measure(**m) for m in inputs["measures"]]
        results = [outcomes.measure_result(m, outcomes.Series(
            _reading(inputs["first"].get(m.name)), _reading(inputs["latest"].get(m.name)),
            inputs["counts"].get(m.name, 0))) for m in measures]
        pair = outcomes.paired(results)
        status_now = outcomes.judge(status, results, pair)
        w.update("gf_outcome_goals", {"goal_id": goal_id}, {
            "achievement_status": status_now.code,
            "achievement_explanation": status_now.explanation,
            "paired_measures": None if pair is None else Json(list(pair.measures)),
            "paired_rule": None if pair is None else pair.rule,
            "paired_reliable": None if pair is None else pair.reliable,
            "paired_clinical_at_baseline": None if pair is None else pair.clinical_at_baseline,
            "paired_recovered": None if pair is None else pair.recovered,
            "paired_reliably_recovered": None if pair is None else pair.reliably_recovered})
        names = {m.name for m in measures}
        for old in existing:
            if old not in names:
                w.delete("gf_outcome_measures", {"goal_id": goal_id, "name": old})
        for position, result in enumerate(results, start=1):
            row = _measure_row(result, position)
            key = {"goal_id": goal_id, "name": result.measure}
            if result.measure not in existing:
                w.insert("gf_outcome_measures", {**key, **row})
            else:
                w.update("gf_outcome_measures", key, row)

    def _gas(self, w: Writer, subject_id: str) -> None:
        """Work the subject's GAS T-scores out again."""
        goals = w.execute(
            f"SELECT goal_id, gas_weight, gas_baseline_level FROM"
            f" {w.table('gf_outcome_goals')} WHERE subject_id = ? AND gas_levels IS NOT NULL"
            " AND (closed_as IS NULL OR closed_as <> 'entered-in-error') ORDER BY goal_id",
            (subject_id,)).fetchall()
        ratings = w.execute(
            f"SELECT r.goal_id, r.rater_role, r.level, r.rated_at FROM"
            f" {w.table('gf_outcome_ratings')} r JOIN {w.table('gf_outcome_goals')} g"
            " ON g.goal_id = r.goal_id WHERE g.subject_id = ?", (subject_id,)).fetchall()
        by_goal: dict[str, dict[str, Any]] = {}
        for goal_id, role, level, rated_at in ratings:
            moment = rated_at if isinstance(rated_at, datetime) else \
                datetime.fromisoformat(rated_at)
            by_goal.setdefault(str(goal_id), {})[role] = _Rating(level, role, moment)
        for role in (None, *RATER_ROLES):
            rated = []
            for goal_id, weight, baseline_level in goals:
                rating = outcomes.latest_rating(by_goal.get(str(goal_id), {}), role)
                if rating is None:
                    continue
                rated.append(outcomes.GasGoal(UUID(str(goal_id)), _number(weight),
                                              rating.level, baseline_level,
                                              rating.rater_role, rating.occurred_at))
            result = outcomes.gas(subject_id, rated, role)
            key = {"subject_id": subject_id, "rater_role": role or ANY_RATER}
            row = {"goals": len(rated), "t_score": result.t_score,
                   "baseline_t_score": result.baseline_t_score}
            if w.select("gf_outcome_gas", key, columns="goals"):
                w.update("gf_outcome_gas", key, row)
            else:
                w.insert("gf_outcome_gas", {**key, **row})

    # -- queries --------------------------------------------------------------------

    def measures(self, r: Reader, goal_id: UUID) -> list[dict[str, Any]]:
        """A goal's measure rows, in the goal's order."""
        return r.rows("SELECT * FROM {gf_outcome_measures} WHERE goal_id = ?"
                      " ORDER BY position", (goal_id,))

    def goals(self, r: Reader, subject_id: str) -> list[dict[str, Any]]:
        """A subject's own goal rows (not entered-in-error)."""
        return r.rows("SELECT * FROM {gf_outcome_goals} WHERE subject_id = ? AND"
                      " (closed_as IS NULL OR closed_as <> 'entered-in-error')"
                      " ORDER BY goal_id", (subject_id,))

    def achievement(self, r: Reader, goal_ids: list[UUID]) -> dict[str, dict[str, Any]]:
        """achievementStatus and explanation by goal id (for the plans read)."""
        if not goal_ids:
            return {}
        marks = ", ".join("?" for _ in goal_ids)
        rows = r.rows("SELECT goal_id, achievement_status, achievement_explanation FROM"
                      " {gf_outcome_goals} WHERE goal_id IN (" + marks + ")", goal_ids)
        return {row["goal_id"]: {"code": row["achievement_status"],
                                 "explanation": row["achievement_explanation"]}
                for row in rows}

    def gas(self, r: Reader, subject_id: str) -> list[dict[str, Any]]:
        return r.rows("SELECT * FROM {gf_outcome_gas} WHERE subject_id = ?"
                      " ORDER BY rater_role", (subject_id,))

    def ended(self, r: Reader) -> list[dict[str, Any]]:
        """Goals that ended (completed or cancelled) with a paired result."""
        return r.rows(
            "SELECT goal_id, closed_at, paired_measures, paired_rule, paired_reliable,"
            " paired_clinical_at_baseline, paired_recovered, paired_reliably_recovered"
            " FROM {gf_outcome_goals} WHERE closed_as IN ('completed', 'cancelled')"
            " AND paired_reliable IS NOT NULL ORDER BY goal_id")


class _Pending(NamedTuple):
    """A goal the batch has changed: the measure rows it had before, and its inputs."""

    existing: tuple[str, ...]
    inputs: dict[str, Any]


def _pending(w: Writer) -> dict[UUID, _Pending]:
    """The goals the writer's batch has changed, to write and judge at its end."""
    pending: dict[UUID, _Pending] = w.memo.setdefault("outcomes: to judge", {})
    return pending


def _names(inputs: dict[str, Any]) -> list[str]:
    """The names of the measures in a goal's inputs (its measure rows)."""
    return [m["name"] for m in inputs["measures"]]


def _reading(data: dict[str, Any] | None) -> Reading | None:
    if data is None:
        return None
    return Reading(data["value"], datetime.fromisoformat(data["occurred_at"]))


def _number(value: Any) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _stored(value: int | float | None) -> int | float | None:
    """A change as a column keeps it: a whole number beyond 64 bits (two readings at the
    ends of the range goalflow takes) as the nearest float, as SQLite can hold it."""
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return float(value)
    return value


def _measure_row(m: Any, position: int) -> dict[str, Any]:
    return {
        "position": position, "instrument": m.instrument, "direction": m.direction,
        "baseline": m.baseline, "baseline_from": m.baseline_from, "target": m.target,
        "readings": m.readings, "latest": m.latest, "latest_at": m.latest_at,
        "paired": m.paired, "change": _stored(m.change), "rci": m.rci.value,
        "rci_rule": m.rci.rule,
        "reliable": m.reliable.value, "reliable_rule": m.reliable.rule,
        "clinical_at_baseline": m.clinical_at_baseline.value,
        "clinical_now": m.clinical_now.value, "clinical_rule": m.clinical_at_baseline.rule,
        "recovered": m.recovered.value, "reliably_recovered": m.reliably_recovered.value,
        "target_met": m.target_met.value, "target_rule": m.target_met.rule,
    }
