"""Files that hold clients' data are made readable by their owner only (0600), whatever
the umask: the SQLite store (SQLite gives its -wal and -shm files the store's mode), the key
store, exports, proofs and reports."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO, Any

MODE = 0o600


def create(path: str | Path) -> None:
    """Make ``path`` (empty) with mode 0600 if it is not there; a file already there is
    let be, but one goalflow is about to fill is narrowed to 0600 too."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, MODE)
    try:
        os.fchmod(fd, MODE)
    finally:
        os.close(fd)


def open_private(path: str | Path, mode: str = "wb") -> IO[Any]:
    """``open(path, mode)`` for writing, the file made (or narrowed to) 0600 first."""
    if any(m in mode for m in "wax+"):
        flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if "x" in mode else 0)
        fd = os.open(path, flags, MODE)
        with contextlib.suppress(OSError):  # a file not ours (/dev/stdout): as it is
            if os.path.isfile(path):
                os.fchmod(fd, MODE)
        os.close(fd)
        mode = mode.replace("x", "w")  # made just now, by us
    return open(path, mode)
