"""An auditor's read-only directory, as the integration tests make one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest


def unwritable_for_root(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Root may write anywhere (chmod does not stop it): make goalflow see ``folder`` as
    an auditor without write access would. Does nothing for other users."""
    if os.getuid() != 0:
        return
    real_access = os.access

    def access(path: Any, mode: int, **kw: Any) -> bool:
        if Path(path) == folder and mode & os.W_OK:
            return False
        return real_access(path, mode, **kw)

    monkeypatch.setattr(os, "access", access)
