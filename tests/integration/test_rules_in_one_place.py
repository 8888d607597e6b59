"""Who must agree, when the terms version moves and when a goal goes back to proposed are
stated once, in goalflow.agreement: a change of rule there shows in the aggregate and in
every read model (plans, audit, reviews) alike."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from anxiety_goal import DR_LEE, MAYA, agreed_anxiety_goal, draft_anxiety_goal
from as_printed import printed

import goalflow
from goalflow import agreement


@pytest.fixture
def goals(clock: Any) -> Iterator[goalflow.Goals]:
    with goalflow.open("memory://", clock=clock) as service:
        yield service


def read_models(goals: goalflow.Goals, goal_id: UUID) -> dict[str, tuple[Any, ...]]:
    """(status, terms version, agreed parties) as each read model keeps them."""
    found = {}
    with goals.store.recorder.transaction(commit=False) as tx:
        for name, statement in {
            "plans": "SELECT status, terms_version, agreed_parties FROM gf_plan_goals",
            "audit": "SELECT NULL, terms_version, agreed_parties FROM gf_audit_goals",
            "reviews": "SELECT status, NULL, agreed_parties FROM gf_review_schedule",
        }.items():
            row = tx.execute(f"{statement} WHERE goal_id = ?", (str(goal_id),)
                             ).fetchone()
            assert row is not None
            found[name] = row
    return found


def test_the_events_that_change_the_terms_are_the_domains_to_say(
        goals: goalflow.Goals, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agreement, "TERMS_CHANGES",
                        agreement.TERMS_CHANGES | {"ProgressRecorded"})
    goal_id = agreed_anxiety_goal(goals)
    goals.record_progress(goal_id, by=DR_LEE, measure="GAD-7", value=11)
    goal = goals.get(goal_id)
    assert (goal.status, goal.terms_version, goal.agreed_parties) == ("proposed", 2, ())
    loaded = goals.store.load(goal_id)  # replayed from the log, not the goal just written
    assert (loaded.status, loaded.terms_version, loaded.agreed_parties) == ("proposed", 2, ())
    rows = read_models(goals, goal_id)
    assert rows["plans"][:2] == ("proposed", 2)
    assert rows["audit"][1] == 2
    assert rows["reviews"][0] == "proposed"
    assert all(row[2] in ("[]", []) for row in rows.values()), rows


def test_who_must_agree_is_the_domains_to_say(goals: goalflow.Goals,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    real = agreement.required_parties
    monkeypatch.setattr(agreement, "required_parties",
                        lambda subject: (*real(subject), "client-9"))
    goal_id = draft_anxiety_goal(goals)
    goals.agree(goal_id, by=MAYA, terms_version=1, method="signature")
    goal = goals.get(goal_id)
    assert goal.status == "proposed"
    assert goal.awaiting_agreement_from == ("client-9",)
    rows = read_models(goals, goal_id)
    assert rows["plans"][0] == rows["reviews"][0] == "proposed"
    plan = printed(goals.plan("client-7"))[0]
    assert plan["awaiting_agreement_from"] == ["client-9"]


def test_the_rules_as_they_are(goals: goalflow.Goals) -> None:
    goal_id = agreed_anxiety_goal(goals)
    assert goals.get(goal_id).status == agreement.ACTIVE_WHEN_AGREED
    rows = read_models(goals, goal_id)
    assert rows["plans"][:2] == ("active", agreement.FIRST_TERMS)
    assert rows["reviews"][0] == "active"
    goals.revise(goal_id, by=DR_LEE, reason="Client wants to walk, not run",
                 statement="By the end of one month, Maya uses relaxation and daily walks"
                           " to manage anxiety, measured by self-report and observation")
    assert goals.get(goal_id).terms_version == 2
    assert read_models(goals, goal_id)["audit"][1] == 2
