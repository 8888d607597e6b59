"""Read models: what a projection is, and how goalflow keeps projections current.

A projection turns the event log into SQL tables an EHR can query. It declares
its tables (:class:`Table`) and handles events one at a time (``on_<EventName>``
methods), writing through a :class:`Writer`; what it works out from a goal's state it can
write once per batch (:meth:`Projection.end_batch`, :func:`write_versions`). Table, Writer,
:class:`Reader`, :class:`Json`, ``as_json_read``, ``ColumnType`` and ``plain`` live in
:mod:`goalflow.rows` (the row writer) and :mod:`goalflow.domain.plain`; read models import
them from here, the one
interface they are written against. goalflow finds projections through the
``goalflow.projections`` entry-point group, creates their tables, and keeps each
one current in exactly one mode:

- ``inline`` (the default): in the same transaction as the events, together
  with the projection's position, so a reader sees their own write and a crash
  can never leave the two out of step;
- ``worker``: a separate process (``goalflow projections run``) follows the log
  and applies each batch in one transaction with the position.

Tables are built in generations. Queries read views (``gf_plan_goals``) that
point at the live generation (``gf_plan_goals__g1``); a rebuild fills the next
generation in resumable batches and switches the views over in one
transaction, so readers see either the old complete tables or the new ones.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any, ClassVar, Final, Literal
from uuid import UUID

import attrs
from eventsourcing.persistence import IntegrityError

from goalflow.domain import agreement
from goalflow.domain.goal import Goal
from goalflow.domain.plain import plain as plain  # for read models: part of this interface
from goalflow.errors import ErasedEvent, ProjectionError, StoreError, UnreadableEvent, first_line
from goalflow.persistence import formats
from goalflow.persistence.recorders import PROJECTIONS_TABLE as TRACKING_TABLE
from goalflow.persistence.recorders import Tx
from goalflow.persistence.store import guarded

# The row writer's names are part of this interface: read models import them from here.
from goalflow.rows import ColumnType as ColumnType
from goalflow.rows import Json as Json
from goalflow.rows import Reader as Reader
from goalflow.rows import Table as Table
from goalflow.rows import Writer as Writer
from goalflow.rows import as_json_read as as_json_read
from goalflow.rows import create_table

ENTRY_POINT_GROUP: Final = "goalflow.projections"
BATCH_SIZE: Final = 1000
REBUILD_BATCH_SIZE: Final = 5000
"""Events per transaction of a rebuild: a goal's current-state rows are written once per
batch, so bigger batches write fewer rows (memory stays bounded by the batch)."""

Mode = Literal["inline", "worker"]
MODES: Final = ("inline", "worker")


class Projection:
    """Base class of read models. Subclasses set ``name`` and ``tables``, and
    define ``on_<EventName>(self, w: Writer, event)`` for the events they use."""

    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]]
    version: ClassVar[int] = 1
    """The format of the rows it writes: raise it when its tables or what its handlers
    write change, and a writer opening a store built by an earlier version rebuilds it
    (recorded in goalflow_migrations)."""
    _tables: dict[str, Table]  # by name, made on first use

    def handle(self, w: Writer, event: Goal.Event) -> None:
        handler = getattr(self, _handler_name(type(event)), None)
        if handler is not None:
            handler(w, event)
        if type(event).__name__ in agreement.TERMS_CHANGES:
            self.on_terms_changed(w, event)

    def on_SubjectForgotten(self, w: Writer, event: Goal.SubjectForgotten) -> None:
        """The goal's subject was forgotten: every row of the goal goes (its earlier events
        can no longer be read, so a rebuild never brings them back)."""
        self.erase_goal(w, event.originator_id)

    def erase_goal(self, w: Writer, goal_id: UUID) -> None:
        """Delete the goal's rows from each of this read model's tables with a goal_id."""
        for table in self.tables:
            if "goal_id" in table.column_types:
                w.delete(table.name, {"goal_id": goal_id})

    def end_batch(self, w: Writer) -> None:
        """After the events of a batch (a command's, or a batch of a worker, catch-up or
        rebuild), before its rows are written: a read model that works rows out from a
        goal's state does it here, once per goal and batch rather than once per event.
        What it writes must depend only on that state, so that any split of the log into
        batches gives the same rows (the inline ones equal a rebuild)."""

    def on_terms_changed(self, w: Writer, event: Goal.Event) -> None:
        """After the event's own handler, for every event that changes a goal's terms
        (:data:`goalflow.agreement.TERMS_CHANGES`, the domain's rule): a read model that
        keeps agreement state applies :func:`goalflow.agreement.changed_terms` here."""

    def table(self, name: str) -> Table:
        try:
            return self._tables[name]
        except AttributeError:
            self._tables = {table.name: table for table in self.tables}
            return self.table(name)

    @property
    def column_types(self) -> dict[str, ColumnType]:
        """Every column's type across the projection's tables (same name, same type)."""
        return {name: kind for table in self.tables for name, kind in table.columns}


def write_versions(w: Writer, memo_key: str, table: str) -> None:
    """Set ``version`` and ``updated_at`` of each goal's row in ``table`` from the last
    event of it in the batch, kept in ``w.memo[memo_key]`` (goal id to event) by the read
    model's ``handle``: one write per goal and batch, the one after each event would give
    (a row the batch deleted stays deleted)."""
    events: dict[UUID, Goal.Event] = w.memo.pop(memo_key, {})
    for goal_id, event in events.items():
        w.update(table, {"goal_id": goal_id},
                 {"version": event.originator_version, "updated_at": event.timestamp})


@functools.cache
def _handler_name(event: type) -> str:
    return f"on_{event.__name__}"


# -- discovery --------------------------------------------------------------------


def discover() -> list[Projection]:
    """The projections installed under the ``goalflow.projections`` entry-point group."""
    found = []
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        cls = entry_point.load()
        if not (isinstance(cls, type) and issubclass(cls, Projection)):
            raise StoreError(f"entry point {entry_point.name!r} in {ENTRY_POINT_GROUP} is not a"
                             " goalflow Projection")
        found.append(cls())
    names = [p.name for p in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise StoreError(f"two projections are named {duplicates[0]!r}")
    return found


# -- tracking ------------------------------------------------------------------


@attrs.frozen
class Tracking:
    """Where a projection stands: its mode, live generation and position, any rebuild."""

    name: str
    mode: Mode
    generation: int
    position: int
    building_generation: int | None
    building_position: int | None
    version: int = 1  # of the projection that built the live generation


def _trackings(tx: Tx) -> list[Tracking]:
    """The tracking rows just selected (with ``*``: a store not yet upgraded, as
    inspection reads it, has no version column; its read models are all version 1)."""
    names = [d[0] for d in tx.cursor.description]
    return [Tracking(**dict(zip(names, row, strict=True))) for row in tx.fetchall()]


def read_tracking(tx: Tx) -> dict[str, Tracking]:
    tx.execute(f"SELECT * FROM {tx.table(TRACKING_TABLE)}")
    return {t.name: t for t in _trackings(tx)}


def claim_tracking(tx: Tx, name: str) -> Tracking:
    """A projection's tracking row, locked until the transaction ends.

    A second process catching up the same projection waits here, then sees
    where the first one got to, instead of applying the same events again.
    (On SQLite the write lock taken first does the same.)
    """
    lock = " FOR UPDATE" if tx.dialect == "postgresql" else ""
    found = _trackings(tx.execute(f"SELECT * FROM {tx.table(TRACKING_TABLE)}"
                                  f" WHERE name = ?{lock}", (name,)))
    if not found:
        raise ProjectionError(f"projection {name} is not installed in this store")
    return found[0]


ProgressCallback = Callable[[int, int], None]
"""Called with (events done, events in all) as long work goes on."""


class Projections:
    """The projections of one store, and the machinery that keeps them current."""

    def __init__(self, store: Any, projections: Iterable[Projection]) -> None:
        self._store = store
        self.all: dict[str, Projection] = {p.name: p for p in projections}

    @property
    def url(self) -> Any:
        return self._store.url

    # -- set-up ---------------------------------------------------------------

    @guarded
    def install(self) -> None:
        """Create the tables of projections new to this store and build them."""
        with self._store.recorder.transaction(commit=True) as tx:
            self._store.lock_writers(tx)
            known = read_tracking(tx)
            new = [p for name, p in self.all.items() if name not in known]
            new_names = {p.name for p in new}
            for projection in new:
                self._create_generation(tx, projection, 1)
                self._create_views(tx, projection, 1)
                tx.execute(f"INSERT INTO {tx.table(TRACKING_TABLE)} (name, mode, generation,"
                           " position, version) VALUES (?, 'inline', 1, 0, ?)",
                           (projection.name, projection.version))
            for name, state in known.items():
                if name in self.all and state.version > self.all[name].version:
                    raise ProjectionError(
                        f"read model {name} in store {self.url} was built by a newer goalflow"
                        f" (version {state.version}; this one writes {self.all[name].version}):"
                        " upgrade goalflow; nothing was written")
        # Read models built by an earlier version of their projection are built again.
        outdated = [name for name, state in known.items()
                    if name in self.all and state.version < self.all[name].version]
        if outdated:
            self.rebuild_many(outdated)
        # New ones are built now; known inline ones may have been left behind by a
        # process that did not load them (goalflow.open(..., projections=[...])).
        head = self.head()
        for name, state in self.tracking().items():
            if name in self.all and (state.mode == "inline" or name in new_names) \
                    and state.position < head:
                self.catch_up(name)

    def get(self, name: str) -> Projection:
        try:
            return self.all[name]
        except KeyError:
            known = ", ".join(sorted(self.all)) or "none"
            raise ProjectionError(f"no projection named {name!r} (installed: {known})") from None

    @guarded
    def head(self) -> int:
        with self._store.recorder.transaction(commit=False) as tx:
            return int(self._store.head(tx))

    @guarded
    def tracking(self) -> dict[str, Tracking]:
        with self._store.recorder.transaction(commit=False) as tx:
            return read_tracking(tx)

    @guarded
    def status(self) -> list[dict[str, Any]]:
        """Each projection's mode, position, the head of the log, lag and state."""
        with self._store.recorder.transaction(commit=False) as tx:
            head = int(self._store.head(tx))
            tracking = read_tracking(tx)
        rows = []
        for name in sorted(set(self.all) | set(tracking)):
            state = tracking.get(name)
            if state is None:
                rows.append({"name": name, "mode": None, "generation": None, "position": None,
                             "head": head, "lag": None, "state": "not installed"})
                continue
            if state.building_generation is not None:
                label = f"rebuilding ({state.building_position or 0}/{head})"
            elif name not in self.all:
                label = "not loaded here"
            else:
                label = "ready"
            rows.append({"name": name, "mode": state.mode, "generation": state.generation,
                         "position": state.position, "head": head,
                         "lag": head - state.position, "state": label})
        return rows

    @guarded
    def set_mode(self, name: str, mode: str,
                 progress: ProgressCallback | None = None) -> None:
        """Keep the projection current ``inline`` or by a ``worker``.

        Back to inline, a worker's backlog is applied first, in batches of its own, and
        the last few events under the writers' lock as the mode changes: else the next
        command would apply the whole backlog inside its own transaction and hold every
        other writer up.
        """
        projection = self.get(name)
        if mode not in MODES:
            raise ProjectionError(f"mode must be inline or worker, not {mode!r}")
        self._store.refuse_writes(f"setting the mode of {name}")
        if mode == "inline":
            self.catch_up(name, progress)
        with self._store.recorder.transaction(commit=True) as tx:
            if mode == "inline":
                self._store.lock_writers(tx)
                state = claim_tracking(tx, name)
                while state.mode != "inline" and self._apply_batch(
                        tx, [(projection, state.generation, state.position)],
                        column="position")[0]:
                    state = claim_tracking(tx, name)
            tx.execute(f"UPDATE {tx.table(TRACKING_TABLE)} SET mode = ? WHERE name = ?",
                       (mode, name))

    # -- inline: in the events' own transaction -----------------------------------

    def inline_write(self, events: Sequence[Goal.Event], goals: Sequence[Goal] = ()
                     ) -> Callable[[Tx, Sequence[int]], None]:
        """The write that applies ``events`` (of ``goals``, as they are after them) to each
        inline projection, in the events' own transaction."""
        known = {goal.id: goal for goal in goals}

        def write(tx: Tx, notification_ids: Sequence[int]) -> None:
            tracking = read_tracking(tx)
            inline = [(name, projection, state) for name, projection in self.all.items()
                      if (state := tracking.get(name)) is not None and state.mode == "inline"]
            if not inline:  # all kept by workers: not even an empty pipeline's round trip
                return
            moved: dict[int, list[str]] = {}  # each projection's position before, by position
            try:
                with _pipelined(tx):  # PostgreSQL: the writes go without waiting for answers
                    for name, projection, state in inline:
                        self._write_inline(tx, projection, state, events, notification_ids,
                                           known)
                        moved.setdefault(state.position, []).append(name)
            except (ProjectionError, UnreadableEvent):
                raise
            except Exception as e:  # an answer that came when the pipeline was synced
                raise ProjectionError(f"read models failed: {first_line(e)}; nothing was"
                                      " recorded") from e
            for before, names in moved.items():
                marks = ", ".join("?" for _ in names)
                tx.execute(f"UPDATE {tx.table(TRACKING_TABLE)} SET position = ? WHERE name IN"
                           f" ({marks}) AND position = ?", (notification_ids[-1], *names, before))
                if tx.rowcount != len(names):
                    # A batch (catch-up) moved one on meanwhile: roll the whole write
                    # back; the service retries it like any lost race.
                    raise IntegrityError(f"projections {', '.join(names)} moved on during this"
                                         " write")

        return write

    def _write_inline(self, tx: Tx, projection: Projection, state: Tracking,
                      events: Sequence[Goal.Event], notification_ids: Sequence[int],
                      goals: Mapping[UUID, Goal]) -> None:
        w = Writer(tx, projection, state.generation, goals=goals)
        try:
            if state.position < notification_ids[0] - 1:  # else nothing can precede them
                self._apply_backlog(projection, w, state.position, notification_ids[0])
            for event, notification_id in zip(events, notification_ids, strict=True):
                w.position = notification_id
                projection.handle(w, event)
            projection.end_batch(w)
            w.flush()
        except UnreadableEvent:  # the log, not the read model: said as it is
            raise
        except Exception as e:
            # A read model's fault, not a lost race: say so, and record nothing.
            raise ProjectionError(f"read model {projection.name} failed at position"
                                  f" {w.position}: {first_line(e)}; nothing was recorded"
                                  ) from e

    def _apply_backlog(self, projection: Projection, w: Writer, position: int,
                       before: int) -> int:
        """Apply events the projection has not seen that precede ``before``."""
        while True:
            batch = self._store.notifications(w.tx, after=position, limit=BATCH_SIZE,
                                              upto=before - 1)
            if not batch:
                return position
            for notification in batch:
                w.position = notification.id
                event = _readable(self._store, notification)
                if event is not None:
                    projection.handle(w, event)
                position = notification.id
            projection.end_batch(w)
            w.flush()

    # -- worker and rebuild: in batches of their own -------------------------------

    @guarded
    def catch_up(self, name: str, progress: ProgressCallback | None = None) -> int:
        """Apply every recorded event the projection has not seen; returns how many."""
        projection = self.get(name)
        done = 0
        total: int | None = None
        while True:
            with self._store.recorder.transaction(commit=True) as tx:
                self._store.claim_write(tx)
                state = claim_tracking(tx, name)
                if total is None:  # positions, not counts: a sequence may skip numbers
                    total = max(self._store.head(tx) - state.position, 0)
                applied, _ = self._apply_batch(tx, [(projection, state.generation,
                                                     state.position)], column="position")
            if applied == 0:
                return done
            done += applied
            if progress:
                progress(done, max(total, done))

    @guarded
    def rebuild(self, name: str, *, restart: bool = False,
                progress: ProgressCallback | None = None) -> int:
        """Build the projection again from the whole log; resumes an interrupted rebuild.

        ``progress`` gets (position reached, head position). Returns how many events
        the new tables were built from.
        """
        return self.rebuild_many([name], restart=restart, progress=progress)[name]

    @guarded
    def rebuild_many(self, names: Sequence[str], *, restart: bool = False,
                     progress: ProgressCallback | None = None) -> dict[str, int]:
        """Rebuild several projections in one pass over the log (each event read and
        decoded once for all of them); each resumes where an interrupted rebuild of it
        stopped. Returns how many events each one's new tables were built from."""
        projections = [self.get(name) for name in dict.fromkeys(names)]
        self._store.refuse_writes(f"rebuilding {', '.join(p.name for p in projections)}")
        building: dict[str, int] = {}
        with self._store.recorder.transaction(commit=True) as tx:
            self._store.claim_write(tx)
            for projection in projections:
                building[projection.name] = self._start_generation(tx, projection, restart)
        head = self.head()
        while True:
            with self._store.recorder.transaction(commit=True) as tx:
                self._store.claim_write(tx)
                targets = [(p, building[p.name],
                            claim_tracking(tx, p.name).building_position or 0)
                           for p in projections]
                applied, reached = self._apply_batch(tx, targets, column="building_position",
                                                     limit=REBUILD_BATCH_SIZE)
            if progress:
                progress(min(reached, head) if applied else head, head)
            if not applied:
                break
        return {p.name: self._switch(p, building[p.name]) for p in projections}

    def _start_generation(self, tx: Tx, projection: Projection, restart: bool) -> int:
        """The generation a rebuild of the projection builds: the one under way, or new."""
        state = claim_tracking(tx, projection.name)
        building = state.building_generation
        if building is not None and restart:
            self._drop_generation(tx, projection, building)
            building = None
        if building is None:
            building = max(state.generation, state.building_generation or 0) + 1
            self._create_generation(tx, projection, building)
            tx.execute(f"UPDATE {tx.table(TRACKING_TABLE)} SET building_generation = ?,"
                       " building_position = 0 WHERE name = ?", (building, projection.name))
        return building

    def _switch(self, projection: Projection, building: int) -> int:
        """Finish a rebuild: catch up under the writers' lock, then swap the views.

        Returns how many events the new tables were built from.
        """
        with self._store.recorder.transaction(commit=True) as tx:
            self._store.lock_writers(tx)
            state = read_tracking(tx)[projection.name]
            while self._apply_batch(tx, [(projection, building, state.building_position or 0)],
                                    column="building_position")[0]:
                state = read_tracking(tx)[projection.name]
            self._drop_views(tx, projection)
            self._create_views(tx, projection, building)
            self._drop_generation(tx, projection, state.generation)
            tx.execute(f"UPDATE {tx.table(TRACKING_TABLE)} SET generation = ?, position = ?,"
                       " building_generation = NULL, building_position = NULL, version = ?"
                       " WHERE name = ?",
                       (building, state.building_position, projection.version, projection.name))
            if state.version != projection.version:
                formats.record_migration(tx, f"read model {projection.name}", state.version,
                                         projection.version)
            return int(self._store.count(tx, upto=state.building_position or 0))

    def _apply_batch(self, tx: Tx, targets: Sequence[tuple[Projection, int, int]], *,
                     column: str, limit: int | None = None) -> tuple[int, int]:
        """Apply the next batch of the log to each (projection, generation, position).

        Each event is read and decoded once, and applied to the projections that have
        not seen it. Returns how many events were read (0: nothing left) and the position
        reached.
        """
        batch = self._store.notifications(tx, after=min(p for _, _, p in targets),
                                          limit=limit or BATCH_SIZE)
        if not batch:
            return 0, 0
        writers = [(projection, Writer(tx, projection, generation), position)
                   for projection, generation, position in targets]
        with _pipelined(tx):
            for notification in batch:
                event = _readable(self._store, notification)
                if event is None:
                    continue
                for projection, w, position in writers:
                    if notification.id > position:
                        w.position = notification.id
                        projection.handle(w, event)
            for projection, w, _ in writers:
                projection.end_batch(w)
                w.flush()
        # Compare-and-set: if another process moved a position meanwhile, this
        # transaction fails and rolls back rather than apply the batch twice.
        for _, w, position in writers:
            if position >= batch[-1].id:
                continue  # ahead of this batch: nothing applied, nothing to move
            tx.execute(f"UPDATE {tx.table(TRACKING_TABLE)} SET {column} = ? WHERE name = ?"
                       f" AND {column} = ?", (batch[-1].id, w.projection.name, position))
            if tx.rowcount != 1:
                raise ProjectionError(f"projection {w.projection.name} was moved on by another"
                                      " process; nothing applied")
        return len(batch), int(batch[-1].id)

    def run(self, names: Sequence[str], *, stop: Callable[[], bool],
            wait: Callable[[float], None] = time.sleep, poll: float = 0.5,
            on_batch: Callable[[str, int], None] | None = None,
            on_fault: Callable[[StoreError, float], None] | None = None) -> None:
        """Follow the log for the given worker-mode projections until ``stop()``.

        A database fault (the server gone, the file locked) does not end the run:
        ``on_fault`` hears of it and how long the worker will wait before trying again
        (doubling up to a minute); nothing is applied twice when it resumes.
        """
        self._store.refuse_writes(f"running {', '.join(names)}")
        for name in names:
            self.get(name)
            state = self.tracking().get(name)
            if state is None or state.mode != "worker":
                raise ProjectionError(f"projection {name} runs inline; set it to worker mode"
                                      f" first (goalflow projections mode {name} worker)")
        pause = poll
        while not stop():
            busy = False
            try:
                for name in names:
                    try:
                        applied = self.catch_up(name)
                    except ProjectionError:  # another worker got there first; look again
                        applied = 0
                    if applied and on_batch:
                        on_batch(name, applied)
                    busy = busy or bool(applied)
            except StoreError as e:
                pause = min(max(pause * 2, 1.0), 60.0)
                if on_fault:
                    on_fault(e, pause)
                wait(pause)
                continue
            pause = poll
            if not busy:
                wait(poll)

    # -- tables ---------------------------------------------------------------------

    def _create_generation(self, tx: Tx, projection: Projection, generation: int) -> None:
        for table in projection.tables:
            create_table(tx, table, generation)

    def _drop_generation(self, tx: Tx, projection: Projection, generation: int) -> None:
        for table in projection.tables:
            tx.execute(f"DROP TABLE IF EXISTS {tx.table(table.physical(generation))}")

    def _create_views(self, tx: Tx, projection: Projection, generation: int) -> None:
        for table in projection.tables:
            tx.execute(f"CREATE VIEW {tx.table(table.name)} AS SELECT * FROM"
                       f" {tx.table(table.physical(generation))}")

    def _drop_views(self, tx: Tx, projection: Projection) -> None:
        for table in projection.tables:
            tx.execute(f"DROP VIEW IF EXISTS {tx.table(table.name)}")


def _readable(store: Any, notification: Any) -> Goal.Event | None:
    """The event, or None for one whose subject was forgotten (its data key destroyed):
    read models skip it, as if it had never been recorded; the goal's SubjectForgotten
    event, in clear, comes later in the log."""
    try:
        return store.decode(notification)  # type: ignore[no-any-return]
    except ErasedEvent:
        return None


@contextlib.contextmanager
def _pipelined(tx: Tx) -> Iterator[None]:
    """On PostgreSQL, send a batch's writes without waiting for each one's answer.

    Reads still wait (a fetch syncs the pipeline), so handlers see their own writes.
    """
    if tx.dialect != "postgresql":
        yield
        return
    with tx.cursor.connection.pipeline():
        yield
