"""Maya's first month, told in commands: her anxiety goal, her group's goal, another client's.

Maya disagrees with the meditation step, Dr Lee replaces it with yoga, she agrees, completes
the breathing step and records her GAD-7; the Tuesday anxiety group agrees its own goal;
client-9's goal goes on hold. The yoga step (s4) is left open for the tests to complete.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import attrs
from anxiety_goal import (
    ANOTHER_CLIENT,
    DR_LEE,
    GAD7,
    MAYA,
    MAYAS_MOTHER,
    ONE_MONTH_ON,
    YOGA,
    draft_anxiety_goal,
)
from random_clinic import ClinicClock

import goalflow
from goalflow import Actor, Subject

CLIENT_8 = Actor("client-8", "client")
TUESDAY_GROUP = Subject.group("anxiety-group-2", ["client-7", "client-8"])
YOGA_STEP = "s4"


@attrs.frozen
class MayasMonth:
    anxiety_goal: UUID
    group_goal: UUID
    other_clients_goal: UUID


def record_mayas_month(goals: goalflow.Goals, clock: ClinicClock) -> MayasMonth:
    anxiety = draft_anxiety_goal(goals)
    clock.advance(minutes=30)
    goals.disagree(anxiety, by=MAYA, reason="Twenty minutes of meditation is too long",
                   alternative="Ten minutes of yoga")
    clock.advance(minutes=10)
    goals.revise(anxiety, by=DR_LEE, reason="Yoga suits her better", remove_steps=["s2"],
                 add_steps=[YOGA])
    goals.agree(anxiety, by=MAYA, terms_version=2, method="signature")
    clock.advance(days=2)
    goals.complete_step(anxiety, by=MAYA, step_id="s1", note="Box breathing works for me")
    goals.record_progress(anxiety, by=MAYA, measure="GAD-7", value=12)

    group = goals.draft(TUESDAY_GROUP, "The group practises calming techniques together",
                        by=DR_LEE, steps=[YOGA], measures=[GAD7], target_date=ONE_MONTH_ON,
                        addresses=["generalised anxiety disorder"])
    clock.advance(hours=1)
    goals.agree(group, by=MAYAS_MOTHER, terms_version=1, method="signature")
    goals.agree(group, by=CLIENT_8, terms_version=1, method="portal")

    other = goals.draft(Subject.client(ANOTHER_CLIENT.id), "Sleep through the night",
                        by=DR_LEE, steps=["No screens after ten"], measures=[GAD7],
                        target_date=ONE_MONTH_ON, client_words="I want to sleep")
    goals.agree(other, by=ANOTHER_CLIENT, terms_version=1, method="signature")

    clock.advance(days=7)
    goals.review(anxiety, by=DR_LEE, outcome="continue", notes="Sleeping better",
                 next_review_on=clock.now.date() + timedelta(days=14))
    goals.record_progress(anxiety, by=MAYA, measure="GAD-7", value=10.5)
    goals.record_progress(group, by=CLIENT_8, measure="GAD-7", value=11)
    goals.hold(other, by=DR_LEE, reason="In hospital for two weeks")
    clock.advance(hours=1)
    return MayasMonth(anxiety, group, other)
