"""FHIR Goals (R4B or R5) brought into goalflow through the ordinary commands.

Each Goal becomes a plan of commands (draft, the agreements or disagreements its
goal-acceptance extensions record, its completed steps, the change to its status), each with a
command id that names the FHIR resource it came from: that id is the mark that the event was
imported, and makes a second import of the same resource a replay that records nothing. The
plan is tried first on a scratch store in memory, so a Goal goalflow cannot reach is refused
before anything is recorded (README, "FHIR import").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, tzinfo
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

import orjson

from goalflow.domain.values import Actor, Measure, Subject
from goalflow.errors import GoalflowError, InvalidCommand
from goalflow.fhir import codes

if TYPE_CHECKING:
    from goalflow.application import Goals, Outcome

Command = tuple[str, dict[str, Any]]

IGNORED = frozenset({"resourceType", "id", "meta", "text", "identifier", "category",
                     "priority", "achievementStatus", "continuous", "source", "expressedBy"})
"""Elements read for the resource's identity or not kept: goalflow's goals are all
behavioural, unprioritised, and their achievement is derived from progress; who drafted the
goal (source / expressedBy) becomes the drafting actor when it is a Practitioner."""
MAPPED = frozenset({"extension", "lifecycleStatus", "description", "subject", "startDate",
                    "target", "statusDate", "statusReason", "addresses", "note", "outcome",
                    "outcomeCode"})
ACTIVATED = frozenset({"active", "on-hold", "completed", "cancelled"})
REACHABLE = ("proposed", "active", "on-hold", "completed", "cancelled", "rejected",
             "entered-in-error")
CLOSING = {"on-hold": "hold", "completed": "achieve", "cancelled": "discontinue",
           "rejected": "withdraw", "entered-in-error": "enter_in_error"}
GOAL_IDS = UUID("7c1d8a52-3f1e-4b8e-9a57-2f0c6d1e9b30")
"""The namespace of goal ids made from FHIR ids that are not UUIDs (uuid5 of the id)."""


def import_resource(goals: Goals, resource: Mapping[str, Any], *, by: Actor,
                    clock: Callable[[], datetime]) -> list[Outcome]:
    """Import a Goal or a Bundle of Goals; every command's outcome, or nothing recorded."""
    from goalflow import application

    if not isinstance(by, Actor):
        raise InvalidCommand(f"by must be an Actor, not {type(by).__name__}", field="by")
    if not by.is_clinical:
        raise InvalidCommand(f"{by.describe()} may not import goals; only a clinician or"
                             " supervisor may", field="by")
    zone = goals.tzinfo
    found = _goals(resource)
    plans = [plan(g, where, by, zone) for where, g in found]
    commands = [c for p in plans for c in p]
    # A draft of a goal id the store has from another source (another version of the
    # resource, say) is refused now: in the batch it would stop the others half-way.
    for (command, arguments) in (p[0] for p in plans):
        assert command == "draft"
        earlier = goals.store.find_command(arguments["command_id"])
        if earlier is None and goals.store.exists(UUID(arguments["goal_id"])):
            raise InvalidCommand(
                f"FHIR Goal {arguments['goal_id']} was imported before from another version"
                " or content of the resource, or the store has a goal of that id",
                field="id")
    with application.open("memory://", clock=clock, timezone=goals.timezone) as scratch:
        for (_, goal), commands_of_goal in zip(found, plans, strict=True):
            try:
                list(scratch.execute_many(commands_of_goal, batch=len(commands_of_goal)))
            except GoalflowError as e:
                raise InvalidCommand(
                    f"FHIR Goal {goal.get('id')}: lifecycleStatus {goal.get('lifecycleStatus')}"
                    f" cannot be reached in goalflow: {e}", field="lifecycleStatus") from e
    return list(goals.execute_many(commands, batch=len(commands)))


def _goals(resource: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    if not isinstance(resource, Mapping):
        raise InvalidCommand(f"a FHIR resource is a JSON object, not {type(resource).__name__}",
                             field="resourceType")
    kind = resource.get("resourceType")
    if kind == "Goal":
        return [("Goal", resource)]
    if kind != "Bundle":
        raise InvalidCommand(f"resourceType {kind!r}: goalflow imports a Goal or a Bundle of"
                             " Goals", field="resourceType")
    found = []
    for n, entry in enumerate(_list(resource, "entry", "Bundle")):
        inner = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(inner, Mapping) or inner.get("resourceType") != "Goal":
            kind = inner.get("resourceType") if isinstance(inner, Mapping) else None
            raise InvalidCommand(f"Bundle.entry[{n}].resource is {kind!r}, not a Goal",
                                 field=f"entry[{n}].resource")
        found.append((f"Bundle.entry[{n}].resource", inner))
    if not found:
        raise InvalidCommand("the Bundle holds no Goal", field="entry")
    return found


def plan(goal: Mapping[str, Any], where: str, by: Actor, zone: tzinfo) -> list[Command]:
    """The commands that bring this Goal into goalflow (nothing is checked against a store)."""
    g = _Reader(goal, where)
    unknown = sorted(set(goal) - IGNORED - MAPPED)
    if unknown:
        raise g.error(unknown[0], "goalflow has no place for it")
    fhir_id = g.text("id")
    release = _release(g)
    status = g.text("lifecycleStatus")
    if status not in REACHABLE:
        raise g.error("lifecycleStatus", f"{status!r}: goalflow cannot reach it (its statuses:"
                      f" {', '.join(REACHABLE)})")
    steps, acceptance = _extensions(g)
    subject = _subject(g, acceptance)
    parties = subject.required_parties
    for party in acceptance:
        if party not in parties:
            raise g.error("extension", f"goal-acceptance names Patient/{party}, who is not"
                          f" the goal's subject")
    measures, due = _targets(g)
    client_words, strengths = _notes(g)
    started = g.day("startDate")
    status_on = g.day("statusDate")
    if started and status_on and status_on < started:
        raise g.error("statusDate", f"{status_on} is before startDate {started}")
    reason = goal.get("statusReason")
    if reason is not None and (status not in CLOSING or status == "completed"):
        raise g.error("statusReason", f"goalflow keeps a status reason only for"
                      f" {', '.join(s for s in CLOSING if s != 'completed')}")
    if reason is not None:
        g.text("statusReason")
    evidence = _outcome(g, release, status)

    meta = goal.get("meta")
    version = meta.get("versionId") if isinstance(meta, Mapping) else None
    source = f"fhir:Goal/{fhir_id}/_history/{version}" if isinstance(version, str) else \
        f"fhir:Goal/{fhir_id}#sha256:{_digest(goal)}"
    goal_id = _goal_id(fhir_id)
    commands: list[Command] = []

    def add(command: str, occurred: date | None, **arguments: Any) -> None:
        arguments.update(goal_id=str(goal_id), command_id=f"{source}#{len(commands) + 1}")
        if occurred is not None:
            arguments["occurred_at"] = datetime.combine(occurred, time(), tzinfo=zone)
        commands.append((command, arguments))

    drafted_on = started or status_on
    activated = status in ACTIVATED or (status == "entered-in-error" and started is not None)
    drafter = _drafter(goal, release) or by
    add("draft", drafted_on, subject=subject, statement=_description(g), by=drafter,
        target_date=due, measures=measures, steps=[d for d, _ in steps], strengths=strengths,
        addresses=_addresses(g), client_words=client_words)
    if activated:
        for party in parties:
            if acceptance.get(party, "agree") != "agree":
                raise g.error("extension", f"goal-acceptance of Patient/{party} is"
                              f" {acceptance[party]}, but lifecycleStatus {status} needs every"
                              " party's agreement")
            add("agree", drafted_on, by=Actor(party, "client"), terms_version=1,
                method="verbal", witnessed_by=by)
        for n, (_, step_status) in enumerate(steps, start=1):
            if step_status == "completed":
                add("complete_step", drafted_on, by=by, step_id=f"s{n}")
    else:
        if parties and all(acceptance.get(p) == "agree" for p in parties):
            raise g.error("extension", f"every party agrees, which makes a goal active, but"
                          f" lifecycleStatus is {status}")
        for party, word in acceptance.items():
            client = Actor(party, "client")
            if word == "agree":
                add("agree", drafted_on, by=client, terms_version=1, method="verbal",
                    witnessed_by=by)
            elif word == "disagree":
                add("disagree", drafted_on, by=client,
                    reason=f"(imported from {source}: goal-acceptance status disagree)")
        done = [n for n, (_, s) in enumerate(steps, start=1) if s == "completed"]
        if done:
            raise g.error("extension", f"step {done[0]} is completed, but a goal that was"
                          " never active has no completed steps")
    if status in CLOSING:
        closed_on = status_on or drafted_on
        if status == "completed":
            add("achieve", closed_on, by=by, evidence=evidence)
        else:
            add(CLOSING[status], closed_on, by=by,
                reason=reason or f"(imported from {source}: lifecycleStatus {status})")
    return commands


class _Reader:
    """One Goal's elements, read with errors that name the element."""

    def __init__(self, goal: Mapping[str, Any], where: str) -> None:
        self.goal = goal
        self.where = where

    def error(self, element: str, why: str) -> InvalidCommand:
        name = self.goal.get("id")
        which = f"FHIR Goal {name}" if isinstance(name, str) else self.where
        return InvalidCommand(f"{which}: {element}: {why}", field=element)

    def text(self, element: str) -> str:
        value = self.goal.get(element)
        if not isinstance(value, str) or not value.strip():
            raise self.error(element, f"needs a string, not {value!r}")
        return value

    def day(self, element: str) -> date | None:
        value = self.goal.get(element)
        if value is None:
            return None
        try:
            return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 \
                else _no_day()
        except ValueError:
            raise self.error(element, f"{value!r} is not a full date (YYYY-MM-DD)") from None


def _no_day() -> date:
    raise ValueError


def _list(parent: Mapping[str, Any], element: str, where: str) -> list[Any]:
    value = parent.get(element, [])
    if not isinstance(value, list):
        raise InvalidCommand(f"{where}.{element} must be a list", field=element)
    return value


def _release(g: _Reader) -> str:
    r5 = sorted({"source", "continuous", "outcome"} & set(g.goal))
    r4b = sorted({"expressedBy", "outcomeCode", "outcomeReference"} & set(g.goal))
    if r5 and r4b:
        raise g.error(r4b[0], f"an R4B element beside R5's {r5[0]}: which release is this?")
    return "R4B" if r4b else "R5"


def _reference(value: Any) -> str | None:
    if isinstance(value, Mapping) and isinstance(value.get("reference"), str):
        return str(value["reference"])
    return None


def _subject(g: _Reader, acceptance: dict[str, str]) -> Subject:
    reference = _reference(g.goal.get("subject")) or ""
    kind, _, ident = reference.partition("/")
    if kind == "Patient" and ident:
        return Subject.client(ident)
    if kind == "Group" and ident:
        if not acceptance:
            raise g.error("subject", f"{reference}: goalflow needs a group's members, given as"
                          " the Patients of goal-acceptance extensions")
        return Subject.group(ident, list(acceptance))
    raise g.error("subject", f"{reference or g.goal.get('subject')!r}: goalflow takes a"
                  " Patient or a Group")


def _extensions(g: _Reader) -> tuple[list[tuple[str, str]], dict[str, str]]:
    steps: list[tuple[str, str]] = []
    acceptance: dict[str, str] = {}
    for n, ext in enumerate(_list(g.goal, "extension", "Goal")):
        parts = {e.get("url"): e for e in ext.get("extension", []) if isinstance(e, Mapping)} \
            if isinstance(ext, Mapping) and isinstance(ext.get("extension"), list) else {}
        url = ext.get("url") if isinstance(ext, Mapping) else None
        if url == codes.ACCEPTANCE:
            who = _reference(parts.get("individual", {}).get("valueReference")) or ""
            kind, _, party = who.partition("/")
            word = parts.get("status", {}).get("valueCode", "pending")
            if kind != "Patient" or not party or word not in codes.ACCEPTANCE_STATUSES:
                raise g.error(f"extension[{n}]", "goal-acceptance needs an individual"
                              " Patient and a status agree, disagree or pending")
            acceptance[party] = word
        elif url == codes.STEP:
            description = parts.get("description", {}).get("valueString")
            status = parts.get("status", {}).get("valueCode", "open")
            if not isinstance(description, str) or status not in ("open", "completed"):
                raise g.error(f"extension[{n}]", "goal-step needs a description and a status"
                              " open or completed")
            steps.append((description, status))
        else:
            raise g.error(f"extension[{n}]", f"{url!r}: goalflow does not keep this extension")
    return steps, acceptance


def _targets(g: _Reader) -> tuple[list[Measure], date | None]:
    measures = []
    dues = set()
    for n, target in enumerate(_list(g.goal, "target", "Goal")):
        element = f"target[{n}]"
        if not isinstance(target, Mapping):
            raise g.error(element, "must be an object")
        extra = sorted(set(target) - {"measure", "detailQuantity", "dueDate"})
        if extra:
            raise g.error(f"{element}.{extra[0]}", "goalflow's targets are a score"
                          " (detailQuantity) on a measure by a due date")
        if "dueDate" in target:
            dues.add(_Reader(target, element).day("dueDate"))
        if "measure" not in target:
            if "detailQuantity" in target:
                raise g.error(element, "gol-1: a target with a detail needs a measure")
            continue
        name, instrument = _measure(g, element, target["measure"])
        value, direction = None, "decrease"
        if "detailQuantity" in target:
            value, direction = _quantity(g, f"{element}.detailQuantity",
                                         target["detailQuantity"])
        measures.append(Measure(name, target=value, direction=direction,  # type: ignore[arg-type]
                                instrument=instrument))
    if len(dues) > 1:
        raise g.error("target.dueDate", "goalflow keeps one target date; these differ:"
                      f" {', '.join(sorted(str(d) for d in dues))}")
    return measures, next(iter(dues), None)


def _measure(g: _Reader, element: str, concept: Any) -> tuple[str, str | None]:
    codings = concept.get("coding", []) if isinstance(concept, Mapping) else []
    instrument = next((codes.LOINC_INSTRUMENT[c["code"]] for c in codings
                       if isinstance(c, Mapping) and c.get("system") == codes.LOINC
                       and c.get("code") in codes.LOINC_INSTRUMENT), None)
    name = concept.get("text") if isinstance(concept, Mapping) else None
    if not isinstance(name, str):
        name = instrument or next((c.get("display") or c.get("code") for c in codings
                                   if isinstance(c, Mapping)), None)
    if not isinstance(name, str):
        raise g.error(f"{element}.measure", "needs a text or a coding to name the measure")
    return name, instrument


def _quantity(g: _Reader, element: str, quantity: Any) -> tuple[int | float, str]:
    if not isinstance(quantity, Mapping):
        raise g.error(element, "must be an object")
    value = quantity.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise g.error(f"{element}.value", f"needs a number, not {value!r}")
    unit = quantity.get("code", quantity.get("unit", codes.SCORE))
    if unit not in (codes.SCORE, "score"):
        raise g.error(f"{element}.code", f"{unit!r}: goalflow's measures are scores"
                      " ({score})")
    comparator = quantity.get("comparator", "<=")
    if comparator not in codes.DIRECTION:
        raise g.error(f"{element}.comparator", f"{comparator!r}: goalflow needs which way is"
                      " better (<, <=, >=, >)")
    return value, codes.DIRECTION[comparator]


def _notes(g: _Reader) -> tuple[str | None, list[str]]:
    words: list[str] = []
    strengths: list[str] = []
    for n, note in enumerate(_list(g.goal, "note", "Goal")):
        kinds = [e.get("valueCode") for e in note.get("extension", [])
                 if isinstance(e, Mapping) and e.get("url") == codes.NOTE_KIND] \
            if isinstance(note, Mapping) else []
        text = note.get("text") if isinstance(note, Mapping) else None
        if kinds not in (["client-words"], ["strength"]) or not isinstance(text, str):
            raise g.error(f"note[{n}]", "goalflow keeps the client's words and strengths as"
                          f" notes, each marked with the {codes.NOTE_KIND} extension")
        (words if kinds == ["client-words"] else strengths).append(text)
    if len(words) > 1:
        raise g.error("note", "more than one note of the client's words")
    return (words[0] if words else None), strengths


def _description(g: _Reader) -> str:
    concept = g.goal.get("description")
    if isinstance(concept, Mapping):
        text = concept.get("text") or next(
            (c.get("display") for c in concept.get("coding", []) if isinstance(c, Mapping)),
            None)
        if isinstance(text, str):
            return text
    raise g.error("description", "needs a text (or a coding with a display)")


def _addresses(g: _Reader) -> list[str]:
    names = []
    for n, ref in enumerate(_list(g.goal, "addresses", "Goal")):
        name = ref.get("display") or ref.get("reference") if isinstance(ref, Mapping) else None
        if not isinstance(name, str):
            raise g.error(f"addresses[{n}]", "needs a display (goalflow keeps names)")
        names.append(name)
    return names


def _outcome(g: _Reader, release: str, status: str) -> str | None:
    outcomes = _list(g.goal, "outcome" if release == "R5" else "outcomeCode", "Goal")
    if not outcomes:
        return None
    element = "outcome" if release == "R5" else "outcomeCode"
    if status != "completed" or len(outcomes) > 1:
        raise g.error(element, "goalflow keeps one outcome: the evidence of a completed goal")
    first = outcomes[0] if isinstance(outcomes[0], Mapping) else {}
    concept = first.get("concept") if release == "R5" else first
    text = concept.get("text") if isinstance(concept, Mapping) else None
    if not isinstance(text, str):
        raise g.error(element, "goalflow keeps an outcome as its text (a concept with text)")
    return text


def _drafter(goal: Mapping[str, Any], release: str) -> Actor | None:
    """The Practitioner who expressed the goal drafts it; anyone else's goal is drafted by
    the importing clinician (only clinicians draft)."""
    reference = _reference(goal.get("source" if release == "R5" else "expressedBy")) or ""
    kind, _, ident = reference.partition("/")
    return Actor(ident, "clinician") if kind == "Practitioner" and ident else None


def _goal_id(fhir_id: str) -> UUID:
    try:
        return UUID(fhir_id)
    except ValueError:
        return uuid5(GOAL_IDS, fhir_id)


def _digest(goal: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(goal, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
