"""The audit trail in pages: Goals.audit's limit and positions, and audit_entries, which
reads a page per transaction so memory stays flat however long the trail."""

from __future__ import annotations

from typing import Any

import pytest
from anxiety_goal import agreed_anxiety_goal

import goalflow


def test_audit_entries_reads_a_page_at_a_time(store_url: str, clock: Any) -> None:
    with goalflow.open(store_url, clock=clock) as goals:
        for _ in range(3):
            agreed_anxiety_goal(goals)
        everything = goals.audit()
        assert list(goals.audit_entries(page=2)) == everything
        assert list(goals.audit_entries(page=4, newest_first=True)) == everything[::-1]
        assert goals.audit(limit=2, after=everything[1].position) == everything[2:4]
        with pytest.raises(goalflow.InvalidCommand, match="page must be a whole number"):
            goals.audit_entries(page=0)
