"""A long, seeded, random clinic: many clients, groups, guardians and every kind of event.

``run_clinic`` drives the Goals service with commands the lifecycle accepts, chosen at random
from each goal's real state, so the same seed on a fresh store always records the same log
(same goal ids, same times, same positions). ``exercised`` reads the recorded log back and
says what it holds, so a test can prove the scenario covered every event type and the
awkward cases: steps removed, reworded and added by a revision, measures replaced, holds,
reviews with and without a date, goals entered in error, late entries, an agreement
withdrawn by a disagreement, a guardian speaking for a client.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, Protocol
from uuid import UUID

from anxiety_goal import (
    BREATHING,
    DR_LEE,
    DR_OKAFOR,
    EXPRESSING,
    GAD7,
    MAYAS_MOTHER,
    MEDITATION,
    STATEMENT,
    YOGA,
)

import goalflow
from goalflow import Actor, Goal, Measure, Subject

CLINICIANS = (DR_LEE, DR_OKAFOR)
CLIENTS = ("client-7", "client-8", "client-9", "client-10", "client-11")
GUARDIANS = {"client-7": MAYAS_MOTHER, "client-10": Actor("guardian-4", "guardian",
                                                            on_behalf_of="client-10")}
GROUPS = (
    Subject.group("anxiety-group-2", ["client-7", "client-8", "client-9"]),
    Subject.group("sleep-group-1", ["client-8", "client-10"]),
    Subject.group("anger-group-5", ["client-9", "client-11", "client-7", "client-10"]),
)
STATEMENTS = (
    STATEMENT,
    "Maya manages anxiety before work with breathing and yoga",
    "Sleep through the night at least five nights a week",
    "Express anger in words rather than by shouting",
    "Walk to the shop alone without a panic attack",
)
STEP_TEXTS = (
    BREATHING, MEDITATION, EXPRESSING, YOGA,
    "Walk the dog for 20 minutes every morning",
    "Write three lines in a mood diary each evening",
    "Call her sister once a week",
    "Practise progressive muscle relaxation before bed",
)
CLIENT_WORDS = (
    None,
    "I want to stop lying awake worrying about work",
    "I want to stop panicking on the bus",
    "I want my kids to stop being scared of me",
)
PHQ9 = Measure("PHQ-9", baseline=14, target=5)
SLEEP = Measure("Nights slept through", baseline=1, target=5, direction="increase")
MEASURE_SETS = (
    (GAD7,),
    (GAD7, PHQ9),
    (Measure("GAD-7", baseline=15, target=5),),  # the target tightened
    (PHQ9,),                                      # GAD-7 replaced
    (SLEEP, Measure("GAD-7", baseline=13, target=7)),
    (Measure("PHQ-9", baseline=16, target=9, instrument="PHQ-9"),
     Measure("GAD-7", instrument="GAD-7", target=7)),  # instruments; GAD-7 from its first reading
)
GAS_LEVELS = ("Panics daily", "Panics most days", "Gets to work calmly most days",
              "Gets to work calmly every day", "Helps a colleague with their panic too")
REASONS = (
    "Meditation felt like a chore; yoga suits her better",
    "Agreed at review to aim higher",
    "The group asked for a slower pace",
    "Night shifts started; the plan must fit them",
)

class ClinicClock(Protocol):
    """The ``clock`` fixture: the service's only "now", moved on by the test."""

    now: datetime

    def __call__(self) -> datetime: ...

    def advance(self, **delta: float) -> datetime: ...


Command = tuple[float, Callable[[], Any]]


class RandomClinic:
    """Random but valid commands against many goals, all from one seed."""

    def __init__(self, goals: goalflow.Goals, clock: ClinicClock, seed: int) -> None:
        self.goals = goals
        self.clock = clock
        self.rng = random.Random(seed)
        self.goal_ids: list[UUID] = []

    def run(self, *, commands: int, max_goals: int) -> None:
        for _ in range(commands):
            self.clock.advance(minutes=self.rng.randint(10, 900))
            if len(self.goal_ids) < 3 or (len(self.goal_ids) < max_goals
                                          and self.rng.random() < 0.12):
                self.draft()
                continue
            goal = self.goals.get(self.rng.choice(self.goal_ids))
            if goal.is_final and self.rng.random() < 0.9:
                continue
            options = self.options(goal)
            if not options:
                continue
            weights = [weight for weight, _ in options]
            _, command = self.rng.choices(options, weights=weights)[0]
            command()

    # -- choices --------------------------------------------------------------

    def when(self, goal: Goal | None) -> dict[str, Any]:
        """Mostly now; sometimes entered up to five days after it happened."""
        if self.rng.random() > 0.15:
            return {}
        occurred = self.clock.now - timedelta(hours=self.rng.uniform(1, 120))
        if goal is not None:
            occurred = max(occurred, goal.drafted_at)
        return {"occurred_at": occurred}

    def clinician(self) -> Actor:
        return self.rng.choice(CLINICIANS)

    def speaker_for(self, party: str) -> Actor:
        guardian = GUARDIANS.get(party)
        if guardian is not None and self.rng.random() < 0.4:
            return guardian
        return Actor(party, "client")

    def draft(self) -> None:
        rng = self.rng
        group = rng.random() < 0.4
        subject = rng.choice(GROUPS) if group else Subject.client(rng.choice(CLIENTS))
        goal_id = UUID(int=rng.getrandbits(128), version=4)
        self.goals.draft(
            subject, rng.choice(STATEMENTS), by=self.clinician(), goal_id=goal_id,
            target_date=self.clock.now.date() + timedelta(days=rng.randint(300, 500)),
            measures=rng.choice(MEASURE_SETS), steps=rng.sample(STEP_TEXTS, rng.randint(1, 4)),
            strengths=rng.sample(["walks her dog", "close to her sister", "plays guitar"],
                                 rng.randint(0, 2)),
            addresses=["generalised anxiety disorder"],
            client_words=rng.choice(CLIENT_WORDS), **self.when(None),
        )
        self.goal_ids.append(goal_id)

    def options(self, goal: Goal) -> list[Command]:
        """The commands the goal accepts now, each with its weight, arguments all chosen."""
        gid, rng, g = goal.goal_id, self.rng, self.goals
        when = self.when(goal)
        clinician = self.clinician()
        member = rng.choice(goal.subject.required_parties)
        anyone = rng.choice([clinician, self.speaker_for(member)])
        found: list[Command] = []

        def add(chance: float, command: Callable[..., Any], **args: Any) -> None:
            found.append((chance, partial(command, gid, **args, **when)))

        if goal.status == "proposed":
            for party in goal.awaiting_agreement_from:
                method = rng.choice(["signature", "portal", "verbal"])
                add(3, g.agree, by=self.speaker_for(party), terms_version=goal.terms_version,
                    method=method, witnessed_by=clinician if method == "verbal" else None)
            # Mostly someone who agreed already: a disagreement withdraws their agreement.
            dissenter = rng.choice(goal.agreed_parties or goal.subject.required_parties)
            add(0.7, g.disagree, by=self.speaker_for(dissenter),
                reason="Twenty minutes a day is too much",
                alternative=rng.choice([None, "Ten minutes of yoga instead"]))
            if not goal.ever_agreed:
                add(0.7, g.add_step, by=clinician, description=rng.choice(STEP_TEXTS))
            add(0.15, g.withdraw, by=clinician, reason="Maya chose another service")
        if goal.status == "active":
            open_steps = [s.step_id for s in goal.steps if s.status == "open"]
            done_steps = [s.step_id for s in goal.steps if s.status == "completed"]
            if open_steps:
                add(3, g.complete_step, by=anyone, step_id=rng.choice(open_steps),
                    note=rng.choice([None, "Did it every day"]))
            if done_steps:
                add(0.8, g.reopen_step, by=clinician, step_id=rng.choice(done_steps),
                    reason="Stopped after a week")
            add(0.8, g.hold, by=clinician, reason="In hospital for two weeks")
            add(0.3, g.achieve, by=clinician, evidence="GAD-7 at 6 for a month")
        if goal.status == "on-hold":
            add(1.5, g.resume, by=clinician, reason=rng.choice([None, "Back from hospital"]))
        if goal.status in ("active", "on-hold"):
            if goal.measures:
                measure = rng.choice(goal.measures)
                value = rng.randint(0, int(measure.maximum)) if measure.whole_points else \
                    rng.choice([rng.randint(0, 7), rng.randint(0, 14) / 2])
                add(3, g.record_progress, by=anyone, measure=measure.name, value=value)
            on = (when.get("occurred_at") or self.clock.now).date()
            add(1.2, g.review, by=clinician, outcome=rng.choice(["continue", "revise"]),
                notes="Sleeping better",
                next_review_on=rng.choice([None, on + timedelta(days=rng.randint(14, 120))]))
            add(0.25, g.discontinue, by=clinician, reason="Moved to another city")
        if goal.status in ("proposed", "active", "on-hold"):
            current = goal.gas_scale
            # A scale that differs from the goal's (the same one again is refused).
            weight, baseline = rng.choice([
                (w, b) for w in (1, 2, 1.5) for b in (-1, -2)
                if current is None or (w, b) != (current.weight, current.baseline_level)])
            add(0.3 if current is None else 0.05, g.set_gas_scale, by=clinician,
                levels=GAS_LEVELS, weight=weight, baseline_level=baseline)
        if goal.gas_scale is not None and goal.status in ("active", "on-hold", "completed",
                                                          "cancelled"):
            add(1.5, g.rate_attainment, by=anyone, level=rng.randint(-2, 2))
        if goal.status in ("proposed", "active", "on-hold"):
            add(1.3, g.revise, by=clinician, reason=rng.choice(REASONS), **self.revision(goal))
        if goal.status != "entered-in-error":
            add(1 if goal.is_final else 0.08, g.enter_in_error, by=clinician,
                reason="Recorded against the wrong client")
        return found

    def revision(self, goal: Goal) -> dict[str, Any]:
        """A revision that really changes something."""
        rng = self.rng
        kinds = rng.sample(["statement", "client_words", "target_date", "measures",
                            "strengths", "add", "remove", "reword"], rng.randint(1, 3))
        revision: dict[str, Any] = {}
        removable = [s.step_id for s in goal.steps if s.status == "open"]
        removed: str | None = None
        if "remove" in kinds and removable and len(goal.steps) > 1:
            removed = rng.choice(removable)
            revision["remove_steps"] = [removed]
        for kind in kinds:
            if kind == "statement":
                statement = rng.choice([s for s in STATEMENTS if s != goal.statement])
                revision["statement"] = statement
            elif kind == "client_words":
                words = rng.choice([w for w in CLIENT_WORDS if w != goal.client_words])
                revision["client_words"] = words
            elif kind == "target_date":
                assert goal.target_date is not None
                revision["target_date"] = goal.target_date + timedelta(days=rng.randint(7, 60))
            elif kind == "measures":
                measures = rng.choice([m for m in MEASURE_SETS if m != goal.measures])
                revision["measures"] = measures
            elif kind == "strengths":
                revision["strengths"] = [*goal.strengths, "started volunteering"][-2:]
            elif kind == "reword":
                candidates = [s for s in goal.steps if s.step_id != removed]
                if candidates:
                    step = rng.choice(candidates)
                    text = rng.choice([t for t in STEP_TEXTS if t != step.description])
                    revision["reword_steps"] = {step.step_id: text}
        if "add" in kinds or not _changes_something(goal, revision):
            revision["add_steps"] = [rng.choice(STEP_TEXTS)]
        return revision


def _changes_something(goal: Goal, revision: dict[str, Any]) -> bool:
    fields = ("statement", "client_words", "target_date", "measures", "strengths")
    return any(tuple(revision[f]) != tuple(getattr(goal, f))
               if isinstance(revision[f], list | tuple) else revision[f] != getattr(goal, f)
               for f in fields if f in revision) or bool(
        revision.get("remove_steps") or revision.get("reword_steps"))


def exercised(goals: goalflow.Goals, goal_ids: list[UUID]) -> Counter[str]:
    """What the recorded log really holds: each event type, and each awkward case."""
    seen: Counter[str] = Counter()
    for goal_id in goal_ids:
        goal: Any = None
        for event in goals.history(goal_id):
            agreed_before = () if goal is None else goal.agreed_parties
            goal = event.mutate(goal)  # type: ignore[attr-defined]
            seen[type(event).__name__] += 1
            seen["guardian spoke"] += event.actor.role == "guardian"
            seen["late entry"] += event.timestamp - event.occurred_at > timedelta(hours=1)
            if isinstance(event, Goal.Drafted):
                seen["group goal"] += len(event.subject.members) >= 3
            if isinstance(event, Goal.ClientDisagreed):
                seen["agreement withdrawn"] += event.party in agreed_before
            if isinstance(event, Goal.ReviewHeld):
                seen["review with a date" if event.next_review_on else "review without a date"] += 1
            if isinstance(event, Goal.Revised):
                seen["step removed"] += bool(event.steps_removed)
                seen["step reworded"] += bool(event.steps_reworded)
                seen["step added"] += bool(event.steps_added)
                seen["measures replaced"] += any(c.field == "measures" for c in event.changes)
                seen["revision of an agreed goal"] += goal.ever_agreed
    return seen


def run_clinic(goals: goalflow.Goals, clock: ClinicClock, *, seed: int, commands: int = 500,
               max_goals: int = 40) -> RandomClinic:
    """Drive the seeded random clinic through ``goals``; the clinic knows its goal ids."""
    clinic = RandomClinic(goals, clock, seed)
    clinic.run(commands=commands, max_goals=max_goals)
    return clinic


EVENT_TYPES = (
    "Drafted", "AgreedByClient", "ClientDisagreed", "StepAdded", "StepCompleted",
    "StepReopened", "ProgressRecorded", "Revised", "ReviewHeld", "PutOnHold", "Resumed",
    "Achieved", "Discontinued", "Withdrawn", "EnteredInError", "GasScaleSet",
    "AttainmentRated",
)
AWKWARD_CASES = (
    "group goal", "guardian spoke", "late entry", "agreement withdrawn", "step removed",
    "step reworded", "step added", "measures replaced", "review with a date",
    "review without a date", "revision of an agreed goal",
)


def far_future() -> date:
    """A day after every due date the clinic can produce."""
    return date(2030, 1, 1)
