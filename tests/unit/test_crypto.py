"""The master key's forms, and sealing one event's state (no store, no key store file)."""

from __future__ import annotations

import base64
import os
from typing import Any
from uuid import UUID, uuid4

import pytest

from goalflow.crypto import master
from goalflow.crypto.sealing import HEADER, MAGIC, KeyDestroyed, Sealer, key_id_of
from goalflow.domain.goal import Goal
from goalflow.errors import InvalidCommand


class Keys:
    """A key store in memory."""

    def __init__(self) -> None:
        self.keys: dict[UUID, bytes] = {}

    def new_keys(self, count: int) -> list[tuple[UUID, bytes]]:
        made = [(uuid4(), os.urandom(32)) for _ in range(count)]
        self.keys.update(made)
        return made

    def key(self, key_id: UUID) -> bytes | None:
        return self.keys.get(key_id)


def sealer() -> tuple[Sealer, Any]:
    keys = Keys()
    return Sealer(keys, "store", lambda subject: None), keys  # type: ignore[arg-type]


@pytest.mark.parametrize("text", [master.new_key_text(), master.new_key_text() + "\n"])
def test_a_master_key_is_base64_of_32_bytes(text: str) -> None:
    key = master.parse(text)
    assert repr(key) == "MasterKey(***)"
    wrapped = key.wrap(b"secret", b"context")
    assert key.unwrap(wrapped, b"context") == b"secret"
    with pytest.raises(master.WrongKey):
        key.unwrap(wrapped, b"another context")
    with pytest.raises(master.WrongKey):
        master.parse(master.new_key_text()).unwrap(wrapped, b"context")


@pytest.mark.parametrize(("value", "problem"), [
    ("not base64!", "not base64"),
    (base64.b64encode(b"x" * 31).decode(), "holds 31 bytes, not 32"),
    ("", "holds 0 bytes"),
    (42, "must be base64 text or 32 bytes, not a int"),
])
def test_a_master_key_of_another_form_is_refused_by_name(value: Any, problem: str) -> None:
    with pytest.raises(InvalidCommand, match=problem):
        master.parse(value)


def test_a_sealed_state_opens_only_as_the_event_it_was_sealed_for() -> None:
    seal, keys = sealer()
    goal, other = uuid4(), uuid4()
    key_id = seal.expect(goal, "client-7")
    assert seal.expect(other, "client-8") != key_id
    assert seal.expect(uuid4(), "client-7") == key_id  # one key per subject
    data = seal.seal(goal, 3, Goal.StepAdded.TOPIC, b'{"description":"x"}')
    assert data.startswith(MAGIC)
    assert key_id_of(data) == key_id
    assert b"description" not in data
    assert len(data) == HEADER + len(b'{"description":"x"}') + 16
    assert seal.unseal(goal, 3, Goal.StepAdded.TOPIC, data) == b'{"description":"x"}'
    for where in ((other, 3, Goal.StepAdded.TOPIC), (goal, 4, Goal.StepAdded.TOPIC),
                  (goal, 3, Goal.Snapshot.TOPIC)):
        with pytest.raises(ValueError, match="does not belong to this event"):
            seal.unseal(*where, data)
    assert seal.seal(goal, 3, Goal.StepAdded.TOPIC, b"{}") != seal.seal(
        goal, 3, Goal.StepAdded.TOPIC, b"{}")  # a fresh nonce each time
    with pytest.raises(ValueError, match="stored in clear in an encrypted store"):
        seal.unseal(goal, 1, Goal.Drafted.TOPIC, b"{}")
    plain = seal.seal(goal, 5, Goal.SubjectForgotten.TOPIC, b'{"reason":"r"}')
    assert plain == b'{"reason":"r"}'  # in clear: no client data
    del keys.keys[key_id]
    seal.drop(key_id)
    with pytest.raises(KeyDestroyed):
        seal.unseal(goal, 3, Goal.StepAdded.TOPIC, data)


def test_a_goals_states_open_in_one_go_exactly_as_one_by_one() -> None:
    seal, keys = sealer()
    goal = uuid4()
    seal.expect(goal, "client-7")
    topics = [Goal.Drafted.TOPIC, Goal.StepAdded.TOPIC, Goal.Snapshot.TOPIC, "an.unknown:Topic"]
    rows = [(version, topics[version % 4], seal.seal(goal, version, topics[version % 4],
                                                     b'{"v":%d}' % version))
            for version in (1, 2, 3, 4, 4095, 4096, 70_000)]  # beyond the version table too
    opened = seal.open_goal(goal, rows)
    assert opened == [seal.unseal(goal, *row) for row in rows]
    assert opened[-1] == b'{"v":70000}'
    assert seal.open_goal(goal, []) == []
    # Anything unseal would refuse, or read otherwise, is left to it (None): a ciphertext
    # moved to another version, a state in clear, one sealed with another subject's key.
    other = uuid4()
    seal.expect(other, "client-8")
    foreign = seal.seal(other, 3, topics[3], b"{}")
    for bad in ((3, topics[3], rows[1][2]), (3, topics[3], b"{}"), (3, topics[3], foreign),
                (3, topics[3], rows[2][2][:HEADER + 3])):
        assert seal.open_goal(goal, [*rows[:2], bad]) is None
        assert seal.open_goal(goal, [bad, *rows[:2]]) is None
    forgotten = seal.seal(goal, 9, Goal.SubjectForgotten.TOPIC, b'{"reason":"r"}')
    assert seal.open_goal(goal, [*rows[:2], (9, Goal.SubjectForgotten.TOPIC, forgotten)]) is None
    key_id = key_id_of(rows[0][2])
    assert key_id is not None
    del keys.keys[key_id]
    seal.drop(key_id)
    assert seal.open_goal(goal, rows) is None  # erased: unseal raises KeyDestroyed
