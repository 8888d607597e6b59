"""Plain, JSON-ready views of domain values (for ``to_dict`` and display)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import attrs


def plain(value: Any) -> Any:
    """Turn a domain value into JSON-ready data: ISO strings, lists and dicts."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if attrs.has(type(value)):
        return {f.name: plain(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    raise TypeError(f"no plain form for {type(value).__name__}")
