"""A PostgreSQL auditor's role reads everything an audit needs and can write nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from anxiety_goal import DR_LEE, agreed_anxiety_goal
from as_printed import printed

import goalflow
from goalflow.errors import StoreError
from goalflow.integrity import proofs
from goalflow.integrity.auditor import grant_auditor

pytestmark = pytest.mark.postgres


@pytest.fixture
def auditor(postgres_server: str) -> Iterator[str]:
    role = f"gf_auditor_{uuid.uuid4().hex[:8]}"
    yield role
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            return
        for row in conn.execute("SELECT nspname FROM pg_namespace WHERE has_schema_privilege("
                                "%s, oid, 'USAGE') AND nspname LIKE 'gf\\_%%'", (role,)):
            conn.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{row[0]}" FROM "{role}"')
            conn.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{row[0]}" REVOKE SELECT ON'
                         f' TABLES FROM "{role}"')
            conn.execute(f'REVOKE ALL ON SCHEMA "{row[0]}" FROM "{role}"')
        conn.execute(f'REVOKE ALL ON DATABASE "{urlsplit(postgres_server).path[1:]}" FROM'
                     f' "{role}"')
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def as_role(url: str, role: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{role}:{password}@{host}").geturl()


def test_the_auditor_reads_verifies_and_proves_and_cannot_write(
        postgres_url: str, auditor: str, clock: Any) -> None:
    with goalflow.open(postgres_url, clock=clock) as goals:
        goal_id = agreed_anxiety_goal(goals)
        tables = grant_auditor(goals.store, auditor, "s3cr@t:pw")
        grant_auditor(goals.store, auditor, "s3cr@t:pw")  # again: updates, no error
    assert {"goalflow_events", "goalflow_chain_leaves", "goalflow_chain_nodes",
            "gf_plan_goals"} <= set(tables)
    url = as_role(postgres_url, auditor, "s3cr@t:pw")
    with goalflow.open(url, readonly=True) as goals:
        digest = goals.digest()
        assert goals.verify(digest).intact
        assert proofs.check(goals.prove(goal_id, digest), digest)
        assert goals.get(goal_id).status == "active"
        assert printed(goals.plan("client-7"))
        assert printed(goals.audit(goal_id))
    with pytest.raises(StoreError, match="permission denied") as refused:
        goalflow.open(url).record_progress(goal_id, by=DR_LEE, measure="GAD-7", value=9)
    assert "\n" not in str(refused.value)
    assert "s3cr@t" not in str(refused.value)
    server = urlsplit(postgres_url)
    with psycopg.connect(host=server.hostname, port=server.port, dbname=server.path[1:],
                         user=auditor, password="s3cr@t:pw") as conn:
        schema = postgres_url.rpartition("schema=")[2]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f'DELETE FROM "{schema}".goalflow_events')


def test_grant_auditor_refuses_sqlite(tmp_path: Any) -> None:
    with goalflow.open(f"sqlite:///{tmp_path}/g.db") as goals, \
            pytest.raises(StoreError, match="for PostgreSQL stores"):
        grant_auditor(goals.store, "auditor")
