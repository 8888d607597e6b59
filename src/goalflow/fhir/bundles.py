"""FHIR Bundles of goals: one goal's history with its provenance, a subject's goals."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import tzinfo
from typing import Any

from goalflow.domain.goal import Goal
from goalflow.fhir import codes
from goalflow.fhir.export import goal_resource, versions
from goalflow.fhir.provenance import provenance, provenance_id


def history(events: Sequence[Goal.Event], zone: tzinfo, release: str) -> dict[str, Any]:
    """A ``history`` Bundle: each version of the goal, newest first, and its Provenance."""
    codes.check_release(release)
    entries: list[dict[str, Any]] = []
    for event, goal, facts in versions(events):
        version = goal.version
        entries[:0] = [
            {"fullUrl": f"urn:uuid:{goal.id}",
             "resource": goal_resource(goal, facts, zone, release),
             "request": {"method": "POST", "url": "Goal"} if version == 1 else
             {"method": "PUT", "url": f"Goal/{goal.id}"}},
            {"fullUrl": f"urn:uuid:{provenance_id(goal.id, version)}",
             "resource": provenance(event, release),
             "request": {"method": "POST", "url": "Provenance"}},
        ]
    return {"resourceType": "Bundle", "type": "history", "entry": entries}


def collection(resources: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A ``collection`` Bundle of Goal resources."""
    return {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]}
