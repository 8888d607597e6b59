"""A command's fingerprint is stored with its command id, so it must never change: a retry
of a command recorded by an earlier goalflow must still be recognised as the same command.

Each stored record says which rule made it (goalflow.fingerprints); both rules are pinned."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from goalflow import Actor, Measure, Subject
from goalflow.application import _defaults, _normalised
from goalflow.fingerprints import fingerprint

GOAL = UUID("0b6a2f4e-8c1d-4f5e-9a7b-3c2d1e0f9a8b")
DR = Actor("dr-lee", "clinician")
MUM = Actor("guardian-3", "guardian", on_behalf_of="client-7")


def fp(command: str, goal_id: UUID | None, occurred_at: datetime | None,
       expected_version: int | None, args: dict[str, Any], *, rule: int = 2) -> str:
    return fingerprint(command, goal_id, occurred_at, expected_version,
                       _normalised(command, args), _defaults(command), rule=rule)


# Rule 1: digests computed by goalflow 0.1 when command records were first stored
# (November 2026). Measure has gained fields since; rule 1 still sees the four it had.
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
def test_rule_1_fingerprints_of_stored_commands_never_change(
    command: str, goal_id: UUID | None, occurred_at: datetime | None,
    expected_version: int | None, args: dict[str, Any], digest: str,
) -> None:
    assert fp(command, goal_id, occurred_at, expected_version, args, rule=1) == digest


# Rule 2 (goalflow 0.2): digests of the same commands, pinned when the rule was made.
PINNED_RULE_2 = [
    (*pinned[:5], digest) for pinned, digest in zip(PINNED, [
        "525f9cc39958b2f5437790382e22dc48519a2e897c2f6fe614664dc42bb6bb62",
        "c15615fdf1df6414dac3bad73fb31e032dcd5ce51be8731f65ddcc292937cf87",
        "bc6b2c5c8e02d90170332210b4ce2117c8d4e0e3914e6525df8b73c45ffe538f",
        "596bcfbbd1c28807ef2904ab085db0a460621bbd3fc5524dc927eb1cf0df75d7",
    ], strict=True)
]


@pytest.mark.parametrize(("command", "goal_id", "occurred_at", "expected_version", "args",
                          "digest"), PINNED_RULE_2, ids=[p[0] for p in PINNED_RULE_2])
def test_rule_2_fingerprints_never_change(
    command: str, goal_id: UUID | None, occurred_at: datetime | None,
    expected_version: int | None, args: dict[str, Any], digest: str,
) -> None:
    assert fp(command, goal_id, occurred_at, expected_version, args) == digest


def test_rule_2_fingerprints_what_was_given() -> None:
    # The Python API passes every keyword; JSON lines leave out what they do not use.
    assert fp("complete_step", GOAL, None, None, {"by": DR, "step_id": "s1"}) == \
        fp("complete_step", GOAL, None, None, {"by": DR, "step_id": "s1", "note": None})
    assert fp("draft", None, None, None, {"subject": Subject.client("client-7"),
                                          "statement": "Sleep", "by": DR, "steps": []}) == \
        fp("draft", None, None, None, {"subject": Subject.client("client-7"),
                                       "statement": "Sleep", "by": DR})
    assert fp("complete_step", GOAL, None, None, {"by": DR, "step_id": "s1"}) != \
        fp("complete_step", GOAL, None, None, {"by": DR, "step_id": "s1", "note": "done"})


def test_rule_2_is_unchanged_by_a_new_optional_argument() -> None:
    args = {"by": DR, "step_id": "s1", "note": "Box breathing"}
    before = fp("complete_step", GOAL, None, None, args)
    normal = _normalised("complete_step", args)
    with_new = fingerprint("complete_step", GOAL, None, None, {**normal, "mood": None},
                           {**_defaults("complete_step"), "mood": None})
    assert with_new == before
    assert fingerprint("complete_step", GOAL, None, None, {**normal, "mood": "calm"},
                       {**_defaults("complete_step"), "mood": None}) != before


def test_rule_2_is_unchanged_by_a_new_value_object_field() -> None:
    # Measure gained instrument, range, sd, reliability and cutoff in goalflow 0.2: a
    # measure that uses none of them fingerprints as if they did not exist.
    from goalflow.fingerprints import _given_value

    assert _given_value(Measure("GAD-7", baseline=15)) == {"name": "GAD-7", "baseline": 15}
    assert _given_value(Measure("GAD-7", baseline=15, instrument="Clinic anxiety")) == \
        {"name": "GAD-7", "baseline": 15, "instrument": "Clinic anxiety"}
    # A built-in instrument fills its facts: the measure is the same, given or filled.
    assert _given_value(Measure("GAD-7", baseline=15, instrument="GAD-7")) == \
        _given_value(Measure("GAD-7", baseline=15, instrument="GAD-7", minimum=0, maximum=21,
                             cutoff=8)) == \
        {"name": "GAD-7", "baseline": 15, "instrument": "GAD-7", "minimum": 0, "maximum": 21,
         "cutoff": 8}


def test_the_same_moment_in_another_offset_is_another_command() -> None:
    # occurred_at is kept with its offset: 09:30+01:00 and 08:30Z are recorded differently.
    args = {"by": DR, "reason": "away"}
    local = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    for rule in (1, 2):
        assert fp("hold", GOAL, local, None, args, rule=rule) != \
            fp("hold", GOAL, local.astimezone(UTC), None, args, rule=rule)
