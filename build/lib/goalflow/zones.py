"""The clinic's time zone: an IANA name, checked against the machine's time zone database.

Every calendar date goalflow works out (the day of an agreement or a review, a review's
due date, "today") is taken in the store's zone. The domain gets the zone as data (a
``tzinfo``); this module is where names become zones, which reads the database's files.
"""

from __future__ import annotations

import difflib
import functools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from goalflow.domain.values import brief
from goalflow.errors import InvalidCommand, StoreError

DEFAULT_TIMEZONE = "UTC"
"""The zone of a store that has none set: every store's, before zones could be set."""

# On the machine's own files but not a zone a clinic may name: "localtime" is whatever
# this machine is set to, so another machine would read the store differently.
_NOT_CLINIC_ZONES = frozenset({"localtime", "posixrules", "Factory"})


def clinic_zone(name: object, field: str = "timezone") -> zoneinfo.ZoneInfo:
    """The zone ``name`` names, for setting a store's; a name that is not an IANA time zone
    this machine knows is an InvalidCommand that names it (and what it may have meant)."""
    if not isinstance(name, str):
        raise InvalidCommand(f"{field} must be an IANA time zone name such as America/Chicago,"
                             f" not {type(name).__name__}", field=field)
    if name not in _NOT_CLINIC_ZONES and name in _known():
        return zoneinfo.ZoneInfo(name)
    if name in _NOT_CLINIC_ZONES:
        raise InvalidCommand(f"{field} {brief(name)} is not a clinic's time zone; give its IANA"
                             " name, such as America/Chicago or Europe/London", field=field)
    close = _close_to(name)
    hint = (f"; did you mean {close}?" if close
            else "; IANA names look like America/Chicago or Europe/London")
    raise InvalidCommand(f"unknown time zone {brief(name)}: not an IANA time zone name this"
                         f" machine knows{hint}", field=field)


def stored_zone(name: str, url: object) -> zoneinfo.ZoneInfo:
    """The zone a store keeps its dates in, by the name it recorded; a name this machine's
    database lacks (an older database than the one that set it) is a StoreError."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise StoreError(f"store {url} keeps its dates in time zone {brief(name)}, which this"
                         " machine's time zone database does not have (install or update"
                         " the tzdata package)") from None


def start_of_day(day: date, zone: tzinfo) -> datetime:
    """The first moment of ``day`` in ``zone``, in UTC (where a clock change skips
    midnight, the moment the clocks jump)."""
    # Midnight in a gap has fold 0, whose offset is the one before the jump: that instant
    # is the jump itself, the first moment the day has.
    return datetime.combine(day, time.min, zone).astimezone(UTC)


def end_of_day(day: date, zone: tzinfo) -> datetime:
    """The last moment of ``day`` in ``zone``, in UTC: a microsecond before the next day
    starts (on a day the clocks go back, after the hour that comes twice). Days are those
    goalflow takes (1900 to 2999: :func:`~goalflow.domain.values.check_date`)."""
    following = start_of_day(day + timedelta(days=1), zone)
    return following - timedelta(microseconds=1)  # in UTC: real, not wall-clock, time


@functools.cache
def _known() -> frozenset[str]:
    # Read once a process: listing the database means opening each of its ~600 files.
    return frozenset(zoneinfo.available_timezones())


def _close_to(name: str) -> str | None:
    known = _known() - _NOT_CLINIC_ZONES
    by_case = {zone.lower(): zone for zone in known}
    if name.strip().lower() in by_case:
        return by_case[name.strip().lower()]
    matches = difflib.get_close_matches(name[:100], sorted(known), n=1, cutoff=0.8)
    return matches[0] if matches else None
