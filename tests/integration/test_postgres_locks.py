"""Every lock goalflow takes on PostgreSQL waits a bounded time (issue 18, item A).

Another connection holds a lock in an open transaction: the events table's, table
creation's advisory lock, a read model's tracking row. Opening the store, catching up a
worker-mode read model and running the worker each end in one clear StoreError naming the
store ("locked ... waited N s"), instead of waiting for as long as the other transaction
lasts. Each runs in a thread with a generous join timeout: a hang fails the test instead
of hanging the run.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from anxiety_goal import MAYA, agreed_anxiety_goal

import goalflow
import goalflow.persistence.store as store_module
from goalflow import StoreError
from goalflow.persistence.urls import parse_url

pytestmark = pytest.mark.postgres

HANG = 60.0
"""Seconds after which a call still waiting is taken to wait forever (the lock waits 1 s)."""


@pytest.fixture(autouse=True)
def short_lock_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "LOCK_TIMEOUT", 1)


@pytest.fixture
def schema(postgres_url: str) -> str:
    return parse_url(postgres_url).schema


@contextlib.contextmanager
def held(*statements: str) -> Iterator[psycopg.Connection[Any]]:
    """Another session that runs the statements in a transaction and keeps it open."""
    with psycopg.connect(os.environ["GOALFLOW_TEST_POSTGRES"]) as other:
        for statement in statements:
            other.execute(statement)  # type: ignore[arg-type]
        try:
            yield other
        finally:
            other.rollback()


def raised_by(call: Callable[[], object]) -> BaseException:
    """What the call raised, run in a thread so that a call that never returns fails."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as e:
            outcome.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG)
    assert not thread.is_alive(), f"still waiting for the lock after {HANG} s"
    [error] = outcome
    assert error is not None, "the call did not wait for the lock at all"
    return error


def assert_locked(error: BaseException, url: str) -> None:
    assert isinstance(error, StoreError), repr(error)
    message = str(error)
    assert str(parse_url(url)) in message
    assert "locked" in message
    assert "waited 1 s" in message
    assert "\n" not in message


def created(url: str, clock: Any) -> None:
    with goalflow.open(url, clock=clock) as goals:
        agreed_anxiety_goal(goals)


def test_opening_while_another_session_locks_the_events_table_fails_clearly(
    postgres_url: str, schema: str, clock: Any
) -> None:
    created(postgres_url, clock)
    with held(f'LOCK TABLE "{schema}"."goalflow_events" IN EXCLUSIVE MODE'):
        error = raised_by(lambda: goalflow.open(postgres_url).close())
    assert_locked(error, postgres_url)
    goalflow.open(postgres_url).close()  # and opens once the lock is released


def test_opening_while_another_session_creates_tables_fails_clearly(
    postgres_url: str, clock: Any
) -> None:
    with held(f"SELECT pg_advisory_xact_lock({store_module._CREATE_LOCK_KEY})"):
        error = raised_by(lambda: goalflow.open(postgres_url).close())
    assert_locked(error, postgres_url)
    created(postgres_url, clock)


@pytest.fixture
def worker_behind(postgres_url: str, clock: Any) -> Iterator[goalflow.Goals]:
    """A store whose plans read model runs in worker mode, one event behind."""
    with goalflow.open(postgres_url, clock=clock) as goals:
        goal_id = agreed_anxiety_goal(goals)
        goals.projections.set_mode("plans", "worker")
        goals.complete_step(goal_id, by=MAYA, step_id="s1")
        yield goals


def plans_row_held(schema: str) -> contextlib.AbstractContextManager[Any]:
    """Another session holding the plans read model's tracking row (as a worker would)."""
    return held(f"""SELECT * FROM "{schema}"."goalflow_projections" WHERE name = 'plans'
                    FOR UPDATE""")


def test_catching_up_a_read_model_another_session_holds_fails_clearly(
    worker_behind: goalflow.Goals, postgres_url: str, schema: str
) -> None:
    goals = worker_behind
    with plans_row_held(schema):
        error = raised_by(lambda: goals.projections.catch_up("plans"))
    assert_locked(error, postgres_url)
    assert goals.projections.catch_up("plans") == 1


def test_a_worker_whose_read_model_another_session_holds_hears_of_it_and_goes_on(
    worker_behind: goalflow.Goals, postgres_url: str, schema: str
) -> None:
    goals = worker_behind
    faults: list[StoreError] = []
    batches: list[int] = []

    def run_until_a_fault() -> None:
        goals.projections.run(
            ["plans"], stop=lambda: bool(faults), wait=lambda seconds: None,
            on_batch=lambda name, applied: batches.append(applied),
            on_fault=lambda fault, pause: faults.append(fault))
        raise faults[0]

    with plans_row_held(schema):
        error = raised_by(run_until_a_fault)
    assert_locked(error, postgres_url)
    assert batches == []
    goals.projections.run(["plans"], stop=lambda: bool(batches), wait=lambda seconds: None,
                          on_batch=lambda name, applied: batches.append(applied))
    assert batches == [1]
