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
