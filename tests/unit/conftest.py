"""Fixtures for the domain's unit tests; the data and builders behind them are in builders.py."""

from __future__ import annotations

import pytest

from goalflow.domain import Goal

from .builders import TUESDAY_GROUP, draft_anxiety_goal, goal_in


@pytest.fixture
def anxiety_goal() -> Goal:
    """The anxiety goal, drafted with Maya and awaiting her agreement."""
    return draft_anxiety_goal()


@pytest.fixture
def active_goal() -> Goal:
    """The anxiety goal after Maya signed it; the yoga step (s2) is done."""
    return goal_in("active")


@pytest.fixture
def on_hold_goal() -> Goal:
    return goal_in("on-hold")


@pytest.fixture
def group_goal() -> Goal:
    """The anxiety goal set with the Tuesday anxiety group: Maya, Jonah and Priya."""
    return draft_anxiety_goal(subject=TUESDAY_GROUP)
