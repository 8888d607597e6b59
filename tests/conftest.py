"""Fixtures shared by every test: the stores to run against, and a clock the test controls.

``store_url`` runs a test once on a SQLite file and once on PostgreSQL. PostgreSQL runs when
``GOALFLOW_TEST_POSTGRES`` holds a server url, each test in a schema of its own that is dropped
afterwards; without it those runs skip with the reason, unless ``GOALFLOW_REQUIRE_POSTGRES=1``
(as on CI), when they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import goalflow

POSTGRES_ENV = "GOALFLOW_TEST_POSTGRES"
REQUIRE_POSTGRES_ENV = "GOALFLOW_REQUIRE_POSTGRES"

# A Monday morning in the clinic; far enough from the real today that a test which
# reads the wall clock instead of the service's clock shows up.
CLINIC_OPENS = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


class Clock:
    """A clock that stands still until the test moves it on.

    Passed to ``goalflow.open(..., clock=clock)``, it is the service's only idea of "now".
    """

    def __init__(self, now: datetime = CLINIC_OPENS) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move time on by ``timedelta(**delta)`` and return the new now."""
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def postgres_server() -> str:
    """The PostgreSQL server to test against, or skip (fail, when it is required)."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail(f"{POSTGRES_ENV} is not set but {REQUIRE_POSTGRES_ENV}=1")
        pytest.skip(f"{POSTGRES_ENV} is not set")
    return url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A goalflow url for a PostgreSQL schema of this test's own, dropped afterwards."""
    import psycopg

    server = postgres_server
    schema = f"gf_{uuid.uuid4().hex}"
    separator = "&" if "?" in server else "?"
    yield f"{server}{separator}schema={schema}"
    with psycopg.connect(server, autocommit=True) as conn:
        # Don't wait forever behind a connection a failed test left in a transaction.
        conn.execute("SET lock_timeout = '20s'")
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The url of an empty store: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        # tmp_path is absolute, so this is the sqlite:////absolute/path.db form.
        return f"sqlite:///{tmp_path}/goals.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def goals(store_url: str, clock: Clock) -> Iterator[goalflow.Goals]:
    """The Goals service on the store under test, reading time from ``clock``."""
    service = goalflow.open(store_url, clock=clock)
    yield service
    service.close()
