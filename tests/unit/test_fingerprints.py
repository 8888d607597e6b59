"""A command's fingerprint is stored with its command id, so it must never change: a retry
of a command recorded by an earlier goalflow must still be recognised as the same command."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from goalflow import Actor, Measure, Subject
from goalflow.application import _fingerprint, _normalised

GOAL = UUID("0b6a2f4e-8c1d-4f5e-9a7b-3c2d1e0f9a8b")
DR = Actor("dr-lee", "clinician")
MUM = Actor("guardian-3", "guardian", on_behalf_of="client-7")

# Digests computed by goalflow when command records were first stored (November 2026).
PINNED: list[tuple[str, UUID | None, datetime | None, int | None, dict[str, Any], str]] = [
    ("draft", None, None, None,
     {"subject": Subject.group("g-1", ["client-7", "client-8"]), "statement": "Sleep better",
      "by": DR, "target_date": date(2026, 5, 1),
      "measures": [Measure("GAD-7", baseline=15, target=7.5)], "steps": ["a", "b"]},
     "5f112adbb536d66ed64793dc2fcb8ec8d201bc076a1941c92fbc049b4189f73c"),
    ("agree", GOAL, datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=1))), 2,
     {"by": MUM, "terms_version": 1, "method": "verbal", "witnessed_by": DR},
     "7e5ac2b30e2477d5bd4a951c731e7bc3106b46510b3309504bc4b877be489362"),
    ("revise", GOAL, None, None,
     {"by": DR, "reason": "r", "reword_steps": {"s1": "x"},
      "measures": [Measure("PHQ-9", direction="increase")], "add_steps": ["c"]},
     "89a1a11a23e870b8184cd37c490ae1ede37960a150f95104eb8127ea0b758d8d"),
    ("record_progress", GOAL, None, 7, {"by": DR, "measure": "GAD-7", "value": 11.25},
     "7a694df772fac12e25764d5d56ca868e66782e4d75a2e9216549d204437fb25c"),
]


@pytest.mark.parametrize(("command", "goal_id", "occurred_at", "expected_version", "args",
                          "digest"), PINNED, ids=[p[0] for p in PINNED])
def test_fingerprints_of_stored_commands_never_change(
    command: str, goal_id: UUID | None, occurred_at: datetime | None,
    expected_version: int | None, args: dict[str, Any], digest: str,
) -> None:
    assert _fingerprint(command, goal_id, occurred_at, expected_version,
                        _normalised(command, args)) == digest


def test_the_same_moment_in_another_offset_is_another_command() -> None:
    # occurred_at is kept with its offset: 09:30+01:00 and 08:30Z are recorded differently.
    args = _normalised("hold", {"by": DR, "reason": "away"})
    local = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    assert _fingerprint("hold", GOAL, local, None, args) != \
        _fingerprint("hold", GOAL, local.astimezone(UTC), None, args)
