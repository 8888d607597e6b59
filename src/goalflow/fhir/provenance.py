"""A FHIR Provenance for each version of a goal: who did what, when, and why."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from goalflow.domain.goal import Goal
from goalflow.domain.values import Actor
from goalflow.fhir import codes

AUTHORING = frozenset({"Drafted", "Revised", "StepAdded"})
"""Events whose actor wrote the goal's terms (agent type ``author``; else ``performer``)."""


def provenance_id(goal_id: UUID, version: int) -> UUID:
    """The Provenance of a version has an id of its own, the same at every export."""
    return uuid5(goal_id, f"Provenance/{version}")


def provenance(event: Goal.Event, release: str) -> dict[str, Any]:
    """The Provenance of the goal version this event made."""
    codes.check_release(release)
    name = type(event).__name__
    goal_id, version = event.originator_id, event.originator_version
    assert isinstance(version, int)
    found: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": str(provenance_id(goal_id, version)),
        "target": [{"reference": f"Goal/{goal_id}/_history/{version}"}],
        "occurredDateTime": event.occurred_at.isoformat(),
        "recorded": event.recorded_at.isoformat(),
        "activity": {"coding": [{"system": codes.DATA_OPERATION, "code": _operation(name)}],
                     "text": name},
        "agent": [_agent(event.actor, "author" if name in AUTHORING else "performer")],
    }
    witness = getattr(event, "witnessed_by", None)
    if witness is not None:
        found["agent"].append(_agent(witness, "WIT"))
    reason = getattr(event, "reason", None)
    if reason:
        if release == "R5":
            # R5 as published (5.0.0) has no Provenance.why nor reason: HL7's cross-version
            # extension carries R4B's Provenance.reason.
            found["extension"] = [{"url": codes.R4B_PROVENANCE_REASON,
                                   "valueCodeableConcept": {"text": reason}}]
        else:
            found["reason"] = [{"text": reason}]
    return found


def _operation(event_name: str) -> str:
    if event_name == "Drafted":
        return "CREATE"
    if event_name == "EnteredInError":
        return "NULLIFY"
    return "UPDATE"


def _agent(actor: Actor, kind: str) -> dict[str, Any]:
    system = codes.PARTICIPATION_TYPE if kind == "WIT" else codes.PARTICIPANT_TYPE
    agent: dict[str, Any] = {
        "type": {"coding": [{"system": system, "code": kind}], "text": actor.role},
        "who": {"reference": codes.person(actor.role, actor.id)},
    }
    if actor.on_behalf_of is not None:
        agent["onBehalfOf"] = {"reference": f"Patient/{actor.on_behalf_of}"}
    return agent
