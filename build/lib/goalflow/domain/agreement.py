"""Who must agree to a goal's terms, and what agreeing, disagreeing and a change of terms
do: the one statement of these rules.

The Goal aggregate applies them to itself, and every read model applies the same functions
to the rows it keeps (read models take them from here, never restate them), so a change of
rule here shows in the aggregate and in every read model alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NamedTuple

from goalflow.domain.values import Subject

FIRST_TERMS: Final = 1
"""The terms version a goal is drafted with."""

TERMS_CHANGES: Final = frozenset({"StepAdded", "Revised"})
"""The events that change a goal's terms: each starts a new terms version that every
required party must agree to again, and sends the goal back to ``proposed``."""

ACTIVE_WHEN_AGREED: Final = "active"
"""The status a goal takes when every required party has agreed to its current terms."""

PROPOSED: Final = "proposed"
"""The status of a goal whose current terms await someone's agreement."""


def required_parties(subject: Subject) -> tuple[str, ...]:
    """Whose agreement makes the goal active: the client, or every member of a group."""
    return subject.required_parties


def with_agreement(agreed: Sequence[str], party: str) -> tuple[str, ...]:
    """The parties who have agreed to the current terms, after ``party`` agrees."""
    return tuple(agreed) if party in agreed else (*agreed, party)


def without(agreed: Sequence[str], party: str) -> tuple[str, ...]:
    """After ``party`` disagrees: their agreement to the current terms is withdrawn."""
    return tuple(p for p in agreed if p != party)


def awaiting(required: Sequence[str], agreed: Sequence[str]) -> tuple[str, ...]:
    """The required parties who have not agreed to the current terms, in order."""
    return tuple(p for p in required if p not in agreed)


def complete(required: Sequence[str], agreed: Sequence[str]) -> bool:
    """Whether every required party has agreed to the current terms."""
    return not awaiting(required, agreed)


class NewTerms(NamedTuple):
    """What a change of terms leaves: the next version, no one's agreement, and the status."""

    terms_version: int
    agreed: tuple[str, ...]
    status: str


def changed_terms(terms_version: int) -> NewTerms:
    """What a change of terms (an event in :data:`TERMS_CHANGES`) does to the agreement."""
    return NewTerms(terms_version + 1, (), PROPOSED)
