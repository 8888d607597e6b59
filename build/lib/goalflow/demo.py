"""The bundled demo: the anxiety goal from DOMAIN.md, from first draft to achieved.

Drafted with the client, a disagreement resolved by revision, steps completed,
meditation replaced after it made things worse, re-agreed, reviewed, achieved.
Dates are relative to the day the demo runs. Each command is recorded a few
minutes after it happened, except one step entered five days late, so the
store shows the difference between clinical time and record time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from goalflow.application import Goals, open
from goalflow.commands import parse_command

CLINICIAN = {"id": "dr-okafor", "role": "clinician"}
CLIENT = {"id": "client-7", "role": "client"}
DEMO_GOAL_ID = UUID("7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b")


def scenario(today: date) -> list[tuple[datetime, datetime, dict[str, Any]]]:
    """(occurred_at, recorded_at, command) for each step of the story."""

    def day(offset: int, hour: int = 10) -> datetime:
        return datetime.combine(today + timedelta(days=offset), time(hour), UTC)

    goal = str(DEMO_GOAL_ID)
    story: list[tuple[int, int, dict[str, Any]]] = [
        (-60, 0, {"command": "draft", "goal_id": goal, "by": CLINICIAN,
                  "subject": {"kind": "client", "id": "client-7"},
                  "statement": "By the end of next month I use relaxation, daily exercise and"
                               " constructive expression of emotions to manage my anxiety,"
                               " measured by self-report and observation",
                  "client_words": "I want to stop panicking before work",
                  "addresses": ["Generalised anxiety disorder (F41.1)"],
                  "strengths": ["walks the dog every morning", "close to her sister"],
                  "measures": [{"name": "GAD-7", "baseline": 15, "target": 7}],
                  "steps": ["Learn two breathing exercises", "Meditate for 10 minutes daily",
                            "Practise expressing emotions constructively in session"],
                  "target_date": (today + timedelta(days=30)).isoformat()}),
        (-60, 0, {"command": "disagree", "goal_id": goal, "by": CLIENT,
                  "reason": "Sitting still makes me restless; I want to move more",
                  "alternative": "Add some exercise I can do at home"}),
        (-59, 0, {"command": "revise", "goal_id": goal, "by": CLINICIAN,
                  "reason": "Client asked for exercise she can do at home",
                  "add_steps": ["10 minutes of yoga daily"]}),
        (-59, 0, {"command": "agree", "goal_id": goal, "by": CLIENT, "terms_version": 2,
                  "method": "signature"}),
        (-52, 0, {"command": "complete_step", "goal_id": goal, "by": CLIENT, "step_id": "s1",
                  "note": "Box breathing and 4-7-8 breathing"}),
        (-45, 0, {"command": "record_progress", "goal_id": goal, "by": CLINICIAN,
                  "measure": "GAD-7", "value": 12}),
        (-40, 0, {"command": "revise", "goal_id": goal, "by": CLINICIAN,
                  "reason": "Meditation made the client feel worse (racing thoughts);"
                            " replaced with progressive muscle relaxation",
                  "remove_steps": ["s2"],
                  "add_steps": ["Progressive muscle relaxation for 10 minutes daily"]}),
        (-40, 0, {"command": "agree", "goal_id": goal, "by": CLIENT, "terms_version": 3,
                  "method": "verbal", "witnessed_by": CLINICIAN}),
        (-30, 0, {"command": "review", "goal_id": goal, "by": CLINICIAN, "outcome": "continue",
                  "notes": "Relaxation is helping; keep going",
                  "next_review_on": (today - timedelta(days=2)).isoformat()}),
        (-21, 0, {"command": "complete_step", "goal_id": goal, "by": CLIENT, "step_id": "s3"}),
        (-12, 5, {"command": "complete_step", "goal_id": goal, "by": CLINICIAN,
                  "step_id": "s4", "note": "Yoga every day for three weeks"}),
        (-6, 0, {"command": "complete_step", "goal_id": goal, "by": CLIENT, "step_id": "s5"}),
        (-3, 0, {"command": "record_progress", "goal_id": goal, "by": CLINICIAN,
                 "measure": "GAD-7", "value": 6}),
        (-2, 0, {"command": "review", "goal_id": goal, "by": CLINICIAN, "outcome": "achieve",
                 "notes": "GAD-7 at 6, below the target of 7"}),
        (-2, 0, {"command": "achieve", "goal_id": goal, "by": CLINICIAN,
                 "evidence": "GAD-7 fell from 15 to 6; every step completed"}),
    ]
    return [
        (day(offset), day(offset + late) + timedelta(minutes=5 * (n + 1)),
         {**command, "occurred_at": day(offset).isoformat(),
          "command_id": f"demo-{n + 1}"})
        for n, (offset, late, command) in enumerate(story)
    ]


class _ScenarioClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def run(url: str, today: date) -> Goals:
    """Apply the scenario to the store at ``url``; returns the open store."""
    clock = _ScenarioClock()
    goals = open(url, clock=clock)
    for _occurred_at, recorded_at, data in scenario(today):
        clock.now = recorded_at
        command, arguments = parse_command(data)
        goals.execute(command, **arguments)
    return goals
