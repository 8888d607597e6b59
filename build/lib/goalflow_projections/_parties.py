"""SQL the read models share (the agreement rules themselves are the domain's:
:mod:`goalflow.agreement`)."""

from __future__ import annotations


def of_subject(members_view: str, alias: str = "") -> str:
    """SQL: rows of goals whose subject is ``?``, or group goals listing ``?`` as a member.

    Takes the subject id twice as parameters; ``members_view`` is the read model's
    members table name (``gf_plan_members``), written as a ``{...}`` placeholder.
    """
    return (f"({alias}subject_id = ? OR {alias}goal_id IN (SELECT goal_id FROM"
            f" {{{members_view}}} WHERE client_id = ?))")
