"""Capture goalflow's stored events as golden fixtures, and a whole store as an old store.

Fixtures are the public record's proof of compatibility: they are captured once, from the
code of the day, and never edited or regenerated. This script only ever *adds*:

    scripts/capture-fixtures events      # a fixture for every (event type, version) without one
    scripts/capture-fixtures store v1    # tests/fixtures/stores/v1/ (refuses if it exists)

``events`` runs the scenario below on a fresh SQLite file with a fixed clock and writes, for
each event type at its current ``class_version`` that has no fixture yet,
``tests/fixtures/events/<Type>.v<N>.json``: the stored rows (topic, state as written) and the
typed values they decode to. ``store`` keeps the whole SQLite file the scenario wrote, an export
of it, its content digest, and what the inspection commands printed, for the old-store tests.

When an event's fields change (README, "Changing an event"), adjust the scenario to the new
API if it must, run ``events``, and commit the new fixtures beside the old ones.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
from click.testing import CliRunner

import goalflow
from goalflow.cli import cli
from goalflow.domain.goal import Goal

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT / "tests"))

from fixtures.typed import typed  # noqa: E402  (tests/ is not a package on the path)

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
CHICAGO = timezone(timedelta(hours=-6))

ANXIETY = UUID("7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b")
GROUP = UUID("3c0d6b7e-2f45-4d0a-9d3e-6a1b2c3d4e5f")
WITHDRAWN = UUID("9e8d7c6b-5a49-4382-b1c0-d9e8f7a6b5c4")
MISTAKE = UUID("1b2c3d4e-5f60-4718-a9b0-c1d2e3f4a5b6")
LONG = UUID("5d4c3b2a-1908-4f7e-8d6c-5b4a39281706")

DR = {"id": "dr-okafor", "role": "clinician"}
SUPERVISOR = {"id": "dr-achebe", "role": "supervisor"}
CLIENT = {"id": "client-7", "role": "client"}
MAYA = {"id": "maya", "role": "client"}
GUARDIAN = {"id": "parent-of-sam", "role": "guardian", "on_behalf_of": "sam"}


class Clock:
    """Records each command a little after it happened (one step five days late)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def scenario() -> list[dict[str, Any]]:
    """Commands giving every event type at least once, with every optional field used."""
    a, g = str(ANXIETY), str(GROUP)
    day = START.date()

    def on(days: int, hour: int = 10, tz: Any = UTC) -> str:
        return datetime.combine(day + timedelta(days=days), datetime.min.time(), tz).replace(
            hour=hour).isoformat()

    commands: list[dict[str, Any]] = [
        {"command": "draft", "goal_id": a, "by": DR, "command_id": "ehr-1",
         "occurred_at": on(0, 9),
         "subject": {"kind": "client", "id": "client-7"},
         "statement": "By the end of next month I use relaxation, daily exercise and"
                      " constructive expression of emotions to manage my anxiety",
         "client_words": "I want to stop panicking before work",
         "addresses": ["Generalised anxiety disorder (F41.1)"],
         "strengths": ["walks the dog every morning", "close to her sister"],
         "measures": [{"name": "GAD-7", "baseline": 15, "target": 7, "instrument": "GAD-7",
                       "minimum": 0, "maximum": 21, "cutoff": 8},
                      {"name": "Days exercised a week", "baseline": 1, "target": 5.5,
                       "direction": "increase", "minimum": 0, "maximum": 7}],
         "steps": ["Learn two breathing exercises", "Meditate for 10 minutes daily"],
         "target_date": (day + timedelta(days=60)).isoformat()},
        {"command": "disagree", "goal_id": a, "by": CLIENT, "occurred_at": on(0, 11),
         "reason": "Sitting still makes me restless; I want to move more",
         "alternative": "Add some exercise I can do at home"},
        {"command": "add_step", "goal_id": a, "by": DR, "occurred_at": on(0, 12),
         "description": "10 minutes of yoga daily"},
        {"command": "agree", "goal_id": a, "by": CLIENT, "terms_version": 2,
         "method": "signature", "occurred_at": on(0, 13), "command_id": "ehr-2"},
        {"command": "complete_step", "goal_id": a, "by": CLIENT, "step_id": "s1",
         "note": "Box breathing and 4-7-8 breathing", "occurred_at": on(7, 18, CHICAGO)},
        {"command": "complete_step", "goal_id": a, "by": CLIENT, "step_id": "s3",
         "occurred_at": on(8)},
        {"command": "reopen_step", "goal_id": a, "by": DR, "step_id": "s3",
         "reason": "Stopped after a knee injury", "occurred_at": on(10)},
        {"command": "record_progress", "goal_id": a, "by": DR, "measure": "GAD-7",
         "value": 12, "occurred_at": on(14), "command_id": "ehr-3"},
        {"command": "record_progress", "goal_id": a, "by": CLIENT,
         "measure": "Days exercised a week", "value": 3.5, "occurred_at": on(14)},
        {"command": "set_gas_scale", "goal_id": a, "by": DR, "occurred_at": on(14, 11),
         "levels": ["Panics before work every day", "Panics before work most days",
                    "Gets to work without panicking most days",
                    "Gets to work without panicking every day",
                    "Gets to work calmly and helps a colleague with theirs"],
         "weight": 2, "baseline_level": -2, "command_id": "ehr-gas-1"},
        {"command": "rate_attainment", "goal_id": a, "by": CLIENT, "occurred_at": on(14, 12),
         "level": -1},
        {"command": "revise", "goal_id": a, "by": DR, "occurred_at": on(20),
         "reason": "Meditation made the client feel worse; replaced with progressive muscle"
                   " relaxation, and the plan reworded with her",
         "statement": "By the end of the quarter I manage my anxiety with relaxation and"
                      " exercise",
         "client_words": "I want to get to work without panicking",
         "addresses": ["Generalised anxiety disorder (F41.1)", "Insomnia (G47.0)"],
         "target_date": (day + timedelta(days=90)).isoformat(),
         "strengths": ["walks the dog every morning"],
         "measures": [{"name": "GAD-7", "baseline": 15, "target": 5, "instrument": "GAD-7",
                       "minimum": 0, "maximum": 21, "cutoff": 8},
                      {"name": "PHQ-9", "baseline": 11, "target": 4, "instrument": "PHQ-9",
                       "minimum": 0, "maximum": 27, "sd": 5.7, "reliability": 0.84,
                       "cutoff": 10}],
         "remove_steps": ["s2"],
         "add_steps": ["Progressive muscle relaxation for 10 minutes daily"],
         "reword_steps": {"s3": "10 minutes of gentle yoga daily"}},
        {"command": "agree", "goal_id": a, "by": CLIENT, "terms_version": 3,
         "method": "portal", "occurred_at": on(21)},
        {"command": "review", "goal_id": a, "by": DR, "outcome": "continue",
         "notes": "Sleeping better; keep going", "occurred_at": on(30),
         "next_review_on": (day + timedelta(days=60)).isoformat(), "command_id": "ehr-4"},
        {"command": "hold", "goal_id": a, "by": DR, "reason": "Client in hospital",
         "occurred_at": on(35)},
        {"command": "resume", "goal_id": a, "by": DR, "reason": "Back home",
         "occurred_at": on(42)},
        {"command": "review", "goal_id": a, "by": SUPERVISOR, "outcome": "achieve",
         "occurred_at": on(55)},
        {"command": "achieve", "goal_id": a, "by": DR, "occurred_at": on(56),
         "evidence": "GAD-7 at 5 for three sessions; sleeping through"},
        # A group goal: every listed member agrees, one through a guardian.
        {"command": "draft", "goal_id": g, "by": DR, "occurred_at": on(1),
         "subject": {"kind": "group", "id": "group-thursday", "members": ["maya", "sam"]},
         "statement": "Each of us names one feeling in every session",
         "addresses": ["Social anxiety"], "steps": ["Name a feeling at check-in"],
         "measures": [{"name": "Sessions with a feeling named", "target": 8,
                       "direction": "increase"}],
         "target_date": (day + timedelta(days=60)).isoformat()},
        {"command": "agree", "goal_id": g, "by": MAYA, "terms_version": 1, "method": "verbal",
         "witnessed_by": DR, "occurred_at": on(1, 11)},
        {"command": "agree", "goal_id": g, "by": GUARDIAN, "terms_version": 1,
         "method": "signature", "occurred_at": on(2)},
        {"command": "discontinue", "goal_id": g, "by": DR, "occurred_at": on(40),
         "reason": "The group closed"},
        {"command": "draft", "goal_id": str(WITHDRAWN), "by": DR, "occurred_at": on(3),
         "subject": {"kind": "client", "id": "client-7"}, "statement": "Sleep eight hours"},
        {"command": "withdraw", "goal_id": str(WITHDRAWN), "by": DR, "occurred_at": on(4),
         "reason": "Client chose to work on anxiety first"},
        {"command": "draft", "goal_id": str(MISTAKE), "by": DR, "occurred_at": on(5),
         "subject": {"kind": "client", "id": "client-8"}, "statement": "Wrong chart"},
        {"command": "enter_in_error", "goal_id": str(MISTAKE), "by": SUPERVISOR,
         "occurred_at": on(5, 11), "reason": "Drafted in the wrong client's chart"},
        # A goal long enough to be snapshotted (every 100 events).
        {"command": "draft", "goal_id": str(LONG), "by": DR, "occurred_at": on(6),
         "subject": {"kind": "client", "id": "client-9"},
         "statement": "Walk every day", "client_words": "I want my legs back",
         "measures": [{"name": "Steps a day", "baseline": 2000, "target": 8000,
                       "direction": "increase"}],
         "steps": ["Walk to the shop"],
         "target_date": (day + timedelta(days=200)).isoformat()},
        {"command": "agree", "goal_id": str(LONG), "by": {"id": "client-9", "role": "client"},
         "terms_version": 1, "method": "signature", "occurred_at": on(6, 11)},
    ]
    commands += [
        {"command": "record_progress", "goal_id": str(LONG), "by": DR,
         "measure": "Steps a day", "value": 2000 + 50 * n, "occurred_at": on(7 + n)}
        for n in range(103)
    ]
    return commands


def build(path: Path | str) -> None:
    """Run the scenario into a new store: a SQLite file at ``path``, or a url."""
    clock = Clock()
    url = path if isinstance(path, str) else f"sqlite:///{path}"
    with goalflow.open(url, clock=clock) as goals:
        for command in scenario():
            name, arguments = _parsed(command)
            late = timedelta(days=5) if command.get("step_id") == "s1" else timedelta()
            clock.now = (datetime.fromisoformat(command["occurred_at"]).astimezone(UTC)
                         + timedelta(minutes=7, seconds=13, microseconds=125) + late)
            goals.execute(name, **arguments)
        # Forgetting a subject needs an encrypted store, where the SubjectForgotten event
        # is stored in clear, as here: recorded directly, on the goal entered in error.
        mistake = goals.get(MISTAKE)
        clock.now += timedelta(days=1)
        goals.store.record_erasures([Goal.SubjectForgotten(  # type: ignore[call-arg]
            originator_id=MISTAKE, originator_version=mistake.version + 1,
            timestamp=clock.now, actor=goalflow.Actor("dr-achebe", "supervisor"),
            occurred_at=clock.now, subject_id=mistake.subject.id,
            reason="retention period ended", hold_overridden=None)])


def _parsed(command: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A scenario command as ``goalflow apply`` would read it from a line."""
    from goalflow.commands import parse_command

    return parse_command(orjson.loads(orjson.dumps(command)))


def stored_rows(path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT rowid, originator_id, originator_version, topic, state"
                            " FROM stored_events ORDER BY rowid").fetchall()
        snapshots = conn.execute("SELECT originator_id, originator_version, topic, state"
                                 " FROM stored_snapshots ORDER BY originator_id, originator_version"
                                 ).fetchall()
    return ([{"position": r[0], "goal_id": str(UUID(r[1])), "version": r[2], "topic": r[3],
              "state": bytes(r[4]).decode()} for r in rows]
            + [{"position": None, "goal_id": str(UUID(r[0])), "version": r[1], "topic": r[2],
                "state": bytes(r[3]).decode()} for r in snapshots])


def capture_events(path: Path) -> list[Path]:
    """Write fixtures for event types and versions that have none; return what was written."""
    from goalflow.persistence.codec import GoalflowMapper

    mapper = GoalflowMapper()
    by_type: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in stored_rows(path):
        event = mapper.decode_event(UUID(row["goal_id"]), row["version"], row["topic"],
                                    row["state"].encode())
        cls = type(event)
        key = (cls.__name__, stored_version(cls))
        instances = by_type.setdefault(key, [])
        if len(instances) < 3:  # enough to show the shapes; the store keeps the rest
            instances.append({
                "topic": row["topic"], "goal_id": row["goal_id"], "version": row["version"],
                "state": row["state"],
                "decodes_to": typed(dict(vars(event))),
            })
    written = []
    target = FIXTURES / "events"
    target.mkdir(parents=True, exist_ok=True)
    for (name, version), instances in sorted(by_type.items()):
        file = target / f"{name}.v{version}.json"
        if file.exists():
            continue
        file.write_bytes(orjson.dumps({
            "event": name, "class_version": version,
            "captured_by": f"goalflow {goalflow_version()}",
            "instances": instances,
        }, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
        written.append(file)
    missing = set(EVENT_NAMES) - {name for name, _ in by_type}
    if missing:
        raise SystemExit(f"the scenario records no {', '.join(sorted(missing))}: extend it")
    return written


def stored_version(cls: type) -> int:
    """The schema version an event class writes (a snapshot: its aggregate's)."""
    return int(getattr(Goal if cls is Goal.Snapshot else cls, "class_version", 1))


EVENT_NAMES = [*(c.__name__ for c in vars(Goal).values()
                 if isinstance(c, type) and issubclass(c, Goal.Event)
                 and c not in (Goal.Event, Goal.Created)),
               "Snapshot"]


def goalflow_version() -> str:
    from importlib.metadata import version

    return version("goalflow")


def capture_store(path: Path, name: str) -> Path:
    target = FIXTURES / "stores" / name
    if target.exists():
        raise SystemExit(f"{target} exists; fixtures are never regenerated")
    target.mkdir(parents=True)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(path, target / "goalflow.sqlite")
    url = f"sqlite:///{path}"  # the fixture itself is never opened: a writer would change it
    runner = CliRunner()
    outputs: dict[str, Any] = {}

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["--db", url, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    for goal in (ANXIETY, GROUP, WITHDRAWN, MISTAKE, LONG):
        outputs[f"show {goal}"] = orjson.loads(run("show", str(goal), "--json"))
        outputs[f"show {goal} --version 2"] = orjson.loads(
            run("show", str(goal), "--version", "2", "--json"))
        outputs[f"history {goal}"] = _lines(run("history", str(goal), "--json"))
    outputs[f"show {ANXIETY} --as-of"] = orjson.loads(
        run("show", str(ANXIETY), "--as-of", (START + timedelta(hours=1)).isoformat(),
            "--json"))
    for subject in ("client-7", "maya", "group-thursday", "client-9"):
        outputs[f"plan {subject} --all"] = _lines(run("plan", subject, "--all", "--json"))
    outputs["audit"] = _lines(run("audit", "--json"))
    outputs["reviews"] = _lines(run("reviews", "--as-of", "2025-06-01", "--json"))
    outputs["goals"] = _lines(run("goals", "--json"))
    outputs["events"] = _lines(run("events", "--json"))
    (target / "outputs.json").write_bytes(
        orjson.dumps(outputs, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    run("export", "--output", str(target / "export.jsonl"))
    digest = _digest(url)
    (target / "digest.json").write_bytes(orjson.dumps(
        {"events": digest[0], "sha256": digest[1], "captured_by":
         f"goalflow {goalflow_version()}"}, option=orjson.OPT_INDENT_2) + b"\n")
    with sqlite3.connect(path) as conn:
        tables = sorted(r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"))
        dump = {t: [list(map(_cell, row)) for row in conn.execute(
            f'SELECT * FROM "{t}" ORDER BY 1, 2')]
            for t in tables if t not in ("stored_events", "stored_snapshots")}
    (target / "tables.json").write_bytes(
        orjson.dumps(dump, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    return target


SCHEMA_MARK = "gf_old_store_schema"


def capture_postgres(server: str, target: Path) -> Path:
    """The scenario on PostgreSQL, dumped as SQL statements (the schema name a mark)."""
    import subprocess
    import uuid

    import psycopg

    schema = f"gf_capture_{uuid.uuid4().hex[:8]}"
    build(f"{server}?schema={schema}")
    try:
        dump = subprocess.run(
            ["pg_dump", "--dbname", server, "--schema", schema, "--inserts", "--no-owner",
             "--no-privileges", "--no-comments"], check=True, capture_output=True, text=True,
        ).stdout
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')  # type: ignore[arg-type]
    lines = [line for line in dump.splitlines()
             if not line.startswith(("\\", "--", "SET ", "SELECT pg_catalog.set_config"))]
    file = target / "postgresql.sql"
    file.write_text("\n".join(lines).replace(schema, SCHEMA_MARK).strip() + "\n")
    return file


def _cell(value: Any) -> Any:
    return bytes(value).decode() if isinstance(value, bytes | memoryview) else value


def _digest(url: str) -> tuple[int, str]:
    from goalflow import transfer

    with goalflow.open(url, readonly=True) as goals:
        return transfer.digest(goals)


def _lines(text: str) -> list[Any]:
    return [orjson.loads(line) for line in text.splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("events", help="fixtures for event types and versions without one")
    store = sub.add_parser("store", help="a whole store as written by this code")
    store.add_argument("name", help="e.g. v1")
    store.add_argument("--postgres", metavar="URL",
                       help="also dump the scenario as written to this PostgreSQL server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.db"
        build(path)
        if args.what == "events":
            for file in capture_events(path):
                print(f"wrote {file.relative_to(ROOT)}")
        else:
            target = capture_store(path, args.name)
            if args.postgres:
                capture_postgres(args.postgres, target)
            print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
