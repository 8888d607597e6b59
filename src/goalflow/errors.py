"""The errors goalflow raises: one root, a few precise subclasses.

Each subclass also inherits the builtin a caller would naturally catch, and
carries typed attributes alongside a message a clinician could read.
A storage conflict (:class:`ConcurrencyError`) is not a domain error and is
kept apart from the domain refusals.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

__all__ = [
    "CommandIdReused",
    "ConcurrencyError",
    "GoalNotFound",
    "GoalflowError",
    "InvalidCommand",
    "InvalidTransition",
    "NotPermitted",
    "NotSmart",
    "ProjectionError",
    "ReadOnlyReplica",
    "ReplicaBehind",
    "StoreError",
    "UnknownEvent",
    "UnreadableEvent",
    "VersionNotFound",
]


class GoalflowError(Exception):
    """Root of every error goalflow raises on purpose."""

    command_index: int | None = None
    """In an atomic run (``execute_many(atomic=True)``), which command was refused."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidCommand(GoalflowError, ValueError):
    """A command's arguments are malformed: a missing, unknown or mistyped field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidTransition(GoalflowError, ValueError):
    """The goal's lifecycle or rules refuse the command in the goal's current state."""

    def __init__(self, message: str, *, goal_id: UUID | None = None, status: str | None = None):
        super().__init__(message)
        self.goal_id = goal_id
        self.status = status


class NotSmart(InvalidTransition):
    """Agreement was refused because the goal is not SMART-complete."""

    def __init__(self, message: str, *, goal_id: UUID, missing: dict[str, str]) -> None:
        super().__init__(message, goal_id=goal_id, status="proposed")
        self.missing = missing


class NotPermitted(GoalflowError, PermissionError):
    """The actor's role (or identity) does not allow the command."""

    def __init__(self, message: str, *, actor_id: str | None, role: str | None,
                 command: str) -> None:
        super().__init__(message)
        self.actor_id = actor_id
        self.role = role
        self.command = command


class GoalNotFound(GoalflowError, LookupError):
    """No goal with that id exists in the store."""

    def __init__(self, goal_id: Any) -> None:
        super().__init__(f"goal {goal_id} not found")
        self.goal_id = goal_id


class VersionNotFound(GoalflowError, LookupError):
    """The goal exists but not at the requested version."""

    def __init__(self, goal_id: UUID, version: int, latest: int) -> None:
        super().__init__(
            f"goal {goal_id} has no version {version} (versions run from 1 to {latest})"
        )
        self.goal_id = goal_id
        self.version = version
        self.latest = latest


class CommandIdReused(GoalflowError, ValueError):
    """A command id already recorded was given again with different content."""

    def __init__(self, command_id: str) -> None:
        super().__init__(
            f"command_id {command_id!r} was already used for a different command"
        )
        self.command_id = command_id


class ConcurrencyError(GoalflowError):
    """The goal moved on since the version the caller expected; nothing was recorded.

    A storage conflict, not a domain refusal: reload the goal and decide again.
    """

    def __init__(self, goal_id: UUID, expected: int | None, actual: int | None, *,
                 attempts: int | None = None) -> None:
        found = "a newer version" if actual is None else f"version {actual}"
        if expected is None:  # the caller expected nothing: it lost every race
            message = (f"goal {goal_id} was changed by other writers {attempts} times while"
                       " this command was being recorded; nothing was recorded: try again")
        else:
            message = (f"goal {goal_id} is at {found}, not the expected version {expected};"
                       " nothing was recorded")
        super().__init__(message)
        self.goal_id = goal_id
        self.expected = expected
        self.actual = actual
        self.attempts = attempts


class ProjectionError(GoalflowError):
    """A read model failed inside a command (nothing was recorded), or cannot do what
    was asked (an unknown name, the wrong mode, another process moved it on)."""


class StoreError(GoalflowError, OSError):
    """The store cannot be opened or used: a bad url, a missing file, a server down."""


class ReadOnlyReplica(StoreError):
    """A write asked of a read-only replica (a PostgreSQL hot standby): nothing was
    written. Writes go to the primary; the replica replays them."""


class ReplicaBehind(StoreError, TimeoutError):
    """The store had not reached a log position within the time given (a replica still
    replaying the primary's log): ``position`` was asked for, ``replayed`` is the last one
    the store holds, ``waited`` the seconds waited."""

    def __init__(self, message: str, *, position: int, replayed: int, waited: float) -> None:
        super().__init__(message)
        self.position = position
        self.replayed = replayed
        self.waited = waited


class UnreadableEvent(StoreError):
    """A stored event cannot be read: damaged bytes, or a shape this goalflow cannot decode.

    ``position`` is its place in the log when known (reading one goal's events by
    version does not look it up).
    """

    def __init__(self, message: str, *, goal_id: UUID, version: int, topic: str,
                 position: int | None = None) -> None:
        super().__init__(message)
        self.goal_id = goal_id
        self.version = version
        self.topic = topic
        self.position = position


class UnknownEvent(UnreadableEvent):
    """A stored event of a type, or a schema version, this goalflow does not know.

    It was written by a newer goalflow (``written_by``, when the store recorded it).
    Nothing is written to a store holding one; inspection lists it raw.
    """

    def __init__(self, message: str, *, goal_id: UUID, version: int, topic: str,
                 class_version: int, position: int | None = None,
                 written_by: str | None = None) -> None:
        super().__init__(message, goal_id=goal_id, version=version, topic=topic,
                         position=position)
        self.class_version = class_version
        self.written_by = written_by


def first_line(error: BaseException) -> str:
    """An error's first line, for one-line messages (a database's DETAIL lines, which
    quote key values, are left out)."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


class ErasedEvent(UnreadableEvent):
    """A stored event whose subject's data key was destroyed (the subject was forgotten):
    its metadata (goal, version, topic, position) stays, its content is gone for good."""

    def __init__(self, message: str, *, goal_id: UUID, version: int, topic: str,
                 key_id: UUID, position: int | None = None) -> None:
        super().__init__(message, goal_id=goal_id, version=version, topic=topic,
                         position=position)
        self.key_id = key_id


class GoalErased(GoalflowError, LookupError):
    """A goal whose subject was forgotten: it cannot be shown or changed any more."""

    def __init__(self, goal_id: UUID, erasure: str | None = None) -> None:
        if erasure:
            message = f"goal {goal_id} was erased on {erasure}"
        else:
            message = (f"goal {goal_id} is erased: its subject's data key was destroyed (this"
                       " copy of the store predates the erasure)")
        super().__init__(message)
        self.goal_id = goal_id
