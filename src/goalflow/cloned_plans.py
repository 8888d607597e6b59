"""Cloned plans: treatment plans whose only changes in a review period were dates.

Auditors deny plans that are "duplicates of prior plans, with the only changes being the
anticipated achievement dates" (DOMAIN.md). A subject's plan is flagged when, in its
latest review period (the ``interval_days`` up to its latest revision or review, in
clinical time), its goals had at least one revision, every revision changed nothing but
the target date (``date_only`` in the audit trail) and every review decided ``continue``
(a review that only sets the next review date).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any


def flagged(changes: Iterable[Mapping[str, Any]], interval_days: int) -> list[dict[str, Any]]:
    """The subjects whose plans look cloned, from the audit trail's revisions and reviews
    (``subject_id``, ``goal_id``, ``event_type``, ``occurred_at``, ``details``,
    ``date_only``), ordered by subject then time."""
    found = []
    for subject_id, rows in groupby(changes, key=lambda row: row["subject_id"]):
        seen = [{**row, "at": datetime.fromisoformat(row["occurred_at"])} for row in rows]
        end = max(row["at"] for row in seen)
        start = end - timedelta(days=interval_days)
        period = [row for row in seen if row["at"] >= start]
        revisions = [row for row in period if row["event_type"] == "Revised"]
        reviews = [row for row in period if row["event_type"] == "ReviewHeld"]
        if not revisions or not all(row["date_only"] for row in revisions):
            continue
        if not all(row["details"].get("outcome") == "continue" for row in reviews):
            continue
        found.append({
            "subject_id": subject_id, "period_start": start.isoformat(),
            "period_end": end.isoformat(), "interval_days": interval_days,
            "goals": sorted({str(row["goal_id"]) for row in period}),
            "revisions": [row["position"] for row in revisions],
            "reviews": [row["position"] for row in reviews],
        })
    return found
