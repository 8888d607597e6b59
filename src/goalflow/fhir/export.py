"""A goal as a FHIR Goal resource (R5 or R4B), at any version: the mapping in the README."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, tzinfo
from typing import Any

import attrs

from goalflow import outcomes
from goalflow.domain.goal import Goal
from goalflow.domain.values import Measure, calendar_date
from goalflow.fhir import codes

ACHIEVEMENT_DISPLAYS = {"achieved": "Achieved", "improving": "Improving",
                        "worsening": "Worsening", "no-change": "No Change"}
"""The goal-achievement codes goalflow derives, with their displays (HL7 terminology)."""

REASONED_STATUSES = frozenset({"on-hold", "cancelled", "rejected", "entered-in-error"})
"""The statuses whose reason is the Goal's ``statusReason`` (hold, discontinue, withdraw,
error)."""


@attrs.frozen
class Facts:
    """What a goal's state does not hold but its Goal resource says, from its events."""

    started_at: datetime | None  # when it first became active
    status_changed_at: datetime  # the last change of status (the draft counts as one)
    last_words: dict[str, str]  # party -> "agree" | "disagree", their latest word


def versions(events: Sequence[Goal.Event]) -> Iterator[tuple[Goal.Event, Goal, Facts]]:
    """Replay the events, yielding after each the event, the goal as it then was and its
    facts. The goal is one object changed in place: use it before asking for the next."""
    goal: Any = None
    status: str | None = None
    started_at: datetime | None = None
    changed_at: datetime | None = None
    words: dict[str, str] = {}
    for event in events:
        goal = event.mutate(goal)
        if goal.status != status:
            status, changed_at = goal.status, event.occurred_at
        if status == "active" and started_at is None:
            started_at = event.occurred_at
        if isinstance(event, Goal.AgreedByClient):
            words[event.party] = "agree"
        elif isinstance(event, Goal.ClientDisagreed):
            words[event.party] = "disagree"
        assert changed_at is not None
        yield event, goal, Facts(started_at, changed_at, dict(words))


def at_version(events: Sequence[Goal.Event], version: int) -> tuple[Goal, Facts]:
    """The goal and its facts at ``version`` (the events up to it replayed)."""
    for event, goal, facts in versions(events[:version]):
        if event.originator_version == version:
            return goal, facts
    raise ValueError(f"no version {version} in these events")  # callers load the goal first


def goal_resource(goal: Goal, facts: Facts, zone: tzinfo, release: str) -> dict[str, Any]:
    """The FHIR Goal for the goal in this state; ``release`` "R5" or "R4B"."""
    codes.check_release(release)
    resource: dict[str, Any] = {
        "resourceType": "Goal",
        "id": str(goal.id),
        "meta": {"versionId": str(goal.version), "lastUpdated": goal.modified_on.isoformat()},
        "extension": acceptance(goal, facts) + [step_extension(s.step_id, s.description, s.status)
                                                for s in goal.steps],
        "lifecycleStatus": goal.status,
        "category": [{"coding": [dict(codes.BEHAVIORAL)]}],
        "description": {"text": goal.statement},
        "subject": {"reference": _subject(goal)},
    }
    achieved = outcomes.achievement(goal)  # from the readings (README, achievementStatus)
    if achieved.code is not None:
        resource["achievementStatus"] = {
            "coding": [{"system": outcomes.ACHIEVEMENT_SYSTEM, "code": achieved.code,
                        "display": ACHIEVEMENT_DISPLAYS[achieved.code]}],
            "text": achieved.explanation}
    if facts.started_at is not None:
        resource["startDate"] = _day(facts.started_at, zone)
    targets = [target(m, goal.target_date) for m in goal.measures]
    if not targets and goal.target_date is not None:
        targets = [{"dueDate": goal.target_date.isoformat()}]
    if targets:
        resource["target"] = targets
    resource["statusDate"] = _day(facts.status_changed_at, zone)
    if goal.status in REASONED_STATUSES and goal.status_reason:
        resource["statusReason"] = goal.status_reason
    drafter = {"reference": codes.person(goal.drafted_by.role, goal.drafted_by.id)}
    resource["source" if release == "R5" else "expressedBy"] = drafter
    if goal.addresses:
        resource["addresses"] = [{"display": name} for name in goal.addresses]
    notes = ([_note(goal.client_words, "client-words")] if goal.client_words else []) + [
        _note(strength, "strength") for strength in goal.strengths]
    if notes:
        resource["note"] = notes
    if goal.status == "completed" and goal.status_reason:  # the achievement's evidence
        if release == "R5":
            resource["outcome"] = [{"concept": {"text": goal.status_reason}}]
        else:
            resource["outcomeCode"] = [{"text": goal.status_reason}]
    if not resource["extension"]:
        del resource["extension"]
    return resource


def acceptance(goal: Goal, facts: Facts) -> list[dict[str, Any]]:
    """One goal-acceptance extension per required party: agree (to the current terms),
    disagree (their latest word was a disagreement) or pending."""
    found = []
    for party in goal.subject.required_parties:
        if party in goal.agreed_parties:
            status = "agree"
        elif facts.last_words.get(party) == "disagree":
            status = "disagree"
        else:
            status = "pending"
        found.append({"url": codes.ACCEPTANCE, "extension": [
            {"url": "individual", "valueReference": {"reference": f"Patient/{party}"}},
            {"url": "status", "valueCode": status},
        ]})
    return found


def step_extension(step_id: str, description: str, status: str) -> dict[str, Any]:
    """goalflow's goal-step extension: a step's id, description and status."""
    return {"url": codes.STEP, "extension": [
        {"url": "id", "valueId": step_id},
        {"url": "description", "valueString": description},
        {"url": "status", "valueCode": status},
    ]}


def target(measure: Measure, due: date | None) -> dict[str, Any]:
    """A Goal.target for a measure: what is measured, the value aimed at, the due date."""
    concept: dict[str, Any] = {}
    instrument = measure.instrument or measure.name
    if instrument in codes.INSTRUMENT_LOINC:
        code, display = codes.INSTRUMENT_LOINC[instrument]
        concept["coding"] = [{"system": codes.LOINC, "code": code, "display": display}]
    concept["text"] = measure.name
    found: dict[str, Any] = {"measure": concept}
    if measure.target is not None:
        found["detailQuantity"] = {
            "value": measure.target, "comparator": codes.COMPARATOR[measure.direction],
            "unit": codes.SCORE, "system": codes.UCUM, "code": codes.SCORE}
    if due is not None:
        found["dueDate"] = due.isoformat()
    return found


def _subject(goal: Goal) -> str:
    kind = "Group" if goal.subject.kind == "group" else "Patient"
    return f"{kind}/{goal.subject.id}"


def _note(text: str, kind: str) -> dict[str, Any]:
    return {"extension": [{"url": codes.NOTE_KIND, "valueCode": kind}], "text": text}


def _day(moment: datetime, zone: tzinfo) -> str:
    return calendar_date(moment, zone).isoformat()
