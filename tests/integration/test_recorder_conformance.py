"""goalflow's recorders pass the conformance cases eventsourcing ships for its own.

goalflow subclasses eventsourcing's application recorders (to write more in the
events' transaction, and, on PostgreSQL, to replace insert_events), so they must
still be the recorders eventsourcing expects: the same inserts, selects,
notification order and conflict behaviour. These run eventsourcing's own test
cases against them, on a SQLite file and on PostgreSQL.

Not run here, and why:
- ``TrackingRecorderTestCase`` and ``ProcessRecorderTestCase``: goalflow keeps
  each read model's position in its own table (``goalflow_projections``), written
  by goalflow.projection, and uses no eventsourcing tracking or process recorder.
- ``test_performance`` and ``test_concurrent_throughput`` print timings and
  assert nothing; performance is measured by benchmarks, not tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
)

from goalflow.persistence.recorders import PostgresRecorder, SQLiteRecorder

SKIP_TIMINGS = "prints timings and asserts nothing; performance is measured by scripts"


@pytest.fixture(autouse=True)
def _store_dir(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if request.instance is not None:
        request.instance.tmp_path = tmp_path


class SQLiteConformance:
    tmp_path: Path

    def create_recorder(self) -> SQLiteRecorder:
        datastore = SQLiteDatastore(str(self.tmp_path / f"{uuid.uuid4().hex}.db"))
        recorder = SQLiteRecorder(datastore)
        recorder.create_table()
        return recorder


class TestSQLiteRecorder(SQLiteConformance, ApplicationRecorderTestCase[Any]):
    def test_performance(self) -> None:
        pytest.skip(SKIP_TIMINGS)

    def test_concurrent_throughput(self) -> None:
        pytest.skip(SKIP_TIMINGS)


class TestSQLiteNonInterleaving(SQLiteConformance, NonInterleavingNotificationIDsBaseCase):
    insert_num = 200


@pytest.fixture
def _postgres_schema(request: pytest.FixtureRequest) -> Iterator[None]:
    url = os.environ.get("GOALFLOW_TEST_POSTGRES")
    if not url:
        if os.environ.get("GOALFLOW_REQUIRE_POSTGRES") == "1":
            pytest.fail("GOALFLOW_TEST_POSTGRES is not set but GOALFLOW_REQUIRE_POSTGRES=1")
        pytest.skip("GOALFLOW_TEST_POSTGRES is not set")
    schema = f"gf_conf_{uuid.uuid4().hex}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')  # type: ignore[arg-type]
    info = psycopg.conninfo.conninfo_to_dict(url)
    request.instance.datastores = []
    request.instance.make_datastore = lambda: PostgresDatastore(
        dbname=str(info["dbname"]), host=str(info.get("host", "127.0.0.1")),
        port=str(info.get("port", 5432)), user=str(info.get("user", "postgres")),
        password=str(info.get("password", "")), schema=schema, pool_size=4, max_overflow=8,
    )
    yield
    for datastore in request.instance.datastores:
        datastore.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '20s'")
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')  # type: ignore[arg-type]


@pytest.mark.postgres
@pytest.mark.usefixtures("_postgres_schema")
class PostgresConformance:
    datastores: list[PostgresDatastore]
    make_datastore: Any

    def create_recorder(self) -> PostgresRecorder:
        datastore = self.make_datastore()
        self.datastores.append(datastore)
        recorder = PostgresRecorder(datastore)
        recorder.create_table()
        return recorder


class TestPostgresRecorder(PostgresConformance, ApplicationRecorderTestCase[Any]):
    def test_performance(self) -> None:
        pytest.skip(SKIP_TIMINGS)

    def test_concurrent_throughput(self) -> None:
        pytest.skip(SKIP_TIMINGS)


class TestPostgresNonInterleaving(PostgresConformance, NonInterleavingNotificationIDsBaseCase):
    insert_num = 200
