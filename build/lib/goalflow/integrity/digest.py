"""A digest of the log: its size and Merkle root at a moment, kept outside the system.

An auditor keeps one (printed, in a ticket, in an email); later, verification proves
that the log still begins with exactly the events it covered.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import attrs
import orjson

from goalflow.errors import GoalflowError
from goalflow.integrity import chain, merkle


class DigestError(GoalflowError, ValueError):
    """A digest that cannot be read, or a log that does not match one."""


@attrs.frozen
class Digest:
    size: int
    root: str  # hex
    at: str | None = None  # ISO 8601, when it was taken

    @property
    def root_bytes(self) -> bytes:
        return bytes.fromhex(self.root)

    def as_json(self) -> dict[str, Any]:
        return {"size": self.size, "root": self.root, "at": self.at}

    @classmethod
    def parse(cls, text: str | bytes | dict[str, Any], *, source: str = "the digest"
              ) -> Digest:
        """A digest from its JSON (or a dict of it); DigestError naming what is wrong."""
        if isinstance(text, dict):
            data: Any = text
        else:
            try:
                data = orjson.loads(text)
            except orjson.JSONDecodeError as e:
                raise DigestError(f"{source} is not JSON ({e})") from None
        if not isinstance(data, dict):
            raise DigestError(f"{source} must be a JSON object with size and root")
        size, root, at = data.get("size"), data.get("root"), data.get("at")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise DigestError(f"{source}: size must be a whole number of events (0 or more)")
        if not isinstance(root, str) or not re.fullmatch(r"[0-9a-f]{64}", root.lower()):
            raise DigestError(f"{source}: root must be 64 hex digits (a SHA-256 hash)")
        if at is not None and not isinstance(at, str):
            raise DigestError(f"{source}: at must be a time (ISO 8601 text)")
        return cls(size, root.lower(), at)

    @classmethod
    def load(cls, value: str) -> Digest:
        """A digest from a file's path, or from JSON given inline."""
        if value.lstrip().startswith("{"):
            return cls.parse(value, source="the digest given")
        path = Path(value)
        try:
            text = path.read_bytes()
        except OSError as e:
            raise DigestError(f"cannot read digest {path}: {e.strerror}") from None
        return cls.parse(text, source=f"digest {path}")


def take(store: Any, at: str) -> Digest:
    """The log's digest now: its size and root, read from the stored tree (O(log n))."""
    with store.recorder.transaction(commit=False) as tx:
        size = chain.size(tx)
        nodes = chain.StoredNodes(tx)
        nodes.prefetch(lambda n: merkle.root(size, n))
        root = merkle.root(size, nodes)
    return Digest(size, root.hex(), at)
