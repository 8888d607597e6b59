"""libpq's options in a PostgreSQL store url reach every connection (issue 18, item B).

The test server has no TLS: ``sslmode=require`` must fail, clearly and without the
password; ``sslmode=disable`` and ``application_name`` must work end to end, on the pool's
connections (eventsourcing's) and on goalflow's own (the listener, table creation).
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import psycopg
import pytest
from anxiety_goal import MAYA, agreed_anxiety_goal

import goalflow
from goalflow import StoreError
from goalflow.persistence.store import LOCK_TIMEOUT
from goalflow.persistence.urls import parse_url

pytestmark = pytest.mark.postgres


def with_options(url: str, options: str, password: str = "") -> str:
    """The test's store url with a password (the server trusts, so any will do) and
    more options."""
    if password:
        scheme, _, rest = url.partition("://")
        user, _, host = rest.partition("@")
        url = f"{scheme}://{user}:{password}@{host}"
    return f"{url}&{options}"


def sessions_named(application_name: str, *, doing: str = "") -> int:
    """How many sessions with that name the server has (whose last statement starts so)."""
    with psycopg.connect(os.environ["GOALFLOW_TEST_POSTGRES"]) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                           " AND query LIKE %s", (application_name, f"{doing}%")).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("readonly", [False, True])
def test_requiring_tls_of_a_server_without_it_is_a_clear_error_without_the_password(
    postgres_url: str, clock: Any, readonly: bool
) -> None:
    with goalflow.open(postgres_url, clock=clock) as goals:
        agreed_anxiety_goal(goals)
    url = with_options(postgres_url, "sslmode=require", password="Tiger%40Lily")

    with pytest.raises(StoreError) as refused:
        goalflow.open(url, readonly=readonly).close()

    message = str(refused.value)
    assert str(parse_url(url)) in message
    assert "sslmode=require" in message
    assert "SSL" in message
    assert "\n" not in message
    for secret in ("Tiger", "Lily"):
        assert secret not in message
        assert secret not in repr(refused.value)


def test_tls_disabled_and_an_application_name_work_end_to_end(
    postgres_url: str, clock: Any
) -> None:
    name = f"goalflow-test-{uuid.uuid4().hex[:12]}"
    url = with_options(postgres_url, f"sslmode=disable&application_name={name}",
                       password="Tiger:Lily")

    with goalflow.open(url, clock=clock) as goals:
        goal_id = agreed_anxiety_goal(goals)
        goals.complete_step(goal_id, by=MAYA, step_id="s1")
        assert sessions_named(name) >= 1  # the pool's
        goals.store.wait_for_events(0.01)  # opens goalflow's own listening connection
        assert sessions_named(name, doing="LISTEN") == 1
        with goals.store.recorder.transaction(commit=False) as tx:
            row = tx.execute("SELECT current_setting('application_name') AS a,"
                             " current_setting('lock_timeout') AS b").fetchone()
        assert row == (name, f"{LOCK_TIMEOUT}s")

    with goalflow.open(url, readonly=True) as reader:
        assert reader.get(goal_id).version == 3
        assert sessions_named(name) >= 1
        with reader.store.recorder.transaction(commit=False) as tx:
            row = tx.execute("SELECT current_setting('application_name') AS a,"
                             " current_setting('default_transaction_read_only') AS b").fetchone()
        assert row == (name, "on")


def test_the_urls_own_server_settings_are_kept_beside_goalflows(
    postgres_url: str, clock: Any
) -> None:
    url = with_options(postgres_url, "options=-c%20statement_timeout%3D12s")
    with goalflow.open(url, clock=clock) as goals:
        agreed_anxiety_goal(goals)
        with goals.store.recorder.transaction(commit=False) as tx:
            row = tx.execute("SELECT current_setting('statement_timeout') AS a,"
                             " current_setting('lock_timeout') AS b").fetchone()
        assert row == ("12s", f"{LOCK_TIMEOUT}s")
