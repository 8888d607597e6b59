"""Goals the FHIR tests share: a group goal with every kind of history, and a client's."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import goalflow
from goalflow import Actor, Measure, Subject
from integration.anxiety_goal import DR_LEE, DR_OKAFOR, GAD7, MAYA, MAYAS_MOTHER, ONE_MONTH_ON

Clock = Any  # the clock fixture (tests/conftest.py): its now is what the service reads

SAM = Actor("client-8", "client")
GROUP = Subject.group("group-2", ["client-7", "client-8"])
PHQ9 = Measure("Depression", baseline=18, target=9, direction="decrease", instrument="PHQ-9")
WELLBEING = Measure("Wellbeing (self-rated)", baseline=3, target=None, direction="increase")


def full_history_goal(goals: goalflow.Goals, clock: Clock) -> UUID:
    """A group goal taken through revisions, group agreement (disagreement, a guardian, a
    witnessed verbal agreement), a step, progress, a review, a hold, achievement and at
    last entered-in-error: every kind of history, one version per event."""
    goal_id = goals.draft(GROUP, "The group practises one calming skill each week",
                          by=DR_LEE, target_date=ONE_MONTH_ON, measures=[GAD7, PHQ9],
                          steps=["Learn box breathing"], strengths=["Supportive peers"],
                          addresses=["Generalised anxiety disorder"],
                          client_words="We want to feel less on edge")
    clock.advance(hours=1)
    goals.disagree(goal_id, by=SAM, reason="Weekly is too often for me",
                   alternative="Every two weeks")
    clock.advance(hours=1)
    goals.revise(goal_id, by=DR_LEE, reason="Sam asked for a gentler pace",
                 statement="The group practises one calming skill every two weeks",
                 measures=[GAD7, PHQ9, WELLBEING])
    clock.advance(hours=1)
    goals.agree(goal_id, by=MAYAS_MOTHER, terms_version=2, method="signature")
    goals.agree(goal_id, by=SAM, terms_version=2, method="verbal", witnessed_by=DR_LEE)
    clock.advance(days=2)
    goals.complete_step(goal_id, by=MAYA, step_id="s1", note="Did it twice")
    goals.record_progress(goal_id, by=DR_LEE, measure="GAD-7", value=11)
    clock.advance(days=5)
    goals.review(goal_id, by=DR_OKAFOR, outcome="continue", next_review_on=date(2025, 3, 20))
    goals.hold(goal_id, by=DR_LEE, reason="Group paused over the holiday")
    clock.advance(days=3)
    goals.resume(goal_id, by=DR_LEE, reason="Group meets again")
    clock.advance(days=1)
    goals.achieve(goal_id, by=DR_LEE, evidence="GAD-7 down to 6 for both members")
    clock.advance(days=1)
    goals.enter_in_error(goal_id, by=DR_OKAFOR, reason="Recorded for the wrong group")
    return goal_id


def client_goal(goals: goalflow.Goals) -> UUID:
    """Maya's own goal, agreed: active at version 2."""
    goal_id = goals.draft(Subject.client("client-7"), "Sleep through the night most nights",
                          by=DR_LEE, target_date=ONE_MONTH_ON, measures=[PHQ9],
                          steps=["No screens after 22:00"], addresses=["Insomnia"])
    goals.agree(goal_id, by=MAYA, terms_version=1, method="portal")
    return goal_id
