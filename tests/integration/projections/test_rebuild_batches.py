"""Rows a read model works out once per batch (``Projection.end_batch``) do not depend on
where the batches fall: for random clinics, read models kept inline (a batch per command)
equal the same read models rebuilt from the log in batches of any size, on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from random_clinic import run_clinic
from read_models import dump_all

import goalflow
from goalflow import projection

_examples = itertools.count()


@contextlib.contextmanager
def fresh_store(store_url: str) -> Iterator[str]:
    """An empty store of the same kind as ``store_url``, for one example, removed after."""
    n = next(_examples)
    if not store_url.startswith("postgresql"):
        yield store_url.replace("goals.db", f"example-{n}.db")
        return
    import psycopg

    server, _, query = store_url.partition("?")
    params = dict(parse_qsl(query))
    schema = params["schema"] = f"{params['schema']}_x{n}"
    try:
        yield f"{server}?{urlencode(params)}"
    finally:
        with psycopg.connect(os.environ["GOALFLOW_TEST_POSTGRES"], autocommit=True) as conn:
            conn.execute("SET lock_timeout = '20s'")
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), commands=st.integers(20, 160),
       batch=st.integers(1, 60))
def test_rows_kept_inline_equal_rows_rebuilt_in_batches_of_any_size(
    store_url: str, clock: Any, monkeypatch: pytest.MonkeyPatch, seed: int, commands: int,
    batch: int,
) -> None:
    monkeypatch.setattr(projection, "REBUILD_BATCH_SIZE", batch)
    clinic_clock = type(clock)()
    with fresh_store(store_url) as url, goalflow.open(url, clock=clinic_clock) as goals:
        run_clinic(goals, clinic_clock, seed=seed, commands=commands, max_goals=8)
        kept_inline = dump_all(goals)
        goals.projections.rebuild_many(sorted(goals.projections.all), restart=True)
        rebuilt = dump_all(goals)
    for name, tables in kept_inline.items():
        for table, rows in tables.items():
            assert rebuilt[name][table] == rows, \
                f"{name}: {table} differs when rebuilt in batches of {batch} (seed {seed})"
