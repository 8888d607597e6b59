"""Where the benchmark's stores live, and how they are filled before a measurement.

Each measurement gets a pair of fresh stores of the same kind: a goalflow url and the
baseline's eventsourcing environment. On SQLite both are files in one directory (a temporary
one unless ``--db sqlite:///path`` names where); on PostgreSQL both are schemas of the named
database on the same server, made for this run and dropped at its end.

Pre-filling (what is not measured) goes through the domain directly: goalflow's ``Goal`` and
``GoalStore.append`` (read models written inline when the store has them), the baseline's
aggregate and ``Application.save``, one goal's events per transaction for both.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import attrs
import psycopg
from eventsourcing.utils import get_topic
from psycopg.conninfo import make_conninfo

import goalflow
from benchmarks import baseline
from goalflow.application import parse_goal_id
from goalflow.commands import parse_command
from goalflow.domain.goal import Goal
from goalflow.persistence.recorders import PostgresStoreFactory
from goalflow.persistence.urls import StoreUrl, parse_url


@attrs.frozen
class Pair:
    """A goalflow store and a baseline store, of the same kind, for one measurement."""

    label: str
    url: str
    env: dict[str, str]


class Backend:
    """Makes fresh store pairs for a run and removes them afterwards."""

    def __init__(self, db: str | None, *, keep: bool = False) -> None:
        self.keep = keep
        self.run_id = secrets.token_hex(3)
        self._schemas: list[str] = []
        self._tmp: Path | None = None
        if db is None or db.startswith("sqlite:///"):
            self.kind = "sqlite"
            if db is None:
                self._tmp = Path(tempfile.mkdtemp(prefix="goalflow-bench-"))
                self.directory, self.stem = self._tmp, "bench"
            else:
                path = parse_url(db).path
                assert path is not None
                path = path.expanduser().absolute()
                path.parent.mkdir(parents=True, exist_ok=True)
                self.directory, self.stem = path.parent, f"{path.stem}-{self.run_id}"
            self.server: StoreUrl | None = None
        elif db.startswith(("postgresql://", "postgres://")):
            self.kind = "postgresql"
            self.server = parse_url(db)
            prefix = self.server.schema if self.server.schema != "public" else "gfbench"
            self.prefix = f"{prefix}_{self.run_id}"
        else:
            raise SystemExit(f"--db: a sqlite:///path or postgresql://... url, not {db!r}")

    def new(self, label: str) -> Pair:
        if self.kind == "sqlite":
            base = self.directory / f"{self.stem}-{label}"
            return Pair(label, f"sqlite:///{base}-goalflow.db", {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": f"{base}-baseline.db",
            })
        assert self.server is not None
        s = self.server
        gf_schema, es_schema = f"{self.prefix}_{label}_gf", f"{self.prefix}_{label}_es"
        self._schemas += [gf_schema, es_schema]
        with self.connect() as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{es_schema}"')
        secret = f":{quote(s.password, safe='')}" if s.password else ""
        host = f"[{s.host}]" if ":" in s.host else s.host
        # The --db url's libpq options (sslmode, sslrootcert, application_name, ...) go
        # with the schema to both stores, so a run reaches a server the way --db does.
        options = "".join(f"&{name}={quote(value, safe='')}" for name, value in s.options)
        url = (f"postgresql://{quote(s.user, safe='')}{secret}@{host}:{s.port}/"
               f"{quote(s.dbname, safe='')}?schema={gf_schema}{options}")
        return Pair(label, url, {
            # eventsourcing's settings have no place for libpq's options: goalflow's
            # factory (eventsourcing's own, which gives these to every pooled connection,
            # and takes a user or password the url leaves out from libpq's environment,
            # as goalflow does) connects the baseline as goalflow connects.
            "PERSISTENCE_MODULE": get_topic(PostgresStoreFactory),
            PostgresStoreFactory.LIBPQ_OPTIONS: make_conninfo("", **self._libpq_options()),
            "POSTGRES_DBNAME": s.dbname, "POSTGRES_HOST": s.host, "POSTGRES_PORT": str(s.port),
            "POSTGRES_USER": s.user, "POSTGRES_PASSWORD": s.password,
            "POSTGRES_SCHEMA": es_schema,
        })

    def _libpq_options(self) -> dict[str, str]:
        assert self.server is not None
        return {"hostaddr": "", **dict(self.server.options)}  # PGHOSTADDR: never

    def connect(self) -> psycopg.Connection[Any]:
        assert self.server is not None
        s = self.server
        who = {k: v for k, v in (("user", s.user), ("password", s.password)) if v}
        conninfo = make_conninfo("", host=s.host, port=s.port, dbname=s.dbname, **who,
                                 **{"connect_timeout": "5", **self._libpq_options()})
        return psycopg.connect(conninfo, autocommit=True)

    def settle(self) -> None:
        """After a fill, before a read measurement: on PostgreSQL, VACUUM ANALYZE the
        run's tables, so that autovacuum does not wake on the rows just written in the
        middle of the measurement and take a core from it (on this 2-core machine the
        encrypted goal load measured 0.84 in a full run, 0.92-0.94 on its own). SQLite has
        no background work to settle."""
        if self.kind != "postgresql" or not self._schemas:
            return
        with self.connect() as conn:
            tables = conn.execute(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables"
                " WHERE schemaname = ANY(%s)", (self._schemas,)).fetchall()
            for (table,) in tables:
                conn.execute(f"VACUUM (ANALYZE) {table}")

    def version(self) -> str:
        if self.kind == "sqlite":
            import sqlite3

            return sqlite3.sqlite_version
        with self.connect() as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"

    def where(self) -> str:
        if self.kind == "sqlite":
            return str(self.directory)
        assert self.server is not None
        return f"{self.server} schemas {self.prefix}_*"

    def cleanup(self) -> None:
        if self.keep:
            return
        if self.kind == "sqlite":
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
            else:
                for path in self.directory.glob(f"{self.stem}-*"):
                    path.unlink(missing_ok=True)
            return
        if not self._schemas:
            return
        with self.connect() as conn:
            for schema in self._schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def snapshot_table(goals: goalflow.Goals) -> str:
    """goalflow's snapshot table (stored_snapshots on SQLite, goalflow_snapshots on PostgreSQL)."""
    return "stored_snapshots" if goals.store.url.kind != "postgresql" else "goalflow_snapshots"


def count_rows(goals: goalflow.Goals, table: str) -> int:
    with goals.store.recorder.transaction(commit=False) as tx:
        row = tx.execute(f"SELECT COUNT(*) FROM {tx.table(table)}").fetchone()
    return int(row[0]) if row else 0


def delete_snapshots(goals: goalflow.Goals) -> None:
    """Drop every snapshot of the store (they are a cache: goals then load by replay)."""
    with goals.store.recorder.transaction(commit=True) as tx:
        tx.execute(f"DELETE FROM {tx.table(snapshot_table(goals))}")


def head(goals: goalflow.Goals) -> int:
    with goals.store.recorder.transaction(commit=False) as tx:
        return int(goals.store.head(tx))


def prefill_goalflow(goals: goalflow.Goals, lifecycle: list[dict[str, Any]], start: datetime,
                     *, per_transaction: int | None = None) -> int:
    """Record one goal's whole lifecycle through the domain, a minute per command from
    ``start``: its events in one transaction, or ``per_transaction`` at a time (so a long
    goal gets its snapshot every 100 events, as commands would give it)."""
    goal: Goal | None = None
    pending = 0
    for k, data in enumerate(lifecycle):
        command, args = parse_command(data)
        goal_id = parse_goal_id(args.pop("goal_id"))
        when = start + timedelta(minutes=k)
        if goal is None:
            goal = Goal.draft(goal_id=goal_id, occurred_at=when, recorded_at=when, **args)
        else:
            getattr(goal, command)(occurred_at=when, recorded_at=when, **args)
        pending += 1
        if per_transaction is not None and pending >= per_transaction:
            goals.store.append(goal, cast(list[Goal.Event], goal.collect_events()))
            pending = 0
    if pending and goal is not None:
        goals.store.append(goal, cast(list[Goal.Event], goal.collect_events()))
    return len(lifecycle)


@contextlib.contextmanager
def without_chain() -> Iterator[None]:
    """goalflow recording events without its Merkle chain, while the block runs: the
    benchmark-only switch of the "chain cost" figure (goalflow has no such option).

    The recorders call ``goalflow.integrity.chain.append`` in every event insert (and
    ``goalflow import`` does), the PostgreSQL one ``chain.send_tail`` before it; both are
    replaced with no-ops here and put back after. A store
    written so holds events without leaves, which ``verify`` reports as inserted: use it
    for nothing else. Not thread-safe; the benchmark runs one side at a time.
    """
    from goalflow.integrity import chain
    from goalflow.persistence import recorders

    if getattr(recorders, "chain", None) is not chain:
        raise SystemExit("without_chain: goalflow's recorders no longer call"
                         " goalflow.integrity.chain.append; update benchmarks/stores.py")
    real, real_tail = chain.append, chain.send_tail
    chain.append, chain.send_tail = _no_chain, _no_tail
    try:
        yield
    finally:
        chain.append, chain.send_tail = real, real_tail


def _no_tail(tx: Any) -> Any:
    """The PostgreSQL recorder's read of the chain's tail, not sent (it is chain work)."""
    return tx


def _no_chain(tx: Any, rows: Any, known: Any = None, *, at: Any = None) -> None:
    """What goalflow's recorders call instead of the chain's append under without_chain
    (None: nothing appended, so a recorder keeps no frontier from it)."""


@contextlib.contextmanager
def opened(pair: Pair, *, cached: bool = True, **options: Any
           ) -> Iterator[tuple[goalflow.Goals, baseline.BaselineApp]]:
    """Both stores of a pair, open (goalflow with its read models unless told otherwise).

    ``cached=False``: the baseline without its aggregate cache, for figures that read goals
    from the store (goalflow's ``Goals.get`` never takes them from its cache)."""
    goals = goalflow.open(pair.url, **options)
    app = baseline.BaselineApp(pair.env if cached else {**pair.env, **baseline.UNCACHED})
    try:
        yield goals, app
    finally:
        goals.close()
        app.close()
