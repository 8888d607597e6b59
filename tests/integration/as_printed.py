"""Read-model query results as the command line prints them (``to_dict``), for the tests
that assert on that JSON shape: ids and dates as strings, keys as ``--json`` shows them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def printed(values: Iterable[Any]) -> list[dict[str, Any]]:
    """``goals.plan(...)``, ``audit``, ``reviews`` or ``goal_index`` as ``--json`` lines."""
    return [value.to_dict() for value in values]
