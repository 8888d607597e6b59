"""The pure domain: the Goal aggregate, its events and value objects."""

from goalflow.domain import agreement
from goalflow.domain.goal import FINAL_STATUSES, REVISABLE_FIELDS, UNCHANGED, Goal, Status
from goalflow.domain.smart import Criterion, SmartReport
from goalflow.domain.values import (
    Actor,
    Agreement,
    FieldChange,
    Measure,
    Reading,
    Step,
    StepRewording,
    Subject,
)

__all__ = [
    "FINAL_STATUSES",
    "REVISABLE_FIELDS",
    "UNCHANGED",
    "Actor",
    "Agreement",
    "Criterion",
    "FieldChange",
    "Goal",
    "Measure",
    "Reading",
    "SmartReport",
    "Status",
    "Step",
    "StepRewording",
    "Subject",
    "agreement",
]
