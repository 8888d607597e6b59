"""What a report shows, gathered from the store, and the page rendered from it."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID

import jinja2
from markupsafe import Markup

from goalflow import outcomes
from goalflow.application import Goals, parse_goal_id
from goalflow.errors import GoalflowError, GoalNotFound, InvalidCommand
from goalflow.report.chart import chart
from goalflow.version import goalflow_version

STATUS_MEANINGS = {
    "proposed": "drafted or revised, awaiting the client's agreement to the current terms",
    "active": "agreed to by every required party; being pursued",
    "on-hold": "still a goal, not pursued for now",
    "completed": "achieved",
    "cancelled": "discontinued after it had been active",
    "rejected": "withdrawn while still proposed (never taken up)",
    "entered-in-error": "recorded by mistake; voided, kept for audit",
}
"""FHIR Goal lifecycleStatus codes and what they mean (DOMAIN.md)."""


def render(goals: Goals, goal_id: UUID | str | None = None, *, subject: str | None = None,
           as_of: datetime | None = None, late_days: float = 2.0,
           interval_days: int = 90, made_at: datetime) -> str:
    """The report as HTML text: one goal (as recorded at ``as_of``, default now), or every
    goal of a client or group (``subject``: its own and the group goals it is a member
    of). Entries recorded more than ``late_days`` after they occurred are marked late;
    a review is on time when held by the date due (set at the review before, else
    ``interval_days`` after the later of that review and the agreement)."""
    if (goal_id is None) == (subject is None):
        raise InvalidCommand("give a goal id or a subject, not both nor neither",
                             field="subject")
    if goal_id is not None:
        ids = [parse_goal_id(goal_id)]
        title_subject = None
    else:
        index = sorted(goals.goal_index(subject=subject),
                       key=lambda g: (g.drafted_at, str(g.goal_id)))
        if not index:
            raise GoalNotFound(subject)
        ids = [g.goal_id for g in index]
        title_subject = subject
    sections = []
    for gid in ids:
        try:
            sections.append(_goal_section(goals, gid, as_of, late_days, interval_days))
        except GoalNotFound:
            if goal_id is not None or as_of is None:
                raise
            continue  # drafted after as_of
    if not sections:
        raise GoalNotFound(goal_id or subject)
    context = {
        "subject": title_subject or sections[0]["subject"]["id"],
        "goals": sections,
        "as_of": None if as_of is None else as_of.isoformat(),
        "late_days": late_days,
        "verification": _verification(goals),
        # The subject's goal attainment T-scores (each goal's own results are in its
        # section, "outcomes").
        "gas": goals.gas(title_subject or sections[0]["subject"]["id"], as_of=as_of).to_dict(),
        "footer": {"version": goalflow_version(), "store": str(goals.store.url),
                   "made_at": made_at.isoformat(timespec="seconds"),
                   "timezone": goals.timezone},
    }
    return _environment().get_template("report.html.j2").render(context)


def _goal_section(goals: Goals, goal_id: UUID, as_of: datetime | None, late_days: float,
                  interval_days: int) -> dict[str, Any]:
    goal = goals.get(goal_id, as_of=as_of)
    state = goal.to_dict()
    entries = [entry.to_dict() for entry in goals.audit(goal_id, until=as_of)]
    shown = {e["position"] for e in entries}
    zone = goals.tzinfo
    readings: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        entry["late"] = entry["late_seconds"] > late_days * 86400
        entry["delay"] = _duration(entry["late_seconds"])
        if entry["event_type"] == "Revised":
            _as_recorded_then(entry, shown, as_of)
        elif entry["event_type"] == "ReviewHeld":
            entry["review"] = _review_timing(goals, goal_id, entry, zone, interval_days)
        elif entry["event_type"] == "ProgressRecorded":
            readings.setdefault(entry["details"]["measure"], []).append(
                {"value": entry["details"]["value"], "occurred_at": entry["occurred_at"],
                 "position": entry["position"]})
    measures = []
    for measure in state["measures"]:
        theirs = sorted(readings.get(measure["name"], []),
                        key=lambda r: (r["occurred_at"], r["position"]))
        measures.append({**measure, "readings": theirs, "chart": chart(measure, theirs)})
    state["status_meaning"] = STATUS_MEANINGS.get(state["status"], "")
    state["measures"] = measures
    state["current_agreements"] = [
        a for a in state["agreements"] if a["terms_version"] == state["terms_version"]
        and a["party"] in goal.agreed_parties]
    state["timeline"] = entries
    # Change, reliable change, recovery and achievementStatus, each with its rule.
    state["outcomes"] = outcomes.goal_outcomes(goal).to_dict()
    return state


def _as_recorded_then(entry: dict[str, Any], shown: set[int], as_of: datetime | None) -> None:
    """A revision's agreement as it stood at ``as_of`` (the read model's is as of now)."""
    agreement = entry["agreement"]
    if as_of is None:
        return
    if agreement["agreement"] == "agreed" and \
            datetime.fromisoformat(agreement["agreed_recorded_at"]) > as_of:
        agreement.update(agreement="pending", agreed_at=None, agreed_recorded_at=None)
    elif agreement["agreement"] == "superseded" and agreement["superseded_by"] not in shown:
        agreement.update(agreement="pending", superseded_by=None)


def _review_timing(goals: Goals, goal_id: UUID, entry: dict[str, Any], zone: Any,
                   interval_days: int) -> dict[str, Any]:
    """When the review was due (from the goal just before it) and whether it was on time."""
    before = goals.get(goal_id, version=entry["version"] - 1)
    held = datetime.fromisoformat(entry["occurred_at"]).astimezone(zone).date()
    if before.next_review_on is not None:
        due, basis = before.next_review_on, "set at the review before"
    else:
        start = before.last_reviewed_at or before.activated_at
        if start is None:
            return {"due": None, "on_time": None, "basis": "no agreement yet"}
        due = start.astimezone(zone).date() + timedelta(days=interval_days)
        since = "review" if before.last_reviewed_at else "agreement"
        basis = f"{interval_days} days after the {since}"
    return {"due": due.isoformat(), "on_time": held <= due, "basis": basis,
            "days_late": max((held - due).days, 0)}


def _verification(goals: Goals) -> dict[str, Any]:
    """The log's digest now and whether verify passed; the reason where it cannot say."""
    try:
        digest = goals.digest()
        result = goals.verify()
    except GoalflowError as e:
        return {"available": False, "problem": str(e)}
    return {"available": True, "size": digest.size, "root": digest.root, "at": digest.at,
            "intact": result.intact, "damage": [d.message for d in result.damage],
            "began": None if result.began is None else result.began._asdict()}


def _duration(seconds: int) -> str:
    if seconds < 0:
        return f"recorded {_duration(-seconds)} before it occurred"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} seconds"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("goalflow.report", "templates"),
        autoescape=True,  # every text a person typed is shown, never run
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["css_string"] = _css_string
    env.filters["moment"] = _moment
    return env


def _css_string(value: object) -> Markup:
    """A CSS string literal that no text can break out of (every other character escaped)."""
    return Markup('"' + "".join(c if (c.isalnum() and c.isascii()) or c in " -_.:"
                         else f"\\{ord(c):x} " for c in str(value)) + '"')


def _moment(value: str | None) -> str:
    if value is None:
        return "-"
    return datetime.fromisoformat(value).isoformat(" ", "minutes")
