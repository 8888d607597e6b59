"""Who must agree to a goal's terms, and who has: shared by the read models."""

from __future__ import annotations

from goalflow import Subject


def required(subject: Subject) -> list[str]:
    """The client, or every listed member of a group."""
    return list(subject.members) if subject.kind == "group" else [subject.id]


def with_agreement(agreed: list[str], party: str) -> list[str]:
    return agreed if party in agreed else [*agreed, party]


def without(agreed: list[str], party: str) -> list[str]:
    return [p for p in agreed if p != party]


def awaiting(required_parties: list[str], agreed: list[str]) -> list[str]:
    return [p for p in required_parties if p not in agreed]


def of_subject(members_view: str, alias: str = "") -> str:
    """SQL: rows of goals whose subject is ``?``, or group goals listing ``?`` as a member.

    Takes the subject id twice as parameters; ``members_view`` is the read model's
    members table name (``gf_plan_members``), written as a ``{...}`` placeholder.
    """
    return (f"({alias}subject_id = ? OR {alias}goal_id IN (SELECT goal_id FROM"
            f" {{{members_view}}} WHERE client_id = ?))")
