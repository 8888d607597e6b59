"""Fixtures for the read-model tests: a second store beside the one under test.

The shared people and goal (``anxiety_goal.py``) live one folder up. tests/integration is not
a package (pytest imports its modules by their folder), so that folder goes on the path here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@pytest.fixture
def second_clock(clock: Any) -> Any:
    """A clock of the same kind as ``clock``, at the same starting moment."""
    return type(clock)()


@pytest.fixture
def second_store_url(store_url: str, tmp_path: Path) -> Iterator[str]:
    """Another empty store of the same kind as ``store_url``: a second file, or schema."""
    if not store_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path}/second-goals.db"
        return
    import psycopg

    server, _, query = store_url.partition("?")
    params = dict(parse_qsl(query))
    schema = f"{params['schema']}_second"
    params["schema"] = schema
    yield f"{server}?{urlencode(params)}"
    with psycopg.connect(os.environ["GOALFLOW_TEST_POSTGRES"], autocommit=True) as conn:
        conn.execute("SET lock_timeout = '20s'")
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]
