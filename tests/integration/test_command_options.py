"""Every command method takes ``occurred_at``, ``command_id`` and ``expected_version`` as
typed keyword-only parameters, which an EHR developer's IDE and mypy see; there is no
catch-all keyword, so any other is Python's TypeError, and ``execute`` (which ``goalflow apply``
uses) refuses it by name."""

from __future__ import annotations

import inspect
import typing
from datetime import datetime, timedelta

import pytest
from anxiety_goal import (
    DR_LEE,
    MAYA,
    MAYA_SUBJECT,
    agreed_anxiety_goal,
    draft_anxiety_goal,
    recorded_event_count,
)

from goalflow import ConcurrencyError, Goals, InvalidCommand
from goalflow.application import COMMANDS

OPTIONS = {"occurred_at": datetime | None, "command_id": str | None,
           "expected_version": int | None}


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_method_declares_its_options_as_typed_keywords(command: str) -> None:
    method = getattr(Goals, command)
    parameters = inspect.signature(method).parameters
    hints = typing.get_type_hints(method)
    expected = {k: v for k, v in OPTIONS.items() if command != "draft" or k != "expected_version"}
    for name, annotation in expected.items():
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters[name].default is None
        assert hints[name] == annotation, name


def test_a_step_completed_with_the_typed_keywords_is_recorded_once(goals, clock) -> None:
    goal_id = agreed_anxiety_goal(goals)
    clock.advance(days=2)
    in_session = clock.now - timedelta(hours=3)

    version = goals.complete_step(goal_id, by=MAYA, step_id="s1", occurred_at=in_session,
                                  command_id="ehr-8812", expected_version=2)
    retried = goals.complete_step(goal_id, by=MAYA, step_id="s1", occurred_at=in_session,
                                  command_id="ehr-8812", expected_version=2)

    assert version == retried == 3
    assert goals.history(goal_id)[-1].occurred_at == in_session
    with pytest.raises(ConcurrencyError):
        goals.complete_step(goal_id, by=MAYA, step_id="s2", expected_version=2)


def test_a_misspelt_keyword_is_refused_by_name_and_records_nothing(goals) -> None:
    goal_id = draft_anxiety_goal(goals)
    events = recorded_event_count(goals)

    # No catch-all keyword: Python refuses it (and mypy, in the caller's code) ...
    with pytest.raises(TypeError, match="unexpected keyword argument 'expect_version'"):
        goals.hold(goal_id, by=DR_LEE, reason="in hospital", expect_version=1)  # type: ignore[call-arg]
    # ... and execute(), which `goalflow apply` uses, names it.
    with pytest.raises(InvalidCommand, match="hold has no argument 'expect_version'") as e:
        goals.execute("hold", goal_id=goal_id, by=DR_LEE, reason="in hospital",
                      expect_version=1)

    assert e.value.field == "expect_version"
    assert isinstance(e.value, ValueError)
    assert recorded_event_count(goals) == events


def test_expected_version_is_refused_for_a_draft(goals) -> None:
    with pytest.raises(TypeError, match="expected_version"):
        draft_anxiety_goal(goals, expected_version=1)
    with pytest.raises(InvalidCommand, match="expected_version does not apply to draft"):
        goals.execute("draft", subject=MAYA_SUBJECT, statement="Walk to the shop", by=DR_LEE,
                      expected_version=1)
