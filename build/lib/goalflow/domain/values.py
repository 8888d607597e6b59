"""Value objects of the goal domain: small, frozen, valid from birth.

Validation happens at construction, so an invalid value cannot exist inside
the domain. Every failure is an :class:`~goalflow.errors.InvalidCommand` that
names the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Final, Literal

import attrs

from goalflow.errors import InvalidCommand

Role = Literal["clinician", "supervisor", "client", "guardian"]
ROLES: Final = ("clinician", "supervisor", "client", "guardian")
CLINICAL_ROLES: Final = frozenset({"clinician", "supervisor"})

SubjectKind = Literal["client", "group"]
Direction = Literal["decrease", "increase"]
AgreementMethod = Literal["signature", "verbal", "portal"]
AGREEMENT_METHODS: Final = ("signature", "verbal", "portal")
StepStatus = Literal["open", "completed"]
ReviewOutcome = Literal["continue", "revise", "achieve", "discontinue"]
REVIEW_OUTCOMES: Final = ("continue", "revise", "achieve", "discontinue")

# Limits on free text. Generous for clinical prose, small enough that a
# runaway client cannot fill the store with one command.
MAX_ID_LENGTH: Final = 200
MAX_LINE_LENGTH: Final = 500
MAX_TEXT_LENGTH: Final = 5_000
MAX_LIST_LENGTH: Final = 100
# Dates and times (in UTC) must fall in these years: wide enough for any clinical record
# and any plan, narrow enough that date arithmetic (a review due 90 days on) cannot overflow.
EARLIEST: Final = date(1900, 1, 1)
LATEST: Final = date(2999, 12, 31)

MIN_INT: Final = -(2**63)
MAX_INT: Final = 2**63 - 1


def check_text(field: str, value: object, *, limit: int, optional: bool = False) -> None:
    """Refuse anything but a non-blank string within ``limit`` without control characters."""
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise InvalidCommand(f"{field} must be a string, not {type(value).__name__}", field=field)
    if not value.strip():
        raise InvalidCommand(f"{field} must not be empty", field=field)
    if len(value) > limit:
        raise InvalidCommand(
            f"{field} is {len(value)} characters long; the limit is {limit}", field=field
        )
    refused = _REFUSED_CHARACTERS.search(value)
    if refused is None:
        return
    if refused.group() >= "\ud800":
        raise InvalidCommand(f"{field} contains an unpaired surrogate (not valid Unicode text)",
                             field=field)
    raise InvalidCommand(f"{field} contains a control character", field=field)


# C0 controls but newline and tab, DEL, C1 (U+009B alone can start a terminal escape),
# and surrogates, which only appear unpaired in a Python str.
_REFUSED_CHARACTERS: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def check_number(field: str, value: object, *, optional: bool = False) -> None:
    """Refuse anything but a finite int or float (bool is not a number here)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidCommand(f"{field} must be a number, not {type(value).__name__}", field=field)
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidCommand(f"{field} must be a finite number, not {value}", field=field)
    if isinstance(value, int) and not MIN_INT <= value <= MAX_INT:
        raise InvalidCommand(f"{field} is out of range (whole numbers fit in 64 bits)",
                             field=field)


def check_choice(field: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidCommand(
            f"{field} must be one of {', '.join(choices)}, not {brief(value)}", field=field
        )


def check_aware(field: str, value: object) -> None:
    """An aware datetime (with a UTC offset) within the years goalflow takes."""
    if not isinstance(value, datetime):
        raise InvalidCommand(f"{field} must be a datetime, not {type(value).__name__}", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidCommand(f"{field} must carry a UTC offset (naive datetimes are refused)",
                             field=field)
    try:
        in_utc = value.astimezone(UTC).date()
    except OverflowError:  # year 1 east of Greenwich, year 9999 west of it
        in_utc = value.date()
    _check_range(field, in_utc, value)


def calendar_date(moment: datetime, zone: tzinfo) -> date:
    """The date on the clinic's calendar at ``moment``: its date in ``zone``, whatever
    offset the moment was given in (an EHR may send UTC: 01:00Z is still the evening
    before in Chicago)."""
    return moment.astimezone(zone).date()


def check_zone(field: str, value: object) -> None:
    """A time zone given as data (a ``tzinfo``, such as a ``zoneinfo.ZoneInfo``)."""
    if not isinstance(value, tzinfo):
        raise InvalidCommand(f"{field} must be a time zone (a tzinfo), not"
                             f" {type(value).__name__}", field=field)


def check_date(field: str, value: object, *, optional: bool = False) -> None:
    """A date (not a datetime) within the years goalflow takes."""
    if value is None and optional:
        return
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidCommand(f"{field} must be a date, not {type(value).__name__}", field=field)
    _check_range(field, value, value)


def _check_range(field: str, day: date, shown: date) -> None:
    if not EARLIEST <= day <= LATEST:
        raise InvalidCommand(f"{field} {shown.isoformat()} is out of range (from"
                             f" {EARLIEST.year} to {LATEST.year})", field=field)


def brief(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut short for an error message (input may be megabytes long)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value)} characters" if isinstance(value, str) else type(value).__name__
    return f"{text[:limit]}... ({size})"


def _text_tuple(field: str, limit: int) -> Any:
    def validate(_instance: object, _attribute: object, value: tuple[str, ...]) -> None:
        if len(value) > MAX_LIST_LENGTH:
            raise InvalidCommand(f"{field} has more than {MAX_LIST_LENGTH} entries", field=field)
        for item in value:
            check_text(field, item, limit=limit)

    return validate


def to_tuple(value: Any, field: str | None = None) -> tuple[Any, ...]:
    """Accept any iterable but a bare string (which would split into letters) or a mapping
    (which would give its keys)."""
    where = f"{field}: " if field else ""
    if isinstance(value, str | bytes):
        raise InvalidCommand(f"{where}expected a list, not the string {brief(value)}",
                             field=field)
    if isinstance(value, Mapping):
        raise InvalidCommand(f"{where}expected a list, not a mapping", field=field)
    try:
        return tuple(value)
    except TypeError:
        raise InvalidCommand(f"{where}expected a list, not {type(value).__name__}",
                             field=field) from None


def _members(value: Any) -> tuple[Any, ...]:
    return to_tuple(value, "subject.members")


@attrs.frozen
class Actor:
    """Who does something: a person's id in the EHR and the role they act in.

    A guardian always acts ``on_behalf_of`` a client; nobody else does.
    """

    id: str
    role: Role
    on_behalf_of: str | None = None

    def __attrs_post_init__(self) -> None:
        check_text("by.id", self.id, limit=MAX_ID_LENGTH)
        check_choice("by.role", self.role, ROLES)
        if self.role == "guardian":
            check_text("by.on_behalf_of", self.on_behalf_of, limit=MAX_ID_LENGTH)
        elif self.on_behalf_of is not None:
            raise InvalidCommand(
                f"by.on_behalf_of is only for guardians, not a {self.role}",
                field="by.on_behalf_of",
            )

    @property
    def is_clinical(self) -> bool:
        return self.role in CLINICAL_ROLES

    @property
    def acts_for(self) -> str:
        """The client this actor speaks for: themself, or the guardian's client."""
        return self.on_behalf_of if self.on_behalf_of is not None else self.id

    def describe(self) -> str:
        if self.on_behalf_of is not None:
            return f"{self.role} {self.id} (for {self.on_behalf_of})"
        return f"{self.role} {self.id}"


@attrs.frozen
class Subject:
    """Whose goal it is: one client, or a therapy group with its listed members."""

    kind: SubjectKind
    id: str
    members: tuple[str, ...] = attrs.field(default=(), converter=_members)

    def __attrs_post_init__(self) -> None:
        check_choice("subject.kind", self.kind, ("client", "group"))
        check_text("subject.id", self.id, limit=MAX_ID_LENGTH)
        if self.kind == "client" and self.members:
            raise InvalidCommand("subject.members is only for groups", field="subject.members")
        if self.kind == "group":
            if not self.members:
                raise InvalidCommand("a group subject needs at least one member",
                                     field="subject.members")
            if len(set(self.members)) != len(self.members):
                raise InvalidCommand("subject.members lists someone twice",
                                     field="subject.members")
            _text_tuple("subject.members", MAX_ID_LENGTH)(self, None, self.members)

    @classmethod
    def client(cls, client_id: str) -> Subject:
        return cls(kind="client", id=client_id)

    @classmethod
    def group(cls, group_id: str, members: tuple[str, ...] | list[str]) -> Subject:
        return cls(kind="group", id=group_id, members=tuple(members))

    @property
    def required_parties(self) -> tuple[str, ...]:
        """The people whose agreement makes the goal active."""
        return self.members if self.kind == "group" else (self.id,)


@attrs.frozen
class Measure:
    """How progress is measured: a named scale with an optional baseline and target.

    ``direction`` says which way is better. The rest describe the scale, for judging
    change: the ``instrument`` it is (e.g. ``"PHQ-9"``), its range (``minimum``,
    ``maximum``), the standard deviation of the pre-treatment population (``sd``), its
    reliability (``reliability``, r_xx, from 0 up to but not including 1) and its clinical
    ``cutoff``. (Since event schema 2: measures stored before have none of them.)
    """

    name: str
    baseline: int | float | None = None
    target: int | float | None = None
    direction: Direction = "decrease"
    instrument: str | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    sd: int | float | None = None
    reliability: int | float | None = None
    cutoff: int | float | None = None

    def __attrs_post_init__(self) -> None:
        check_text("measure.name", self.name, limit=MAX_LINE_LENGTH)
        check_choice("measure.direction", self.direction, ("decrease", "increase"))
        check_text(f"measure {self.name!r} instrument", self.instrument, limit=MAX_ID_LENGTH,
                   optional=True)
        for part in ("baseline", "target", "minimum", "maximum", "sd", "reliability",
                     "cutoff"):
            check_number(f"measure {self.name!r} {part}", getattr(self, part), optional=True)
        low, high = self.minimum, self.maximum
        if low is not None and high is not None and low >= high:
            raise InvalidCommand(f"measure {self.name!r} minimum {low} must be below its"
                                 f" maximum {high}", field="measure.minimum")
        for part in ("baseline", "target", "cutoff"):
            value = getattr(self, part)
            if value is None:
                continue
            if (low is not None and value < low) or (high is not None and value > high):
                raise InvalidCommand(
                    f"measure {self.name!r} {part} {value} is outside its range"
                    f" {_range(low, high)}", field=f"measure.{part}")
        if self.sd is not None and self.sd <= 0:
            raise InvalidCommand(f"measure {self.name!r} sd must be above 0, not {self.sd}",
                                 field="measure.sd")
        if self.reliability is not None and not 0 <= self.reliability < 1:
            raise InvalidCommand(f"measure {self.name!r} reliability must be from 0 up to 1"
                                 f" (not 1), not {self.reliability}",
                                 field="measure.reliability")


def _range(low: float | None, high: float | None) -> str:
    return f"{'-inf' if low is None else low} to {'inf' if high is None else high}"


@attrs.frozen
class Reading:
    """The latest value recorded for a measure, and when it was taken."""

    value: int | float
    occurred_at: datetime


@attrs.frozen
class Step:
    """An actionable step towards the goal. Ids are ``s1``, ``s2``, ... and never reused."""

    step_id: str
    description: str
    status: StepStatus = "open"


@attrs.frozen
class Agreement:
    """A party's agreement to one version of the goal's terms."""

    party: str
    by: Actor
    terms_version: int
    method: AgreementMethod
    witnessed_by: Actor | None
    occurred_at: datetime


@attrs.frozen
class FieldChange:
    """One field of the terms as it was before a revision and as it is after."""

    field: str
    before: Any
    after: Any


@attrs.frozen
class StepRewording:
    step_id: str
    before: str
    after: str
