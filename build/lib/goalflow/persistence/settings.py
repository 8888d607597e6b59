"""The store's settings, in goalflow's own table beside the events: the clinic's time zone.

``goalflow_settings`` holds one row per change of a setting, and rows are never updated or
deleted: ``name``, ``seq`` (1, 2, ... per name), ``value``, ``set_at`` (when, by the
service's clock, ISO 8601 UTC), ``position`` (the log's head when it was set: the change
holds for the events after it) and ``goalflow`` (the version that set it). A setting's
value is its newest row's; a setting with no row has its default.

The time zone is kept here, not recorded as an event, because it is how the store reads
its calendar, not a fact about any goal. No event's meaning depends on it: events keep
instants with their offsets and the dates people gave; a command that judges a date
(agreeing, a review) was judged in the zone then in force and its event records the
decision; read models keep instants and take dates when they are read. An event would need
an aggregate that is not a goal, for every reader of the log (read models, export, proofs,
inspection) to step round. The rows kept here still say which zone held from which
position, for an auditor who asks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import attrs

from goalflow.version import goalflow_version

if TYPE_CHECKING:
    from goalflow.persistence.recorders import Dialect, Tx

SETTINGS_TABLE: Final = "goalflow_settings"

TIMEZONE: Final = "timezone"
"""The clinic's time zone: an IANA name (``America/Chicago``); UTC when not set."""


@attrs.frozen
class Setting:
    """One change of a setting, as recorded."""

    name: str
    seq: int
    value: str
    set_at: datetime
    position: int
    goalflow: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "seq": self.seq, "value": self.value,
                "set_at": self.set_at.isoformat(), "position": self.position,
                "goalflow": self.goalflow}


def tables(dialect: Dialect, schema: str) -> list[str]:
    """CREATE statement of the settings table."""
    name = f'"{schema}"."{SETTINGS_TABLE}"' if schema else f'"{SETTINGS_TABLE}"'
    if dialect == "sqlite":
        text, integer, suffix = "TEXT", "INTEGER", " WITHOUT ROWID"
    else:
        text, integer, suffix = "text", "bigint", ""
    return [
        f"CREATE TABLE IF NOT EXISTS {name} (name {text} NOT NULL, seq {integer} NOT NULL,"
        f" value {text} NOT NULL, set_at {text} NOT NULL, position {integer} NOT NULL,"
        f" goalflow {text} NOT NULL, PRIMARY KEY (name, seq)){suffix}",
    ]


_COLUMNS = "name, seq, value, set_at, position, goalflow"


def current(tx: Tx, name: str) -> Setting | None:
    """The setting's newest value, or None when it was never set."""
    row = tx.execute(f"SELECT {_COLUMNS} FROM {tx.table(SETTINGS_TABLE)} WHERE name = ?"
                     " ORDER BY seq DESC LIMIT 1", (name,)).fetchone()
    return None if row is None else _setting(row)


def history(tx: Tx, name: str) -> list[Setting]:
    """Every value the setting was given, oldest first."""
    rows = tx.execute(f"SELECT {_COLUMNS} FROM {tx.table(SETTINGS_TABLE)} WHERE name = ?"
                      " ORDER BY seq", (name,)).fetchall()
    return [_setting(row) for row in rows]


def record(tx: Tx, name: str, value: str, *, set_at: datetime, position: int) -> Setting:
    """Give the setting a new value, as a new row (the ones before stay as they are).

    The caller holds off other writers (:meth:`GoalStore.lock_writers`), so that ``seq``
    and ``position`` are not raced."""
    last = current(tx, name)
    setting = Setting(name, 1 if last is None else last.seq + 1, value, set_at.astimezone(UTC),
                      position, goalflow_version())
    insert(tx, setting)
    return setting


def insert(tx: Tx, setting: Setting) -> None:
    """Store a change of a setting as it is (an import copies another store's)."""
    tx.execute(f"INSERT INTO {tx.table(SETTINGS_TABLE)} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
               (setting.name, setting.seq, setting.value, setting.set_at.isoformat(),
                setting.position, setting.goalflow))


class SettingChanged(Exception):
    """A setting a command was judged by changed before the command was recorded: nothing
    was recorded, and the command is to be judged again by the setting now in force."""


def unchanged(name: str, seq: int) -> Callable[[Tx, Sequence[int]], None]:
    """A write (for the events' transaction) that refuses to record them, raising
    :class:`SettingChanged`, unless the setting is still at change ``seq`` (0: never set).
    A change takes the writers' lock, so none can land between this check and the commit."""

    def check(tx: Tx, _positions: Sequence[int]) -> None:
        row = tx.execute(f"SELECT MAX(seq) FROM {tx.table(SETTINGS_TABLE)} WHERE name = ?",
                         (name,)).fetchone()
        if (row[0] if row and row[0] is not None else 0) != seq:
            raise SettingChanged(name)

    return check


def _setting(row: tuple[Any, ...]) -> Setting:
    name, seq, value, set_at, position, goalflow = row
    return Setting(name, int(seq), value, datetime.fromisoformat(set_at), int(position),
                   goalflow)
