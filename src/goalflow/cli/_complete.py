"""Shell completion of goal ids, event types and read-model names (click's ``shell_complete=``).

Each completer matches what has been typed so far as a prefix, and never fails the shell: any
error (no store, an encrypted store without its key, a database that is down) gives no
completions. Goal ids come from the store the root ``--db`` (or ``$GOALFLOW_DB``) names,
opened read-only: one query of the goal index, nothing replayed, nothing created.
"""

from __future__ import annotations

import contextlib
import io
from typing import Final

import click
from click.shell_completion import CompletionItem

MAX_GOALS: Final = 200
"""The most goal ids offered at once: past that, typing a few more hex digits narrows it."""


def goal_ids(ctx: click.Context, _param: click.Parameter, incomplete: str
             ) -> list[CompletionItem]:
    """The store's goal ids that start with ``incomplete``, each with its statement."""
    try:
        return _goal_ids(ctx, incomplete.lower())
    except Exception:  # completion never fails the shell
        return []


def _goal_ids(ctx: click.Context, prefix: str) -> list[CompletionItem]:
    import goalflow  # only when asked: completing an option name opens nothing
    from goalflow.crypto import master

    root = ctx.find_root().params
    key_file = root.get("master_key_file")
    key = master.from_file(key_file) if key_file else None
    # Nothing the store might say on the way (a progress bar, a warning) reaches the shell.
    with contextlib.redirect_stderr(io.StringIO()), \
            goalflow.open(root.get("url"), readonly=True, master_key=key,
                          keys=root.get("keys")) as goals:
        index = goals.goal_index()
    found = [CompletionItem(str(g.goal_id), help=_brief(g.statement))
             for g in index if str(g.goal_id).startswith(prefix)]
    return sorted(found, key=lambda item: item.value)[:MAX_GOALS]


def _brief(text: str, width: int = 50) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def event_types(_ctx: click.Context, _param: click.Parameter, incomplete: str
                ) -> list[CompletionItem]:
    """The goal event types (``Drafted``, ``Revised``, ...) that start with ``incomplete``."""
    from goalflow.domain.goal import EVENT_TYPES

    return [CompletionItem(name) for name in EVENT_TYPES
            if name.lower().startswith(incomplete.lower())]


def projection_names(_ctx: click.Context, _param: click.Parameter, incomplete: str
                     ) -> list[CompletionItem]:
    """The installed read models (the ``goalflow.projections`` entry points) by prefix."""
    try:
        from goalflow.projection import discover

        names = sorted(p.name for p in discover())
    except Exception:  # a broken plug-in must not break the shell
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]
