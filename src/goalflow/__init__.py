"""goalflow: an event-sourced goal lifecycle engine for mental and behavioural health care.

    >>> import goalflow
    >>> goals = goalflow.open("memory://")
    >>> goal_id = goals.draft(goalflow.Subject.client("client-7"), "Manage anxiety",
    ...                       by=goalflow.Actor("dr-lee", "clinician"))
    >>> goals.get(goal_id).status
    'proposed'
"""

from goalflow import outcomes
from goalflow.application import Batch, CommandName, Delivery, Goals, Outcome, open
from goalflow.domain import (
    UNCHANGED,
    Actor,
    Agreement,
    FieldChange,
    Goal,
    Measure,
    Reading,
    SmartReport,
    Step,
    StepRewording,
    Subject,
    agreement,
)
from goalflow.errors import (
    CommandIdReused,
    ConcurrencyError,
    GoalflowError,
    GoalNotFound,
    InvalidCommand,
    InvalidTransition,
    NotPermitted,
    NotSmart,
    ProjectionError,
    ReadOnlyReplica,
    ReplicaBehind,
    StoreError,
    VersionNotFound,
)
from goalflow.queries import AuditEntry, GoalIndexEntry, PlanEntry, ReviewDue

__all__ = [
    "UNCHANGED",
    "Actor",
    "Agreement",
    "AuditEntry",
    "Batch",
    "CommandIdReused",
    "CommandName",
    "ConcurrencyError",
    "Delivery",
    "FieldChange",
    "Goal",
    "GoalIndexEntry",
    "GoalNotFound",
    "GoalflowError",
    "Goals",
    "InvalidCommand",
    "InvalidTransition",
    "Measure",
    "NotPermitted",
    "NotSmart",
    "Outcome",
    "PlanEntry",
    "ProjectionError",
    "ReadOnlyReplica",
    "Reading",
    "ReplicaBehind",
    "ReviewDue",
    "SmartReport",
    "Step",
    "StepRewording",
    "StoreError",
    "Subject",
    "VersionNotFound",
    "agreement",
    "open",
    "outcomes",
]
