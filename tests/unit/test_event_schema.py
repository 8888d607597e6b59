"""The schema lock: no change to the public record lands without a new version.

src/goalflow/domain/events.lock.json keeps every stored event type's fields at every
version (scripts/lock-events writes it). The code's current fields must be the lock's for
its current version; each version above 1 needs its upcaster; and the store format's
EVENTS_SCHEMA must be the lock's.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from goalflow.domain.goal import Goal
from goalflow.domain.schema import stored_types
from goalflow.persistence.formats import EVENTS_SCHEMA

LOCK = orjson.loads((Path(__file__).resolve().parents[2] / "src" / "goalflow" / "domain"
                     / "events.lock.json").read_bytes())
TYPES = stored_types()
HOW = ("see README, 'Changing an event': give it a new class_version with an upcaster from"
       " the one before, capture fixtures (scripts/capture-fixtures events), then lock the"
       " schema (scripts/lock-events)")


def lock_problems(name: str, topic: str, version: int, fields: dict[str, str]) -> list[str]:
    """What is wrong between one stored type as the code has it and the lock."""
    if name not in LOCK["types"]:
        return [f"{name} is a new event type, not in the lock: {HOW}"]
    locked = LOCK["types"][name]
    if locked["topic"] != topic:
        return [f"{name}'s stored topic changed: events stored before would not read"]
    if str(version) not in locked["versions"]:
        return [f"{name} v{version} is not locked: {HOW}"]
    if max(map(int, locked["versions"])) != version:
        return [f"{name} is at class_version {version} but the lock has a newer one"]
    theirs = locked["versions"][str(version)]["fields"]
    changed = sorted(k for k in fields.keys() | theirs.keys() if fields.get(k) != theirs.get(k))
    if changed:
        return [f"{name}'s fields {', '.join(changed)} changed without a new class_version"
                f" (it is {version}): {HOW}"]
    return []


@pytest.mark.parametrize("name", sorted(TYPES))
def test_an_event_s_fields_are_the_ones_locked_for_its_version(name: str) -> None:
    problems = lock_problems(name, *TYPES[name])
    assert not problems, problems[0]


def test_a_field_renamed_without_a_new_version_is_caught() -> None:
    topic, version, fields = TYPES["ReviewHeld"]
    renamed = {("note" if k == "notes" else k): v for k, v in fields.items()}
    assert lock_problems("ReviewHeld", topic, version, renamed) == [
        f"ReviewHeld's fields note, notes changed without a new class_version (it is 1): {HOW}"]


def test_a_value_object_field_added_without_a_new_version_is_caught() -> None:
    topic, version, fields = TYPES["Drafted"]
    grown = {**fields, "measures": fields["measures"].replace(
        "cutoff: int | float | None = None", "cutoff: int | float | None = None, unit: str")}
    assert "measures changed without a new class_version" in \
        lock_problems("Drafted", topic, version, grown)[0]


@pytest.mark.parametrize("name", sorted(set(TYPES) - {"Snapshot"}))
def test_every_version_of_an_event_has_an_upcaster_from_the_one_before(name: str) -> None:
    cls = getattr(Goal, name)
    for version in range(2, cls.class_version + 1):
        assert callable(getattr(cls, f"upcast_v{version - 1}_v{version}", None)), (
            f"{name} v{version} has no upcast_v{version - 1}_v{version}: events stored at"
            f" v{version - 1} would not read")


def test_the_store_records_the_locked_event_schema() -> None:
    assert LOCK["events_schema"] == EVENTS_SCHEMA, (
        "set EVENTS_SCHEMA in goalflow/persistence/formats.py to the lock's events_schema")
