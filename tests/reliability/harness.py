"""Writers that race and crash against one store, and the checks that nothing was lost.

Three trials, each ending in the same audit of the store:

- ``race``: several processes apply random commands (some valid, some refused by the
  lifecycle, some carrying ``expected_version``) to an overlapping set of goals at once.
- ``crash_apply``: ``goalflow apply`` of a large file, killed with SIGKILL at random
  points and restarted, until one run gets to the end.
- ``crash_projections``: ``goalflow projections run`` and ``goalflow projections rebuild``
  killed at random points and restarted.

``audit`` then holds the store to what the writers were told: every accepted command is
in the log exactly once at the version it was given, nothing refused was recorded, each
goal's version is its number of events, and every read model equals a fresh rebuild.

The tests in this folder run the trials small (seconds); ``scripts/stress`` runs them
large and prints the summary table.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import attrs
import orjson

import goalflow
from goalflow.commands import parse_command
from goalflow.errors import ConcurrencyError, GoalflowError

NAMESPACE = UUID("5d1f0e0a-6c1b-4d7e-9f30-2a4b6c8d0e1f")
CLINICIAN = {"id": "dr-lee", "role": "clinician"}
STEPS = ("Learn two breathing exercises", "10 minutes of yoga daily",
         "Write three lines in a mood diary each evening")
GOALFLOW = [sys.executable, "-m", "goalflow"]

Command = dict[str, Any]


# -- the commands --------------------------------------------------------------------


def goal_ids(seed: int, count: int) -> list[str]:
    return [str(uuid5(NAMESPACE, f"{seed}-{n}")) for n in range(count)]


def client_of(goal_id: str) -> str:
    return f"client-{int(goal_id[:4], 16) % 7}"


def setup_commands(ids: list[str], *, start: datetime) -> list[Command]:
    """Draft each goal SMART-complete, then its client agrees: every goal starts active."""
    commands: list[Command] = []
    for goal_id in ids:
        client = client_of(goal_id)
        commands.append({
            "command": "draft", "goal_id": goal_id, "command_id": f"setup-{goal_id}-draft",
            "subject": {"kind": "client", "id": client}, "by": CLINICIAN,
            "statement": "Within three months, manage anxiety at work using breathing, yoga"
                         " and a mood diary, measured by GAD-7",
            "target_date": (start + timedelta(days=365)).date().isoformat(),
            "measures": [{"name": "GAD-7", "baseline": 15, "target": 7}],
            "steps": list(STEPS), "addresses": ["generalised anxiety disorder"],
            "occurred_at": start.isoformat()})
        commands.append({
            "command": "agree", "goal_id": goal_id, "command_id": f"setup-{goal_id}-agree",
            "by": {"id": client, "role": "client"}, "terms_version": 1, "method": "signature",
            "occurred_at": start.isoformat()})
    return commands


def random_command(rng: random.Random, goal_id: str, terms_version: int) -> Command:
    """One of the everyday commands, right or wrong for the goal's state as chance has it."""
    kind = rng.choices(
        ["record_progress", "complete_step", "reopen_step", "review", "hold", "resume",
         "revise", "agree", "unknown_step"],
        weights=[6, 3, 2, 1, 1, 2, 1, 3, 1])[0]
    command: Command = {"command": kind, "goal_id": goal_id, "by": CLINICIAN}
    step = f"s{rng.randint(1, len(STEPS))}"
    if kind == "record_progress":
        command.update(measure="GAD-7", value=rng.randint(0, 21))
    elif kind == "complete_step":
        command.update(step_id=step)
    elif kind == "reopen_step":
        command.update(step_id=step, reason="Slipped back during a hard week")
    elif kind == "review":
        command.update(outcome="continue", notes="Steady progress")
    elif kind in ("hold", "resume"):
        command.update(reason="Away for two weeks")
    elif kind == "revise":
        command.update(reason="Agreed at review to aim a little higher",
                       measures=[{"name": "GAD-7", "baseline": 15,
                                  "target": rng.randint(4, 8)}])
    elif kind == "agree":
        command.update(by={"id": client_of(goal_id), "role": "client"}, method="portal",
                       terms_version=terms_version)
    else:  # a step the goal never had: refused by rule, whatever the goal's state
        command.update(command="complete_step", step_id="s99")
    return command


def execute(goals: goalflow.Goals, command: Command) -> goalflow.Outcome:
    name, arguments = parse_command(command)
    return goals.execute(name, **arguments)


# -- trial 1: racing writers ---------------------------------------------------------


@attrs.define
class Tally:
    """What the writers were told, command by command."""

    accepted: dict[str, tuple[str, int, str]] = attrs.Factory(dict)  # id -> goal, version, event
    refused: dict[str, str] = attrs.Factory(dict)                    # id -> error class
    retried: int = 0
    surfaced: int = 0
    surfaced_without_expected_version: int = 0
    kills: int = 0

    @property
    def attempted(self) -> int:
        return len(self.accepted) + len(self.refused) + self.surfaced

    def add(self, other: Tally) -> None:
        self.accepted.update(other.accepted)
        self.refused.update(other.refused)
        self.retried += other.retried
        self.surfaced += other.surfaced
        self.surfaced_without_expected_version += other.surfaced_without_expected_version
        self.kills += other.kills

    def accept(self, command_id: str, outcome: goalflow.Outcome) -> None:
        self.accepted[command_id] = (str(outcome.goal_id), outcome.version, outcome.event)
        self.retried += outcome.retries


def _writer(url: str, writer: int, ids: list[str], commands: int, seed: int,
            expect_share: float, start: Any) -> Tally:
    """One writer process: ``commands`` random commands against the shared goals."""
    rng = random.Random(seed * 1_000 + writer)
    tally = Tally()
    with goalflow.open(url) as goals:
        start.wait(timeout=120)
        for n in range(commands):
            goal_id = rng.choice(ids)
            goal = goals.get(goal_id)
            command = random_command(rng, goal_id, goal.terms_version)
            command["command_id"] = command_id = f"w{writer}-{n}"
            expecting = rng.random() < expect_share
            if expecting:
                command["expected_version"] = goal.version
            try:
                tally.accept(command_id, execute(goals, command))
            except ConcurrencyError:
                tally.surfaced += 1
                if not expecting:
                    tally.surfaced_without_expected_version += 1
            except GoalflowError as e:
                tally.refused[command_id] = type(e).__name__
    return tally


def race(url: str, *, writers: int, goals: int, commands: int, seed: int,
         expect_share: float = 0.25) -> Tally:
    """``writers`` processes, released together, each applying ``commands`` commands."""
    ids = goal_ids(seed, goals)
    tally = Tally()
    with goalflow.open(url) as service:
        for command in setup_commands(ids, start=datetime.now(UTC) - timedelta(days=1)):
            tally.accept(command["command_id"], execute(service, command))
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Barrier(writers)
        with ProcessPoolExecutor(writers, mp_context=context) as pool:
            futures = [pool.submit(_writer, url, w, ids, commands, seed, expect_share, start)
                       for w in range(writers)]
            for future in futures:
                tally.add(future.result())
    return tally


# -- trial 2: killing `goalflow apply` -----------------------------------------------


def valid_sequence(*, goals: int, commands: int, seed: int) -> list[Command]:
    """A file's worth of commands that the lifecycle accepts in order, with command ids.

    Chosen by running random commands against an in-memory store and keeping the accepted
    ones; every command carries its own ``occurred_at`` (in the past), so the file means
    the same whenever it is applied.
    """
    rng = random.Random(seed)
    start = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    ids = goal_ids(seed, goals)
    kept = setup_commands(ids, start=start)
    moment = start
    with goalflow.open("memory://", clock=lambda: datetime(2026, 1, 1, tzinfo=UTC)) as memory:
        for command in kept:
            execute(memory, command)
        terms = dict.fromkeys(ids, 1)
        while len(kept) < commands:
            goal_id = rng.choice(ids)
            command = random_command(rng, goal_id, terms[goal_id])
            moment += timedelta(seconds=rng.randint(1, 600))
            command.update(occurred_at=moment.isoformat(), command_id=f"c{len(kept)}")
            try:
                execute(memory, command)
            except GoalflowError:
                continue
            kept.append(command)
            if command["command"] == "revise":
                terms[goal_id] = memory.get(goal_id).terms_version
    return kept


def write_lines(path: Path, commands: list[Command]) -> None:
    path.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in commands))


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _kill_when(process: subprocess.Popen[bytes], ready: Any, rng: random.Random,
               timeout: float = 120) -> bool:
    """SIGKILL the process once ``ready()`` holds (plus a random few milliseconds).

    True if it was killed while still working, False if it had already finished.
    """
    deadline = time.monotonic() + timeout
    while not ready() and process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            raise TimeoutError(f"{process.args} made no progress in {timeout}s")
        time.sleep(0.005)
    time.sleep(rng.uniform(0, 0.03))
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    process.wait()
    return True


def crash_apply(url: str, *, goals: int, commands: int, kills: int, seed: int,
                workdir: Path) -> tuple[Tally, list[Command]]:
    """Apply a file of valid commands, killing ``goalflow apply`` ``kills`` times on the way."""
    rng = random.Random(seed)
    sequence = valid_sequence(goals=goals, commands=commands, seed=seed)
    source = workdir / "commands.jsonl"
    write_lines(source, sequence)
    tally = Tally()
    # Until it has been killed ``kills`` times: a run that finished before its kill landed
    # is not counted, and the next one (replaying what is recorded) is killed instead.
    for attempt in range(kills * 10):
        if tally.kills == kills:
            break
        output = workdir / f"apply-{attempt}.out"
        # Kill somewhere after a random number of lines (this run replays the earlier ones).
        target = rng.randint(1, len(sequence))
        with output.open("wb") as out:
            process = subprocess.Popen([*GOALFLOW, "--db", url, "apply", str(source)],
                                       stdout=out, stderr=subprocess.DEVNULL,
                                       env={**os.environ, "PYTHONUNBUFFERED": "1"})
            if _kill_when(process, lambda: _lines(output) >= target, rng):  # noqa: B023
                tally.kills += 1
    finished = subprocess.run([*GOALFLOW, "--db", url, "apply", str(source)],
                              capture_output=True, check=False)
    if finished.returncode != 0:
        raise AssertionError(f"the final apply failed: {finished.stderr.decode()}")
    for line in finished.stdout.splitlines():
        result = orjson.loads(line)
        command_id = sequence[result["line"] - 1]["command_id"]
        tally.accepted[command_id] = (result["goal_id"], result["version"], result["event"])
    return tally, sequence


# -- trial 3: killing the projection worker and a rebuild ----------------------------


def _tracking(url: str) -> dict[str, Any]:
    with goalflow.open(url, readonly=True) as goals:
        return goals.projections.tracking()


def _lag(url: str) -> int:
    with goalflow.open(url, readonly=True) as goals:
        return sum(row["lag"] for row in goals.projections.status())


def _head(url: str) -> int:
    with goalflow.open(url, readonly=True) as goals:
        return goals.projections.head()


def _building_position(url: str, name: str) -> int:
    return _tracking(url)[name].building_position or 0


def crash_projections(url: str, sequence: list[Command], *, kills: int, seed: int) -> Tally:
    """Kill ``projections run`` and then ``projections rebuild`` ``kills`` times each.

    The read models go to worker mode before ``sequence`` is applied, so the worker has
    the log to do; they are put back to their former mode at the end. A kill is
    counted only when it caught the process with work left, and the trial goes on until
    it has counted ``kills`` of each (``tally.kills`` is then ``2 * kills``).
    """
    rng = random.Random(seed)
    tally = Tally()
    with goalflow.open(url) as goals:
        modes = {name: t.mode for name, t in goals.projections.tracking().items()}
        for name in modes:
            goals.projections.set_mode(name, "worker")
        for command in sequence:
            tally.accept(command["command_id"], execute(goals, command))
    tally.kills += _kill_workers(url, tally, kills, rng)
    head = _head(url)
    process = subprocess.Popen([*GOALFLOW, "--db", url, "projections", "run", "--poll",
                                "0.05"], stderr=subprocess.DEVNULL)
    try:
        _kill_when(process, lambda: _lag(url) == 0, rng)
    finally:
        process.kill()
        process.wait()
    landed, head = _kill_rebuilds(url, sorted(modes), kills, rng, tally, head)
    tally.kills += landed
    subprocess.run([*GOALFLOW, "--db", url, "projections", "rebuild"], check=True,
                   capture_output=True)
    with goalflow.open(url) as goals:
        for name, mode in modes.items():
            goals.projections.set_mode(name, mode)
        assert goals.projections.head() == head, "the worker or a rebuild wrote events"
    return tally


def _kill_workers(url: str, tally: Tally, kills: int, rng: random.Random) -> int:
    """Kill ``projections run`` with work left, ``kills`` times.

    A worker never exits by itself, but one that has caught up is idle, and killing it
    proves nothing: a kill counts only if work was left. Each run is killed a random
    moment after it has committed a batch, so every run moves the read models on. A
    quick worker can still catch up before the kill lands; if it has, with kills still
    to come, new goals are drafted to give it more to do.
    """
    landed = 0
    for attempt in range(kills * 10):
        if landed == kills:
            break
        lag = _lag(url)
        if lag == 0:
            _draft_more(url, tally, f"more-{attempt}")
            lag = _lag(url)
        process = subprocess.Popen([*GOALFLOW, "--db", url, "projections", "run",
                                    "--poll", "0.05"], stderr=subprocess.DEVNULL)
        killed = _kill_when(process, lambda: _lag(url) < lag, rng)  # noqa: B023
        if killed and _lag(url) > 0:
            landed += 1
    return landed


def _draft_more(url: str, tally: Tally, name: str, goals: int = 500) -> None:
    """Draft and agree ``goals`` new goals (1,000 events: a batch of each read model)."""
    ids = [str(uuid5(NAMESPACE, f"{name}-{n}")) for n in range(goals)]
    with goalflow.open(url) as service:
        for command in setup_commands(ids, start=datetime.now(UTC) - timedelta(days=1)):
            tally.accept(command["command_id"], execute(service, command))


def _kill_rebuilds(url: str, names: list[str], kills: int, rng: random.Random, tally: Tally,
                   head: int) -> tuple[int, int]:
    """Kill ``projections rebuild`` with a rebuild half done, ``kills`` times; returns the
    kills that landed and the head of the log after them.

    A rebuild that finished before its kill landed is not counted; the next one (a new
    rebuild, or the resumed one) is killed instead. A quick rebuild can finish before any
    kill lands: when one has, new goals are drafted to give the next one more to do (the
    head returned counts them, so that the caller can still tell that no rebuild wrote an
    event).
    """
    landed = 0
    for attempt in range(kills * 10):
        if landed == kills:
            break
        # Kill the rebuild of a read model chosen at random once it has a batch more done.
        name = rng.choice(names)
        reached = _building_position(url, name)
        process = subprocess.Popen([*GOALFLOW, "--db", url, "projections", "rebuild"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        killed = _kill_when(process, lambda: _building_position(url, name) > reached, rng)  # noqa: B023
        building = any(t.building_generation is not None for t in _tracking(url).values())
        if killed and building:
            landed += 1
        elif not building:  # it finished: a longer log for the next one
            assert _head(url) == head, "a rebuild wrote events"
            _draft_more(url, tally, f"rebuild-more-{attempt}")
            head = _head(url)
    return landed, head


# -- the audit -----------------------------------------------------------------------


@attrs.frozen
class Findings:
    """What the audit found; every count but the first must be zero."""

    events: int
    lost: int                   # accepted, but its event is not in the log
    duplicates: int             # in the log more than once, or in the log but not accepted
    refused_recorded: int       # refused, yet its command id or event was recorded
    wrong_versions: int         # a goal whose version is not its number of events
    projection_mismatches: int  # read-model tables that differ from a fresh rebuild

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicates or self.refused_recorded
                    or self.wrong_versions or self.projection_mismatches)


def audit(url: str, tally: Tally) -> Findings:
    with goalflow.open(url) as goals:
        log = Counter((str(n.originator_id), n.originator_version, n.topic.split(".")[-1])
                      for n in goals.store.scan())
        recorded = _command_records(goals)
        expected = Counter(tally.accepted.values())
        lost = sum((expected - log).values())
        duplicates = sum((log - expected).values()) + sum(c - 1 for c in log.values() if c > 1)
        lost += sum(1 for command_id, result in tally.accepted.items()
                    if recorded.get(command_id) != result)
        refused_recorded = sum(1 for command_id in tally.refused if command_id in recorded)
        versions = Counter(goal for goal, _, _ in log)
        wrong_versions = sum(1 for goal, count in versions.items()
                             if goals.get(goal).version != count
                             or {v for g, v, _ in log if g == goal} != set(range(1, count + 1)))
        mismatches = projection_mismatches(goals)
    return Findings(sum(log.values()), lost, duplicates, refused_recorded, wrong_versions,
                    mismatches)


def _command_records(goals: goalflow.Goals) -> dict[str, tuple[str, int, str]]:
    with goals.store.recorder.transaction(commit=False) as tx:
        tx.execute(f"SELECT command_id, goal_id, version, event FROM"
                   f" {tx.table('goalflow_commands')}")
        return {row[0]: (str(UUID(str(row[1]))), row[2], row[3]) for row in tx.fetchall()}


def dump(goals: goalflow.Goals, name: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a read model, in key order, as the database holds it."""
    projection = goals.projections.get(name)
    tables = {}
    with goals.store.recorder.transaction(commit=False) as tx:
        for table in projection.tables:
            tx.execute(f"SELECT * FROM {tx.table(table.name)}"
                       f" ORDER BY {', '.join(table.primary_key)}")
            tables[table.name] = [tuple(row) for row in tx.fetchall()]
    return tables


def projection_mismatches(goals: goalflow.Goals) -> int:
    """How many read-model tables differ from the same read model rebuilt from the log."""
    mismatches = 0
    for name in sorted(goals.projections.all):
        before = dump(goals, name)
        goals.projections.rebuild(name, restart=True)
        after = dump(goals, name)
        mismatches += sum(1 for table in after if before.get(table) != after[table])
    return mismatches


def same_log_as(url: str, sequence: list[Command]) -> list[str]:
    """Differences between the store's log and the same commands applied to a fresh store
    once, without crashes (recorded times aside: they differ from run to run)."""
    with goalflow.open("memory://", clock=lambda: datetime(2026, 1, 1, tzinfo=UTC)) as fresh:
        for command in sequence:
            execute(fresh, command)
        reference = list(_contents(fresh))
    with goalflow.open(url) as goals:
        actual = list(_contents(goals))
    if len(actual) != len(reference):
        return [f"{len(actual)} events, expected {len(reference)}"]
    return [f"{a[:2]} differs" for a, r in zip(actual, reference, strict=True) if a != r]


def _contents(goals: goalflow.Goals) -> Iterator[tuple[Any, ...]]:
    events = sorted(goals.store.scan(), key=lambda n: (n.originator_id, n.originator_version))
    for n in events:
        state = orjson.loads(n.state)
        state.pop("timestamp", None)
        yield str(n.originator_id), n.originator_version, n.topic, state


@contextmanager
def scratch_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="goalflow-stress-") as name:
        yield Path(name)
