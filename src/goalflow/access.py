"""Who may do what: the hook an EHR gives ``goalflow.open(..., policy=...)`` for its own roles.

goalflow's own rules stay in the domain (a client agrees, a clinician drafts; a goal's client
acts on it only as a client). An EHR knows more: which clinicians are on a client's care
team, who may read a chart. A policy is a callable given an :class:`Access` (who, what, which
goal) for every command and every read that names an actor; it refuses by returning
``False`` or raising :class:`~goalflow.errors.NotPermitted`, and allows by returning anything
else (``None`` or ``True``). A refused command records nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal
from uuid import UUID

import attrs

from goalflow.domain.values import Actor
from goalflow.errors import NotPermitted

if TYPE_CHECKING:
    from goalflow.domain.goal import Goal

READS = ("get", "history", "smart_check", "plan", "audit", "reviews", "goal_index")
"""The reads a policy is asked about (``action``), by the ``Goals`` method's name."""

Kind = Literal["command", "read"]


@attrs.frozen
class Access:
    """One thing someone asks to do.

    ``action`` is the command's name (``"revise"``) or the read's (``"get"``). ``goal`` is the
    goal as it is before the command (for ``draft``, the goal the draft would make, not yet
    recorded), or the goal a read returns; ``None`` for reads of many goals. ``subject_id`` is
    the goal's client or group, or the subject a read asks for (``None``: all of them).
    ``actor`` is ``None`` for a read made without ``by=``. The goal is the engine's own
    object: read it during the call, do not keep it (it moves on with the next command).
    """

    actor: Actor | None
    action: str
    kind: Kind
    goal: Goal | None = None
    subject_id: str | None = None

    @property
    def goal_id(self) -> UUID | None:
        return None if self.goal is None else self.goal.id


Policy = Callable[[Access], object]
"""Allows unless it returns ``False`` or raises :class:`~goalflow.errors.NotPermitted`."""


def check(policy: Policy | None, access: Access) -> None:
    """Ask the policy; raise :class:`NotPermitted` if it refuses."""
    if policy is None:
        return
    if policy(access) is False:
        raise refused(access)


def refused(access: Access) -> NotPermitted:
    who = "an unnamed reader" if access.actor is None else access.actor.describe()
    what = (f"goal {access.goal_id}" if access.goal is not None
            else f"subject {access.subject_id}" if access.subject_id is not None
            else "the store")
    verb = access.action if access.kind == "command" else f"read {access.action} of"
    return NotPermitted(
        f"{who} may not {verb} {what}: refused by the store's policy",
        actor_id=None if access.actor is None else access.actor.id,
        role=None if access.actor is None else access.actor.role, command=access.action)
