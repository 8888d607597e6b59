"""The commands the benchmark runs: realistic goal lifecycles, as ``goalflow apply`` reads them.

Every goal follows a plausible course: drafted by a clinician (a client's goal, or now and then
a therapy group's), sometimes disagreed with and revised, or given an extra step, agreed by every
party, worked through (steps completed, progress recorded, reviews held, sometimes revised in
mid-course and agreed again), and mostly achieved in the end. Each command is one JSON object
with the service's argument names, so the same list drives goalflow (``Goals.execute`` or
``goalflow apply``) and the baseline. Commands of different goals are interleaved at random,
each goal's own commands staying in order, as they arrive from a clinic.

Everything is seeded: the same arguments give the same commands (but for the goal ids, which
are drawn from the seeded generator too, so they repeat as well).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from uuid import UUID

Command = dict[str, Any]

CLINICIANS = [{"id": f"dr-{name}", "role": "clinician"}
              for name in ("okafor", "lee", "silva", "novak", "haddad", "moreau")]
STATEMENTS = [
    "By the end of next month I use relaxation, daily exercise and constructive expression of"
    " emotions to manage my anxiety, measured by self-report and observation",
    "Within twelve weeks I get to work on time at least four days a week, using a morning"
    " routine we plan together",
    "I reduce my drinking to no more than two days a week within three months, tracked in a"
    " daily diary",
    "I sleep at least seven hours on most nights by the end of the quarter, using the sleep"
    " hygiene plan",
    "I take part in one group activity a week to reduce isolation, starting this month",
    "I manage panic episodes with grounding techniques so that I can use public transport"
    " again",
]
CLIENT_WORDS = [
    "I want to stop panicking before work",
    "I just want to feel normal again",
    "I want my weekends back",
    "I'd like to sleep through the night",
    "I want to see my friends again without dreading it",
    None,
]
ADDRESSES = ["Generalised anxiety disorder (F41.1)", "Depressive episode (F32.1)",
             "Alcohol use disorder (F10.1)", "Insomnia (G47.0)", "Panic disorder (F41.0)"]
STRENGTHS = ["walks the dog every morning", "close to her sister", "enjoys cooking",
             "keeps appointments", "supportive partner", "plays guitar"]
STEPS = [
    "Learn two breathing exercises", "Meditate for 10 minutes daily",
    "Practise expressing emotions constructively in session", "10 minutes of yoga daily",
    "Keep a daily mood diary", "Walk for 20 minutes after lunch",
    "Agree a bedtime routine and keep to it", "Call a friend once a week",
    "Attend the Thursday peer support group", "Use the grounding card when anxious",
]
EXTRA_STEPS = [
    "Progressive muscle relaxation for 10 minutes daily", "Swim once a week",
    "Limit caffeine after midday", "Plan one pleasant activity each weekend",
]
MEASURES: list[dict[str, Any]] = [
    {"name": "GAD-7", "baseline": 15, "target": 7, "direction": "decrease"},
    {"name": "PHQ-9", "baseline": 18, "target": 9, "direction": "decrease"},
    {"name": "Sleep hours", "baseline": 5, "target": 7, "direction": "increase"},
    {"name": "Drinking days per week", "baseline": 6, "target": 2, "direction": "decrease"},
    {"name": "Outings per week", "baseline": 0, "target": 3, "direction": "increase"},
]
REASONS = [
    "Client asked for exercise she can do at home",
    "Meditation made the client feel worse (racing thoughts)",
    "New job changes the client's mornings",
    "Progress is slower than planned; the target is adjusted",
]
NOTES = ["Relaxation is helping; keep going", "Some setbacks over the holidays",
         "Engaged and motivated", None]


def lifecycle(rng: random.Random, n: int, goal_id: UUID, today: date,
              length: int | None = None) -> list[Command]:
    """The commands of one goal, from its draft on; ``length`` pads or trims to that many."""
    gid = str(goal_id)
    clinician = CLINICIANS[n % len(CLINICIANS)]
    if rng.random() < 0.1:
        parties = [f"client-{n}-{k}" for k in range(1, rng.randint(2, 3) + 1)]
        subject: dict[str, Any] = {"kind": "group", "id": f"group-{n}", "members": parties}
    else:
        parties = [f"client-{n}"]
        subject = {"kind": "client", "id": parties[0]}
    measures = rng.sample(MEASURES, rng.randint(1, 2))
    step_texts = rng.sample(STEPS, rng.randint(2, 4))
    statement = rng.choice(STATEMENTS)
    steps_added = len(step_texts)
    open_steps = [f"s{k}" for k in range(1, steps_added + 1)]
    terms = 1
    review_on = (today + timedelta(days=30)).isoformat()

    def cmd(command: str, by: dict[str, Any], **fields: Any) -> Command:
        return {"command": command, "goal_id": gid, "by": by, **fields}

    def client(party: str) -> dict[str, Any]:
        return {"id": party, "role": "client"}

    def agreements() -> list[Command]:
        out = []
        for party in parties:
            method = rng.choice(("signature", "portal", "verbal"))
            extra = {"witnessed_by": clinician} if method == "verbal" else {}
            out.append(cmd("agree", client(party), terms_version=terms, method=method, **extra))
        return out

    start = [cmd("draft", clinician, subject=subject, statement=statement,
                 client_words=rng.choice(CLIENT_WORDS),
                 addresses=[rng.choice(ADDRESSES)], strengths=rng.sample(STRENGTHS, 2),
                 measures=measures, steps=step_texts,
                 target_date=(today + timedelta(days=rng.randint(60, 180))).isoformat())]
    if rng.random() < 0.3:
        start.append(cmd("disagree", client(parties[0]),
                         reason="Sitting still makes me restless; I want to move more",
                         alternative="Add some exercise I can do at home"))
        steps_added += 1
        open_steps.append(f"s{steps_added}")
        start.append(cmd("revise", clinician, reason=rng.choice(REASONS),
                         add_steps=[rng.choice(EXTRA_STEPS)]))
        terms += 1
    if rng.random() < 0.3:
        steps_added += 1
        open_steps.append(f"s{steps_added}")
        start.append(cmd("add_step", clinician, description=rng.choice(EXTRA_STEPS)))
        terms += 1
    start += agreements()

    def progress() -> Command:
        m = rng.choice(measures)
        low, high = sorted((m["baseline"], m["target"]))
        by = clinician if rng.random() < 0.5 else client(parties[0])
        return cmd("record_progress", by, measure=m["name"], value=rng.randint(low, high))

    def review() -> Command:
        return cmd("review", clinician, outcome="continue", notes=rng.choice(NOTES),
                   next_review_on=review_on)

    middle: list[list[Command]] = [
        [cmd("complete_step", rng.choice([clinician, client(parties[0])]), step_id=step,
             note=rng.choice([None, "Done most days this week"]))]
        for step in open_steps
    ]
    middle += [[progress()] for _ in range(rng.randint(2, 5))]
    middle += [[review()] for _ in range(rng.randint(1, 2))]
    closing: list[Command] = []
    roll = rng.random()
    if roll < 0.8:
        closing = [cmd("review", clinician, outcome="achieve", notes="Target reached"),
                   cmd("achieve", clinician, evidence="Every step completed; measure on"
                       " target")]
    elif roll < 0.9:
        closing = [cmd("review", clinician, outcome="discontinue", notes="Client moved away"),
                   cmd("discontinue", clinician, reason="Client moved out of the area")]
    fixed = len(start) + sum(len(m) for m in middle) + len(closing)
    if length is not None:
        # Pad with the commands long-lived goals collect: readings and reviews.
        for k in range(max(length - fixed, 0)):
            middle.append([review() if k % 20 == 19 else progress()])
    rng.shuffle(middle)
    if rng.random() < 0.2:
        # A revision in mid-course: new terms, agreed again before work goes on.
        terms += 1
        statement = statement + " (revised)"
        revision = [cmd("revise", clinician, reason=rng.choice(REASONS), statement=statement),
                    *agreements()]
        middle.insert(rng.randint(0, len(middle)), revision)
    commands = start + [c for group in middle for c in group] + closing
    return commands if length is None else commands[:length]


def goal_ids(rng: random.Random, count: int) -> list[UUID]:
    return [UUID(int=rng.getrandbits(128), version=4) for _ in range(count)]


def goals(seed: int, count: int, today: date, *, first: int = 0,
          length: tuple[int, int] | None = None) -> list[list[Command]]:
    """``count`` goals' lifecycles (numbered from ``first``); ``length`` bounds each one's."""
    rng = random.Random(seed)
    ids = goal_ids(rng, count)
    return [lifecycle(rng, first + k, ids[k], today,
                      None if length is None else rng.randint(*length))
            for k in range(count)]


def interleave(seed: int, lifecycles: list[list[Command]]) -> list[Command]:
    """All the commands, goals interleaved at random, each goal's own in order."""
    tags = [k for k, commands in enumerate(lifecycles) for _ in commands]
    random.Random(seed).shuffle(tags)
    streams: list[Iterator[Command]] = [iter(commands) for commands in lifecycles]
    return [next(streams[k]) for k in tags]


def stream(seed: int, count: int, today: date, *, first: int = 0) -> list[Command]:
    """Exactly ``count`` commands over as many goals as it takes, interleaved."""
    lifecycles: list[list[Command]] = []
    total = 0
    rng = random.Random(seed)
    while total < count:
        k = len(lifecycles)
        commands = lifecycle(rng, first + k, goal_ids(rng, 1)[0], today)
        lifecycles.append(commands)
        total += len(commands)
    return interleave(seed, lifecycles)[:count]


def with_command_ids(commands: list[Command], prefix: str) -> list[Command]:
    """The commands with a ``command_id`` each, as an EHR sends them (safe to re-run)."""
    return [{**c, "command_id": f"{prefix}-{k}"} for k, c in enumerate(commands, start=1)]


def count_goals(commands: list[Command]) -> int:
    return len({c["goal_id"] for c in commands})
