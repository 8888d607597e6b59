"""Database faults, said plainly: what the message adds to the driver's first line."""

from __future__ import annotations

import errno
import sqlite3

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError

from goalflow.errors import InvalidCommand, StoreError
from goalflow.persistence.store import describe_fault, storage_errors


@pytest.mark.parametrize(("fault", "says"), [
    (sqlite3.OperationalError("database is locked"),
     "database is locked (another process holds a write lock; waited 10 s)"),
    (OperationalError("canceling statement due to lock timeout\nCONTEXT: while locking"),
     "database is locked (another process holds a write lock; waited 10 s)"),
    (OperationalError("couldn't get a connection after 5.00 sec"),
     "cannot connect within 5 s (is the server running and reachable?)"),
    (OperationalError("couldn't get a connection after 12.00 sec"),  # the url's connect_timeout
     "cannot connect within 12 s (is the server running and reachable?)"),
    (OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
    (sqlite3.DatabaseError("file is not a database\nmore detail"), "file is not a database"),
    # A PostgreSQL hot standby (a read replica): a write goalflow did not refuse itself, and
    # a read cancelled to replay the primary's changes.
    (OperationalError("cannot execute CREATE ROLE in a read-only transaction"),
     "the store is read-only here (a read replica, or a read-only role or session): cannot"
     " execute CREATE ROLE in a read-only transaction; send writes to the primary"),
    (OperationalError("canceling statement due to conflict with recovery\nDETAIL: User query"
                      " might have needed to see row versions that must be removed."),
     "the replica cancelled this read to replay the primary's changes (canceling statement"
     " due to conflict with recovery); run it again, or give the replica a longer"
     " max_standby_streaming_delay or hot_standby_feedback = on"),
])
def test_a_fault_is_one_line_that_says_what_happened(fault: Exception, says: str) -> None:
    message = describe_fault(fault)
    assert says in message
    assert "\n" not in message


def test_a_fault_inside_becomes_a_store_error_naming_the_store() -> None:
    with pytest.raises(StoreError, match=r"^store sqlite:///x.db: database is locked"), \
            storage_errors("sqlite:///x.db"):
        raise sqlite3.OperationalError("database is locked")


@pytest.mark.parametrize("error", [IntegrityError("taken"), InvalidCommand("bad"),
                                   StoreError("already said")])
def test_lost_races_and_goalflows_own_errors_pass_through(error: Exception) -> None:
    with pytest.raises(type(error)) as raised, storage_errors("sqlite:///x.db"):
        raise error
    assert raised.value is error
