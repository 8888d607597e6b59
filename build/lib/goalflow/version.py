"""The version of goalflow that is running, as stores and exports record it."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version


@cache
def goalflow_version() -> str:
    try:
        return version("goalflow")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"
