"""The inspection commands as a user runs them: the installed ``goalflow`` executable.

events (and --follow), goals, history, show, diff, export, import, migrate and stats,
against the demo scenario (plus two goals of other clients) on SQLite and PostgreSQL;
the 10,000-event export/import round trip; the read-only guarantee; every error path.

Everything that depends on being a separate process (exit codes, stderr, signals,
terminals, files left on disk) runs the installed executable; only the option
matrices and the help texts go through click's ``CliRunner``, to keep the file quick.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import pty
import queue
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import click
import pytest
from click.testing import CliRunner, Result

import goalflow
from goalflow import Actor, Goal, Measure, Subject, transfer
from goalflow import demo as demo_scenario
from goalflow.cli import cli
from goalflow.domain.goal import EVENT_TYPES
from goalflow.persistence.urls import parse_url

GOALFLOW = str(Path(sys.executable).parent / "goalflow")
TODAY = date.today()
DEMO_GOAL = str(demo_scenario.DEMO_GOAL_ID)
SLEEP = "22222222-2222-4222-8222-222222222222"  # client-9: drafted, agreed: active
VOIDED = "33333333-3333-4333-8333-333333333333"  # client-8: drafted, entered in error
UNKNOWN = "99999999-9999-4999-8999-999999999999"
CLINICIAN = Actor("dr-okafor", "clinician")
EVENT_KEYS = ["position", "goal_id", "version", "type", "schema_version", "recorded_at",
              "occurred_at", "actor", "data"]
GOAL_KEYS = ["goal_id", "subject_kind", "subject_id", "status", "terms_version", "statement",
             "version", "drafted_at", "updated_at"]
ACCEPTED_FORMS = ("sqlite:///relative/path.db, sqlite:////absolute/path.db, memory://,"
                  " postgresql://user[:password]@host[:port]/dbname[?schema=name&libpq options]")
TIMESTAMP_FORMS = "2026-03-01, 2026-03-01T09:30:00+01:00 or 2026-03-01T08:30:00Z"
# What store_contents() gives for a store without events or command ids.
EMPTY = ((0, hashlib.sha256().hexdigest()), 0)
# The clinic store: the 15 demo events, then 4 of the other two goals; 17 command ids.
EVENTS, COMMANDS = 19, 17


# -- running goalflow ------------------------------------------------------------


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "GOALFLOW_DB"}


def goalflow_exe(*args: str, input: str | None = None, timeout: float = 120
                 ) -> subprocess.CompletedProcess[str]:
    """Run the installed ``goalflow`` executable."""
    return subprocess.run([GOALFLOW, *args], input=input, capture_output=True, text=True,
                          timeout=timeout, check=False, env=_environment())


def run(db: str, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return goalflow_exe("--db", db, *args, input=input)


def ok(db: str, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    result = run(db, *args, input=input)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def fails(db: str, *args: str) -> str:
    """Run a command that must fail with one ``Error: ...`` line; returns that line."""
    result = run(db, *args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("Error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


def invoke(db: str, *args: str) -> Result:
    """In process, through click's CliRunner (for the option matrices only)."""
    result = CliRunner().invoke(cli, ["--db", db, *args], env={"GOALFLOW_DB": None})
    assert result.exit_code == 0, result.output
    return result


def on_terminal(*args: str, stream: str = "stdout", columns: int = 150,
                pager: str = "cat") -> tuple[str, str, int]:
    """Run the executable with stdout (or stderr) on a terminal ``columns`` wide, with
    ``pager`` as $PAGER (cat: what is shown is what goalflow printed).

    Returns what the terminal showed, what the other stream (a pipe) got, and the exit code.
    """
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in _environment().items() if k not in ("COLUMNS", "LINES")}
    env["PAGER"] = pager
    streams = {"stdout": terminal, "stderr": subprocess.PIPE} if stream == "stdout" else \
        {"stdout": subprocess.PIPE, "stderr": terminal}
    proc = subprocess.Popen([GOALFLOW, *args], env=env, **streams)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    out, err = proc.communicate(timeout=60)
    piped = out if stream == "stderr" else err
    return shown.decode().replace("\r\n", "\n"), piped.decode(), proc.returncode


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def positions(text: str) -> list[int]:
    return [record["position"] for record in json_lines(text)]


def options_id(value: object) -> str | None:
    """Test ids from command-line options; the expected values get pytest's default."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return " ".join(value) or "(none)"
    return None


def day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


def store_contents(url: str) -> tuple[tuple[int, str], int]:
    """(events, digest) and the number of command ids in the store at ``url``."""
    with goalflow.open(url, readonly=True) as goals:
        header = transfer.export(goals, io.BytesIO())
        return transfer.digest(goals), header["commands"]


def apply_line(db: str, command: dict[str, Any]) -> dict[str, Any]:
    result = ok(db, "apply", "-", input=json.dumps(command) + "\n")
    return json.loads(result.stdout)


def progress_on_sleep(command_id: str) -> dict[str, Any]:
    return {"command": "record_progress", "goal_id": SLEEP, "by": {"id": "client-9",
            "role": "client"}, "measure": "ISI", "value": 12, "command_id": command_id}


# -- stores ----------------------------------------------------------------------


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def build_clinic(url: str) -> None:
    """The demo scenario (positions 1-15), then yesterday: client-9's sleep goal drafted
    (16) and agreed (17), and a goal for client-8 drafted (18) and entered in error (19)."""
    demo_scenario.run(url, TODAY).close()
    yesterday = datetime.fromisoformat(f"{day(1)}T09:00:00+00:00")
    clock = _Clock(yesterday)
    with goalflow.open(url, clock=clock) as goals:
        goals.draft(Subject.client("client-9"), "Sleep seven hours on most nights", by=CLINICIAN,
                    goal_id=SLEEP, client_words="I want to wake up rested",
                    measures=[Measure("ISI", baseline=18, target=8)],
                    steps=["Keep a sleep diary", "No screens after 22:00"],
                    target_date=TODAY + timedelta(days=60), command_id="clinic-1")
        clock.now += timedelta(minutes=5)
        goals.agree(SLEEP, by=Actor("client-9", "client"), terms_version=1, method="portal",
                    command_id="clinic-2")
        clock.now += timedelta(minutes=5)
        goals.draft(Subject.client("client-8"), "Walk for 30 minutes a day", by=CLINICIAN,
                    goal_id=VOIDED)
        clock.now += timedelta(minutes=5)
        goals.enter_in_error(VOIDED, by=CLINICIAN, reason="Recorded against the wrong client")


@pytest.fixture
def clinic_file(tmp_path: Path) -> Path:
    """The clinic in a SQLite file, closed (so its WAL is checkpointed into the file)."""
    path = tmp_path / "clinic.db"
    build_clinic(f"sqlite:///{path}")
    return path


@pytest.fixture
def clinic(clinic_file: Path) -> str:
    return f"sqlite:///{clinic_file}"


@pytest.fixture
def pg_clinic(postgres_url: str) -> str:
    build_clinic(postgres_url)
    return postgres_url


@pytest.fixture
def clinic_export(clinic: str, tmp_path: Path) -> Path:
    path = tmp_path / "exports" / "clinic.jsonl"
    path.parent.mkdir()
    ok(clinic, "export", "--output", str(path))
    return path


@pytest.fixture
def empty_store(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "target.db"
    goalflow.open(f"sqlite:///{path}").close()
    return f"sqlite:///{path}", path


# -- events ----------------------------------------------------------------------


def test_events_prints_the_whole_log_in_order_one_line_per_event(clinic: str) -> None:
    lines = ok(clinic, "events").stdout.splitlines()

    assert [line.split()[0] for line in lines] == [f"#{n}" for n in range(1, EVENTS + 1)]
    first = lines[0].split()
    assert first[:6] == ["#1", f"{day(60)}T10:05:00+00:00", DEMO_GOAL, "v1", "Drafted",
                         "dr-okafor"]
    assert "  By the end of next month I use relaxation, daily exercise a" in lines[0]
    assert re.search(r" client-7 \(client\) +client-7 agreed to terms v3 \(verbal, witnessed by"
                     r" dr-okafor\)$", lines[7])
    assert lines[18].split()[:5] == ["#19", f"{day(1)}T09:15:00+00:00", VOIDED, "v2",
                                     "EnteredInError"]
    assert "\x1b[" not in "".join(lines)  # no colour in a pipe


def test_events_lines_up_its_columns(clinic: str) -> None:
    lines = ok(clinic, "events").stdout.splitlines()
    records = json_lines(ok(clinic, "events", "--json").stdout)

    actors = [f"{r['actor']['id']} ({r['actor']['role']})" for r in records]
    starts = {line.index(f" {actor} ") for line, actor in zip(lines, actors, strict=True)}
    assert len(starts) == 1, starts


@pytest.mark.parametrize("columns", [160, 220])
def test_events_on_a_terminal_are_coloured_and_shortened_to_fit_its_width(
        clinic: str, columns: int) -> None:
    shown, stderr, code = on_terminal("--db", clinic, "events", columns=columns)

    assert (code, stderr) == (0, "")
    lines = [click.unstyle(line) for line in shown.splitlines()]
    assert len(lines) == EVENTS
    assert "\x1b[" in shown
    assert max(len(line) for line in lines) <= columns
    assert lines[0].endswith("\u2026")  # the demo's long statement, shortened
    assert "  By the end of next" in lines[0]


def test_events_json_prints_every_event_decoded_in_full_with_stable_keys(clinic: str) -> None:
    records = json_lines(ok(clinic, "events", "--json").stdout)

    assert [list(r) for r in records] == [EVENT_KEYS] * EVENTS
    assert [r["position"] for r in records] == list(range(1, EVENTS + 1))
    revised = records[6]
    assert revised == {
        "position": 7, "goal_id": DEMO_GOAL, "version": 7, "type": "Revised", "schema_version": 2,
        "recorded_at": f"{day(40)}T10:35:00+00:00", "occurred_at": f"{day(40)}T10:00:00+00:00",
        "actor": {"id": "dr-okafor", "role": "clinician", "on_behalf_of": None},
        "data": {
            "changes": [],
            "reason": "Meditation made the client feel worse (racing thoughts); replaced with"
                      " progressive muscle relaxation",
            "steps_added": [{"step_id": "s5", "status": "open",
                             "description": "Progressive muscle relaxation for 10 minutes daily"}],
            "steps_removed": [{"step_id": "s2", "status": "open",
                               "description": "Meditate for 10 minutes daily"}],
            "steps_reworded": [],
        },
    }
    drafted = records[0]["data"]
    assert drafted["statement"].endswith("measured by self-report and observation")
    assert drafted["target_date"] == (TODAY + timedelta(days=30)).isoformat()
    assert records[18]["data"] == {"reason": "Recorded against the wrong client"}


@pytest.mark.parametrize(("options", "expected"), [
    (["--goal", SLEEP], [16, 17]),
    (["--subject", "client-7"], list(range(1, 16))),
    (["--subject", "client-9"], [16, 17]),
    (["--type", "Revised"], [3, 7]),
    (["--type", "EnteredInError"], [19]),
    (["--actor", "client-7"], [2, 4, 5, 8, 10, 12]),
    (["--since", day(40)], list(range(7, 20))),
    (["--until", day(60)], [1, 2]),
    (["--since", day(59), "--until", day(59)], [3, 4]),
    (["--since", f"{day(60)}T11:07:00+01:00"], list(range(2, 20))),
    (["--since", f"{day(60)}T10:10:00Z", "--until", f"{day(59)}T10:15:00+00:00"], [2, 3]),
    (["--after", "13"], [14, 15, 16, 17, 18, 19]),
    (["--limit", "3"], [1, 2, 3]),
    (["--after", "5", "--limit", "2"], [6, 7]),
    (["--type", "AgreedByClient", "--actor", "client-7"], [4, 8]),
    (["--subject", "client-7", "--type", "StepCompleted", "--limit", "2"], [5, 10]),
    (["--actor", "client-9", "--since", day(1)], [17]),
    (["--subject", "nobody"], []),
], ids=options_id)
def test_events_filters_narrow_the_log(clinic: str, options: list[str],
                                       expected: list[int]) -> None:
    assert positions(invoke(clinic, "events", *options, "--json").stdout) == expected


def test_events_says_so_when_nothing_matches(clinic: str) -> None:
    assert ok(clinic, "events", "--actor", "nobody").stdout == "No events.\n"
    assert ok(clinic, "events", "--actor", "nobody", "--json").stdout == ""


def test_events_of_an_unknown_goal_is_an_error(clinic: str) -> None:
    assert fails(clinic, "events", "--goal", UNKNOWN) == f"Error: goal {UNKNOWN} not found\n"


def test_events_of_an_unknown_type_is_one_error_line_listing_the_known_types(clinic: str
                                                                            ) -> None:
    error = fails(clinic, "events", "--type", "Nonsense")

    assert error == (f"Error: --type: unknown event type 'Nonsense' (known:"
                     f" {', '.join(EVENT_TYPES)})\n")
    assert "EnteredInError" in error


@pytest.mark.parametrize(("options", "message"), [
    (["--since", "yesterday"], "Error: --since: 'yesterday' is not a date or time; use "),
    (["--until", "2026-03-01T09:30:00"],
     "Error: --until: '2026-03-01T09:30:00' needs a UTC offset; use "),
    (["--since", "2026-02-30"], "Error: --since: '2026-02-30' is not a date or time; use "),
], ids=options_id)
def test_events_refuses_a_bad_timestamp_naming_the_accepted_forms(
        clinic: str, options: list[str], message: str) -> None:
    assert fails(clinic, "events", *options) == message + TIMESTAMP_FORMS + "\n"


def test_events_refuses_a_goal_that_is_not_a_goal_id(clinic: str) -> None:
    assert fails(clinic, "events", "--goal", "goal-1") == \
        "Error: goal_id 'goal-1' is not a goal id (a UUID)\n"


# -- events --follow -------------------------------------------------------------


def _default_sigint() -> None:
    # As in a terminal: a shell may start background jobs with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Follower:
    """``goalflow events --follow`` running in the background, its lines read as they come."""

    def __init__(self, db: str, *options: str) -> None:
        self.proc = subprocess.Popen(
            [GOALFLOW, "--db", db, "events", "--follow", *options], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=_environment(), preexec_fn=_default_sigint)
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def next_line(self, timeout: float = 15) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            self.fail_if_ended("a line")
            pytest.fail(f"events --follow printed nothing within {timeout} s")

    def fail_if_ended(self, what: str) -> None:
        if self.proc.poll() is not None:
            assert self.proc.stderr is not None
            pytest.fail(f"events --follow ended (exit {self.proc.returncode}) before {what}:"
                        f" {self.proc.stderr.read()}")

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 15
                   ) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            self.fail_if_ended(what)
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {timeout} s")
            time.sleep(0.05)

    def polling(self) -> bool:
        """Whether it sleeps between looks at the log (so it has read where the log ends)."""
        try:
            return "nanosleep" in Path(f"/proc/{self.proc.pid}/wchan").read_text()
        except OSError:
            return False

    def interrupt(self, signum: int = signal.SIGINT) -> tuple[int, list[str], str]:
        """Ctrl-C: the exit code, the lines printed since the last one read, and stderr."""
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=15)
        self.reader.join(timeout=15)
        assert self.proc.stderr is not None
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        return code, rest, self.proc.stderr.read()


@pytest.fixture
def follow() -> Iterator[Callable[..., Follower]]:
    started: list[Follower] = []

    def start(db: str, *options: str) -> Follower:
        started.append(Follower(db, *options))
        return started[-1]

    yield start
    for follower in started:
        if follower.proc.poll() is None:
            follower.proc.kill()
        follower.proc.wait(timeout=15)
        for stream in (follower.proc.stdout, follower.proc.stderr):
            if stream is not None:
                stream.close()


def test_events_follow_prints_an_event_recorded_meanwhile_and_ctrl_c_ends_it_cleanly(
        clinic: str, follow: Callable[..., Follower]) -> None:
    if not Path("/proc/self/wchan").exists():
        pytest.skip("needs /proc/PID/wchan to see when the follower is polling")
    follower = follow(clinic, "--poll", "0.2")
    follower.wait_until(follower.polling, "polling of the log")

    outcome = apply_line(clinic, progress_on_sleep("follow-1"))
    line = follower.next_line()

    assert outcome["version"] == 3
    assert line.split()[:7] == ["#20", line.split()[1], SLEEP, "v3", "ProgressRecorded",
                                "client-9", "(client)"]
    assert line.rstrip().endswith("ISI = 12")
    code, rest, stderr = follower.interrupt()
    assert (code, rest, stderr) == (0, [], "")  # nothing from before it started, no traceback


def test_events_follow_after_a_position_replays_from_there_then_keeps_following(
        clinic: str, follow: Callable[..., Follower]) -> None:
    follower = follow(clinic, "--after", "17", "--json", "--poll", "0.2")

    replayed = [json.loads(follower.next_line())["position"] for _ in range(2)]
    apply_line(clinic, progress_on_sleep("follow-2"))
    new = json.loads(follower.next_line())

    assert replayed == [18, 19]
    assert list(new) == EVENT_KEYS
    assert (new["position"], new["goal_id"], new["type"], new["data"]) == \
        (20, SLEEP, "ProgressRecorded", {"measure": "ISI", "value": 12})
    assert follower.interrupt() == (0, [], "")


def test_events_follow_after_0_replays_the_whole_log_then_keeps_following(
        clinic: str, follow: Callable[..., Follower]) -> None:
    follower = follow(clinic, "--after", "0", "--json", "--poll", "0.2")

    replayed = [json.loads(follower.next_line())["position"] for _ in range(EVENTS)]

    assert replayed == list(range(1, EVENTS + 1))
    assert follower.interrupt() == (0, [], "")


def test_events_follow_of_a_subject_includes_a_goal_drafted_while_following(
        clinic: str, follow: Callable[..., Follower]) -> None:
    if not Path("/proc/self/wchan").exists():
        pytest.skip("needs /proc/PID/wchan to see when the follower is polling")
    follower = follow(clinic, "--subject", "client-9", "--after", "17", "--json",
                      "--poll", "0.2")
    follower.wait_until(follower.polling, "polling of the log")  # it found nothing to show
    new_goal = "44444444-4444-4444-8444-444444444444"
    apply_line(clinic, {"command": "draft", "goal_id": new_goal, "by": {
        "id": "dr-okafor", "role": "clinician"}, "subject": {"kind": "client", "id": "client-9"},
        "statement": "Eat breakfast every day", "command_id": "follow-3"})
    apply_line(clinic, progress_on_sleep("follow-4"))  # so that something is printed

    first = json.loads(follower.next_line())

    assert (first["position"], first["goal_id"], first["type"]) == (20, new_goal, "Drafted")
    assert follower.interrupt()[0] == 0


def test_events_follow_ends_cleanly_on_sigterm_too(clinic: str,
                                                   follow: Callable[..., Follower]) -> None:
    follower = follow(clinic, "--after", "18", "--poll", "0.2")

    assert follower.next_line().startswith("#19 ")
    assert follower.interrupt(signal.SIGTERM) == (0, [], "")


@pytest.mark.postgres
def test_events_follow_on_postgresql_is_woken_by_notify_and_ctrl_c_ends_it_cleanly(
        pg_clinic: str, postgres_server: str, follow: Callable[..., Follower]) -> None:
    import psycopg

    def listeners() -> int:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity"
                               " WHERE query LIKE 'LISTEN %'").fetchone()
        return int(row[0]) if row else 0

    already = listeners()
    # It looks at the log only every 60 s, so printing within 15 s shows a NOTIFY woke it.
    follower = follow(pg_clinic, "--poll", "60")
    follower.wait_until(lambda: listeners() > already, "LISTEN from events --follow")

    apply_line(pg_clinic, progress_on_sleep("follow-pg"))
    line = follower.next_line()

    assert line.split()[2:5] == [SLEEP, "v3", "ProgressRecorded"]
    assert line.rstrip().endswith("ISI = 12")
    assert follower.interrupt() == (0, [], "")


# -- goals -----------------------------------------------------------------------


def test_goals_lists_every_goal_most_recently_changed_first_in_aligned_columns(
        clinic: str) -> None:
    header, *rows = ok(clinic, "goals").stdout.splitlines()

    assert header.split() == ["goal", "status", "subject", "version", "last", "change",
                              "statement"]
    assert [row.split()[:2] for row in rows] == [
        [VOIDED, "entered-in-error"], [SLEEP, "active"], [DEMO_GOAL, "completed"]]
    for column, values in [("status", ["entered-in-error", "active", "completed"]),
                           ("subject", ["client client-8", "client client-9",
                                        "client client-7"]),
                           ("last change", [f"{day(1)}T09:15:00+00:00",
                                            f"{day(1)}T09:05:00+00:00",
                                            f"{day(2)}T11:15:00+00:00"])]:
        at = header.index(column)
        assert [row[at:].split("  ")[0] for row in rows] == values, column
    # In a pipe the statement keeps every character.
    assert rows[2].endswith("to manage my anxiety, measured by self-report and observation")


def test_goals_on_a_terminal_fit_its_width_by_shortening_the_statement(clinic: str) -> None:
    shown, stderr, code = on_terminal("--db", clinic, "goals", columns=150)

    assert (code, stderr) == (0, "")
    lines = [click.unstyle(line) for line in shown.splitlines()]
    assert len(lines) == 4
    assert max(len(line) for line in lines) <= 150
    assert lines[3].endswith("\u2026")  # the demo's long statement, shortened


def test_goals_json_gives_one_goal_per_line_with_stable_keys(clinic: str) -> None:
    goals = json_lines(ok(clinic, "goals", "--json").stdout)

    assert [list(g) for g in goals] == [GOAL_KEYS] * 3
    assert goals[0] == {
        "goal_id": VOIDED, "subject_kind": "client", "subject_id": "client-8",
        "status": "entered-in-error", "terms_version": 1,
        "statement": "Walk for 30 minutes a day", "version": 2,
        "drafted_at": f"{day(1)}T09:10:00+00:00", "updated_at": f"{day(1)}T09:15:00+00:00"}
    assert [(g["goal_id"], g["status"], g["version"]) for g in goals[1:]] == \
        [(SLEEP, "active", 2), (DEMO_GOAL, "completed", 15)]


@pytest.mark.parametrize(("options", "expected"), [
    (["--subject", "client-9"], [SLEEP]),
    (["--status", "entered-in-error"], [VOIDED]),
    (["--status", "active"], [SLEEP]),
    (["--subject", "client-7", "--status", "completed"], [DEMO_GOAL]),
    (["--subject", "client-7", "--status", "active"], []),
], ids=options_id)
def test_goals_filters_by_subject_and_status(clinic: str, options: list[str],
                                             expected: list[str]) -> None:
    shown = json_lines(invoke(clinic, "goals", *options, "--json").stdout)

    assert [g["goal_id"] for g in shown] == expected


def test_goals_says_so_when_none_match(clinic: str) -> None:
    assert ok(clinic, "goals", "--subject", "nobody").stdout == "No goals.\n"


def test_goals_refuses_an_unknown_status(clinic: str) -> None:
    result = run(clinic, "goals", "--status", "done")

    assert result.returncode == 2
    assert "'done' is not one of 'proposed', 'active'" in result.stderr


def test_goals_are_served_from_the_read_models_without_replaying_the_log(
        clinic_file: Path) -> None:
    with sqlite3.connect(clinic_file) as conn:  # the log gone: only the read models remain
        conn.execute("DELETE FROM stored_events")
        conn.execute("DELETE FROM stored_snapshots")
    conn.close()

    goals = json_lines(ok(f"sqlite:///{clinic_file}", "goals", "--json").stdout)

    assert [(g["goal_id"], g["version"]) for g in goals] == \
        [(VOIDED, 2), (SLEEP, 2), (DEMO_GOAL, 15)]


# -- history, show, diff ---------------------------------------------------------


def test_history_prints_every_event_of_one_goal_decoded_in_full(clinic: str) -> None:
    text = ok(clinic, "history", DEMO_GOAL).stdout
    heads = [line for line in text.splitlines() if line.startswith("#")]

    assert [h.split()[0] for h in heads] == [f"#{n}" for n in range(1, 16)]
    assert all(DEMO_GOAL in h for h in heads)
    assert f"       occurred {day(40)}T10:00:00+00:00\n" in text
    assert ("       statement: By the end of next month I use relaxation, daily exercise and"
            " constructive expression of emotions to manage my anxiety, measured by"
            " self-report and observation\n") in text
    assert ('       steps_removed: [{"step_id":"s2","description":"Meditate for 10 minutes'
            ' daily","status":"open"}]\n') in text
    assert "\u2026" not in text


def test_history_json_gives_the_goals_events_with_their_positions_in_the_log(
        clinic: str) -> None:
    records = json_lines(ok(clinic, "history", VOIDED, "--json").stdout)

    assert [list(r) for r in records] == [EVENT_KEYS] * 2
    assert [(r["position"], r["version"], r["type"]) for r in records] == \
        [(18, 1, "Drafted"), (19, 2, "EnteredInError")]
    assert records[1]["data"] == {"reason": "Recorded against the wrong client"}
    assert records[1]["recorded_at"] == f"{day(1)}T09:15:00+00:00"


def test_history_of_an_unknown_goal_is_an_error(clinic: str) -> None:
    assert fails(clinic, "history", UNKNOWN) == f"Error: goal {UNKNOWN} not found\n"


def test_show_a_past_version(clinic: str) -> None:
    shown = json.loads(ok(clinic, "show", DEMO_GOAL, "--version", "3", "--json").stdout)

    assert (shown["version"], shown["status"], shown["terms_version"]) == (3, "proposed", 2)
    assert [s["step_id"] for s in shown["steps"]] == ["s1", "s2", "s3", "s4"]


@pytest.mark.parametrize(("days_ago", "version"), [(60, 2), (59, 4), (41, 6), (40, 8)])
def test_show_as_of_a_date_shows_the_goal_as_recorded_by_the_end_of_that_day(
        clinic: str, days_ago: int, version: int) -> None:
    shown = json.loads(invoke(clinic, "show", DEMO_GOAL, "--as-of", day(days_ago),
                              "--json").stdout)

    assert shown["version"] == version


def test_show_as_of_a_date_for_people(clinic: str) -> None:
    text = ok(clinic, "show", DEMO_GOAL, "--as-of", day(59)).stdout

    assert text.startswith(f"Goal {DEMO_GOAL}  active  (version 4, terms v2)\n")
    assert "[ ] s4 10 minutes of yoga daily" in text


def test_show_as_of_before_the_goal_was_recorded_is_an_error(clinic: str) -> None:
    error = fails(clinic, "show", DEMO_GOAL, "--as-of", day(61))

    assert error.startswith(f"Error: goal {DEMO_GOAL} (not yet recorded at {day(61)}T23:59")


DIFF_6_8 = [
    {"field": "terms_version", "before": 2, "after": 3},
    {"field": "steps.s2", "before": {"step_id": "s2", "description":
                                     "Meditate for 10 minutes daily", "status": "open"},
     "after": None},
    {"field": "steps.s5", "before": None, "after": {
        "step_id": "s5", "description": "Progressive muscle relaxation for 10 minutes daily",
        "status": "open"}},
]


def test_diff_shows_meditation_replaced_by_relaxation_and_new_terms(clinic: str) -> None:
    lines = ok(clinic, "diff", DEMO_GOAL, "6", "8").stdout.splitlines()

    assert lines[0] == f"Goal {DEMO_GOAL}: version 6 -> 8"
    assert "  terms_version: 2 -> 3" in lines
    assert "  steps.s2: removed s2 Meditate for 10 minutes daily (open)" in lines
    assert ("  steps.s5: added s5 Progressive muscle relaxation for 10 minutes daily"
            " (open)") in lines


def test_diff_json_is_one_document_with_each_change(clinic: str) -> None:
    document = json.loads(ok(clinic, "diff", DEMO_GOAL, "6", "8", "--json").stdout)

    assert (document["goal_id"], document["from"], document["to"]) == (DEMO_GOAL, 6, 8)
    assert [c for c in document["changes"] if c["field"] in
            ("terms_version", "steps.s2", "steps.s5")] == DIFF_6_8
    added = [c for c in document["changes"] if c["field"] == "agreements (added)"]
    assert [(a["party"], a["terms_version"], a["method"]) for a in added[0]["after"]] == \
        [("client-7", 3, "verbal")]
    assert {c["field"] for c in document["changes"]} == \
        {"terms_version", "steps.s2", "steps.s5", "agreements (added)"}


def test_diff_of_the_last_two_versions_shows_the_goal_achieved(clinic: str) -> None:
    document = json.loads(invoke(clinic, "diff", DEMO_GOAL, "14", "15", "--json").stdout)

    assert {"field": "status", "before": "active", "after": "completed"} in \
        document["changes"]


def test_diff_of_a_version_with_itself_says_no_change(clinic: str) -> None:
    assert ok(clinic, "diff", DEMO_GOAL, "8", "8").stdout == \
        f"Goal {DEMO_GOAL}: version 8 -> 8\n  no change\n"


def test_diff_to_a_version_past_the_latest_is_an_error(clinic: str) -> None:
    assert "has no version 99 (versions run from 1 to 15)" in \
        fails(clinic, "diff", DEMO_GOAL, "6", "99")


# -- export ----------------------------------------------------------------------


def test_export_starts_with_a_header_saying_what_was_exported(clinic: str) -> None:
    header, *records = json_lines(ok(clinic, "export").stdout)

    assert {k: header[k] for k in ("format", "format_version", "complete", "events",
                                   "commands", "scope", "timezone", "settings")} == {
        "format": "goalflow-export", "format_version": 3, "complete": True,
        "events": EVENTS, "commands": COMMANDS, "scope": {"goals": None, "subjects": None,
                                                          "since": None, "occurred_since": None},
        "timezone": "UTC", "settings": []}
    assert [r["kind"] for r in records] == ["event"] * EVENTS + ["command"] * COMMANDS
    assert [r["position"] for r in records[:EVENTS]] == list(range(1, EVENTS + 1))
    assert [r["command_id"] for r in records[EVENTS:]] == \
        [f"demo-{n}" for n in range(1, 16)] + ["clinic-1", "clinic-2"]


NO_SCOPE = {"goals": None, "subjects": None, "since": None, "occurred_since": None}


@pytest.mark.parametrize(("options", "events", "commands", "scope"), [
    (["--goal", SLEEP], 2, 2, {**NO_SCOPE, "goals": [SLEEP]}),
    (["--goal", SLEEP, "--goal", VOIDED], 4, 2, {**NO_SCOPE, "goals": [SLEEP, VOIDED]}),
    (["--subject", "client-9"], 2, 2, {**NO_SCOPE, "subjects": ["client-9"]}),
    (["--since", day(2)], 6, 4, {**NO_SCOPE, "since": f"{day(2)}T00:00:00+00:00"}),
    (["--occurred-since", day(2)], 6, 4,
     {**NO_SCOPE, "occurred_since": f"{day(2)}T00:00:00+00:00"}),
], ids=options_id)
def test_a_partial_export_says_it_is_not_complete_and_carries_its_command_ids(
        clinic: str, options: list[str], events: int, commands: int,
        scope: dict[str, Any]) -> None:
    header, *records = json_lines(ok(clinic, "export", *options).stdout)

    assert (header["complete"], header["events"], header["commands"], header["scope"]) == \
        (False, events, commands, scope)
    assert len(records) == events + commands


def test_export_to_a_file_writes_the_same_lines_and_says_so_on_stderr(clinic: str,
                                                                     tmp_path: Path) -> None:
    path = tmp_path / "out" / "goals.jsonl"
    path.parent.mkdir()

    written = ok(clinic, "export", "--output", str(path))
    printed = ok(clinic, "export").stdout

    assert written.stdout == ""
    assert written.stderr == f"exported {EVENTS} events and {COMMANDS} command ids to {path}\n"
    assert list(path.parent.iterdir()) == [path]  # no .partial left behind
    assert path.read_text().splitlines()[1:] == printed.splitlines()[1:]


# -- import ----------------------------------------------------------------------


def _without_last_line(clinic: str, full: Path) -> str:
    return "".join(full.read_text().splitlines(keepends=True)[:-1])


def _cut_mid_line(clinic: str, full: Path) -> str:
    return full.read_text()[:-40]


def _edited_event(clinic: str, full: Path) -> str:
    text = full.read_text()
    assert text.count("Box breathing") == 1
    return text.replace("Box breathing", "Box Breathing")


def _edited_command(clinic: str, full: Path) -> str:
    lines = full.read_text().splitlines(keepends=True)
    record = json.loads(lines[-1])
    assert record["kind"] == "command"
    record["version"] += 1  # claims the command made a different version
    return "".join(lines[:-1]) + json.dumps(record) + "\n"


def _commands(clinic: str, full: Path) -> str:
    return json.dumps(progress_on_sleep("x-1")) + "\n"


def _nothing(clinic: str, full: Path) -> str:
    return ""


@pytest.mark.parametrize(("make", "message"), [
    (_without_last_line, f"the export says {EVENTS} events and {COMMANDS} commands but holds"
                         f" {EVENTS} and {COMMANDS - 1}: it is truncated or was edited"),
    (_cut_mid_line, f"line {1 + EVENTS + COMMANDS}: not valid JSON"),
    (_edited_event, "line 6: the event's content does not match its SHA-256"),
    (_edited_command, f"line {1 + EVENTS + COMMANDS}: the command record does not match its"
                      " SHA-256"),
    (_commands, "line 1: not a goalflow export (no goalflow-export header)"),
    (_nothing, "the file is empty: not a goalflow export"),
], ids=["truncated", "cut mid-line", "edited event", "edited command",
        "not an export", "empty"])
def test_import_refuses_a_bad_file_naming_the_problem_and_leaves_the_target_untouched(
        clinic: str, clinic_export: Path, empty_store: tuple[str, Path], tmp_path: Path,
        make: Callable[[str, Path], str], message: str) -> None:
    target, target_file = empty_store
    bad = tmp_path / "bad.jsonl"
    bad.write_text(make(clinic, clinic_export))
    before = target_file.read_bytes()

    assert fails(target, "import", str(bad)) == f"Error: {message}\n"

    assert store_contents(target) == EMPTY
    assert target_file.read_bytes() == before


@pytest.mark.parametrize("target_kind", ["sqlite", pytest.param("postgres",
                                                                marks=pytest.mark.postgres)])
def test_import_refuses_a_store_that_is_not_empty(
        clinic_export: Path, tmp_path: Path, target_kind: str,
        request: pytest.FixtureRequest) -> None:
    target = f"sqlite:///{tmp_path / 'other.db'}" if target_kind == "sqlite" else \
        request.getfixturevalue("postgres_url")
    demo_scenario.run(target, TODAY).close()
    before = store_contents(target)

    error = fails(target, "import", str(clinic_export))

    assert error == f"Error: store {parse_url(target)} is not empty (and does not hold this" \
        " export); import only into an empty store\n"
    assert store_contents(target) == before == ((15, before[0][1]), 15)


@pytest.mark.postgres
def test_import_into_postgresql_refuses_a_truncated_file_and_leaves_the_schema_empty(
        clinic_export: Path, postgres_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(_without_last_line("", clinic_export))

    assert "it is truncated or was edited" in fails(postgres_url, "import", str(bad))

    # The file is checked before the target is even opened: nothing was created there.
    with pytest.raises(goalflow.StoreError, match="is not a goalflow store"):
        goalflow.open(postgres_url, readonly=True)


def test_import_shows_a_progress_bar_when_stderr_is_a_terminal(clinic_export: Path,
                                                               tmp_path: Path) -> None:
    shown, stdout, code = on_terminal("--db", f"sqlite:///{tmp_path / 'new.db'}", "import",
                                      str(clinic_export), stream="stderr")

    assert code == 0
    assert stdout == f"imported {EVENTS} events and {COMMANDS} command ids\n"
    # Each phase its own bar: the events, then each read model, each to 100%.
    with goalflow.open(f"sqlite:///{tmp_path / 'new.db'}", readonly=True) as imported:
        names = sorted(imported.projections.all)
    labels = ["copying events", *(f"building read model {name}" for name in names)]
    assert [label for label in labels if label not in shown] == []
    assert shown.count("100%") >= len(labels)


def test_import_in_a_pipe_shows_no_progress_bar(clinic_export: Path, tmp_path: Path) -> None:
    result = ok(f"sqlite:///{tmp_path / 'new.db'}", "import", str(clinic_export))

    assert result.stdout == f"imported {EVENTS} events and {COMMANDS} command ids\n"
    assert result.stderr == ""


def test_import_reads_an_export_from_stdin(clinic: str, clinic_export: Path,
                                          tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'from-stdin.db'}"

    result = ok(target, "import", "-", input=clinic_export.read_text())

    assert result.stdout == f"imported {EVENTS} events and {COMMANDS} command ids\n"
    assert store_contents(target) == store_contents(clinic)


# -- the 10,000-event round trip -------------------------------------------------


@dataclass(frozen=True)
class LargeStore:
    url: str
    export: Path
    goal_ids: list[UUID]
    events: int


LARGE_GOALS, EVENTS_PER_GOAL = 100, 100


def build_large_store(url: str) -> list[UUID]:
    """The demo, then 100 goals of 100 events each, written in interleaved batches of 10
    straight to the store (read models off), as scripts/rebuild_rate.py does."""
    demo_scenario.run(url, TODAY).close()
    goals = goalflow.open(url, projections=[])
    start = datetime.now(UTC) - timedelta(days=1)
    written: list[tuple[Goal, Actor]] = []
    for n in range(LARGE_GOALS):
        client = Actor(f"client-{n}", "client")
        now = start + timedelta(seconds=n)
        goal = Goal.draft(
            goal_id=uuid4(), subject=Subject.client(client.id), by=CLINICIAN,
            statement="Use relaxation and daily exercise to manage anxiety", occurred_at=now,
            recorded_at=now, client_words="stop panicking before work",
            measures=[Measure("GAD-7", 15, 7)], target_date=TODAY + timedelta(days=90),
            steps=["Learn two breathing exercises"])
        goal.agree(by=client, terms_version=1, method="signature", occurred_at=now,
                   recorded_at=now)
        goals.store.append(goal, goal.collect_events())
        written.append((goal, client))
    tick = 0
    for batch in range(1, EVENTS_PER_GOAL // 10 + 1):
        for goal, client in written:
            while goal.version < min(2 + 10 * batch, EVENTS_PER_GOAL):
                tick += 1
                now = start + timedelta(minutes=10, milliseconds=tick)
                goal.record_progress(by=client, measure="GAD-7", value=tick % 15,
                                     occurred_at=now, recorded_at=now)
            goals.store.append(goal, goal.collect_events())
    goals.close()
    return [demo_scenario.DEMO_GOAL_ID] + [goal.id for goal, _ in written]


@pytest.fixture(scope="module")
def large_store(tmp_path_factory: pytest.TempPathFactory) -> LargeStore:
    folder = tmp_path_factory.mktemp("large")
    url = f"sqlite:///{folder / 'large.db'}"
    goal_ids = build_large_store(url)
    export = folder / "large.jsonl"
    written = ok(url, "export", "--output", str(export))
    events = 15 + LARGE_GOALS * EVENTS_PER_GOAL
    assert written.stderr == f"exported {events} events and 15 command ids to {export}\n"
    return LargeStore(url, export, goal_ids, events)


def _records(export: str, *, keep_positions: bool) -> tuple[list[Any], list[Any]]:
    """An export's event and command lines, without (or with) their positions."""
    _header, *lines = json_lines(export)
    if not keep_positions:
        for line in lines:
            line.pop("position")
    return ([line for line in lines if line["kind"] == "event"],
            [line for line in lines if line["kind"] == "command"])


@pytest.mark.slow
def test_export_then_import_round_trips_10000_events_to_an_identical_store(
        large_store: LargeStore, store_url: str) -> None:
    imported = ok(store_url, "import", str(large_store.export))

    assert imported.stdout == f"imported {large_store.events} events and 15 command ids\n"
    assert imported.stderr == ""  # no progress bar in a pipe
    with goalflow.open(large_store.url, readonly=True) as source, \
            goalflow.open(store_url, readonly=True) as target:
        assert transfer.digest(target) == transfer.digest(source)
        assert transfer.digest(target)[0] == large_store.events >= 10_000
        for goal_id in large_store.goal_ids:
            assert target.get(goal_id).to_dict() == source.get(goal_id).to_dict()
    # The same events (ids, versions, times, bytes) in the same order, the same command ids;
    # on SQLite the same positions too (a PostgreSQL sequence may number them differently).
    exact = store_url.startswith("sqlite")
    assert _records(ok(store_url, "export").stdout, keep_positions=exact) == \
        _records(large_store.export.read_text(), keep_positions=exact)
    events, commands = _records(ok(store_url, "export").stdout, keep_positions=True)
    at = {e["position"]: (e["goal_id"], e["version"]) for e in events}
    assert [at[c["position"]] for c in commands] == \
        [(c["goal_id"], c["version"]) for c in commands]
    # The read models were built from the imported log.
    status = json_lines(ok(store_url, "projections", "status", "--json").stdout)
    assert [(s["name"], s["lag"]) for s in status] == \
        [("audit", 0), ("outcomes", 0), ("plans", 0), ("reviews", 0)]
    assert len(json_lines(ok(store_url, "goals", "--json").stdout)) == LARGE_GOALS + 1
    # A retried command is recognised by its command id and records nothing.
    _, _, revise = demo_scenario.scenario(TODAY)[6]
    replayed = apply_line(store_url, revise)
    # ... and says where the first run recorded it, in this store's log.
    assert at[replayed.pop("position")] == (DEMO_GOAL, 7)
    assert replayed == {"line": 1, "goal_id": DEMO_GOAL, "version": 7, "event": "Revised",
                        "replayed": True, "retries": 0}
    assert json.loads(ok(store_url, "stats", "--json").stdout)["events"] == large_store.events


@pytest.mark.parametrize("args", [["events"], ["events", "--json"], ["export"]],
                         ids=" ".join)
def test_a_reader_that_stops_early_ends_the_command_quietly(large_store: LargeStore,
                                                            args: list[str]) -> None:
    proc = subprocess.Popen([GOALFLOW, "--db", large_store.url, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_environment())
    assert proc.stdout is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # as `goalflow events | head -1` does
    _, stderr = proc.communicate(timeout=60)

    assert first
    assert (proc.returncode, stderr.decode()) == (0, "")


# -- migrate ---------------------------------------------------------------------


@pytest.mark.postgres
def test_migrate_copies_a_sqlite_store_to_postgresql_and_checks_counts_and_digest(
        clinic: str, clinic_file: Path, postgres_url: str) -> None:
    before = clinic_file.read_bytes()

    result = ok(clinic, "migrate", "--to", postgres_url)

    digest = store_contents(clinic)[0]
    assert store_contents(postgres_url) == (digest, COMMANDS)
    match = re.fullmatch(
        rf"migrated {EVENTS} events and {COMMANDS} command ids to (\S+); read models built;"
        r" counts and content digest match \(sha256 ([0-9a-f]{16})\.\.\.\)\n", result.stdout)
    assert match, result.stdout
    assert match[1] == postgres_url
    assert match[2] == digest[1][:16]
    assert result.stderr == ""
    assert clinic_file.read_bytes() == before  # the source is only read
    # The target is a working store: its read models answer as the source's do.
    assert ok(postgres_url, "goals", "--json").stdout == ok(clinic, "goals", "--json").stdout
    plan = ok(postgres_url, "plan", "client-7", "--all").stdout
    assert plan.startswith(f"{DEMO_GOAL}  completed  terms v3\n")
    assert "  [x] s5 Progressive muscle relaxation for 10 minutes daily" in plan
    audit = ok(postgres_url, "audit", DEMO_GOAL).stdout
    assert "       step removed s2: Meditate for 10 minutes daily\n" in audit
    assert json_lines(ok(postgres_url, "audit", "--json").stdout) == \
        json_lines(ok(clinic, "audit", "--json").stdout)


@pytest.mark.postgres
def test_migrate_refuses_a_target_that_is_not_empty(clinic: str, postgres_url: str,
                                                    tmp_path: Path) -> None:
    ok(clinic, "migrate", "--to", postgres_url)
    before = store_contents(postgres_url)
    # Run again (as after an interruption): the target holds the copy; checked, not redone.
    assert "counts and content digest match" in ok(clinic, "migrate", "--to", postgres_url).stdout
    assert store_contents(postgres_url) == before
    other = f"sqlite:///{tmp_path / 'other.db'}"
    demo_scenario.run(other, TODAY).close()

    error = fails(other, "migrate", "--to", postgres_url)

    assert error.startswith("Error: store postgresql://")
    assert error.endswith(" is not empty (and does not hold this export); import only into an"
                          " empty store\n")
    assert store_contents(postgres_url) == before


# -- stats -----------------------------------------------------------------------


def test_stats_json_counts_events_by_type_goals_by_status_and_subjects(
        clinic: str, clinic_file: Path) -> None:
    figures = json.loads(ok(clinic, "stats", "--json").stdout)

    assert figures == {
        "events": EVENTS,
        "events_by_type": {"Achieved": 1, "AgreedByClient": 3, "ClientDisagreed": 1,
                           "Drafted": 3, "EnteredInError": 1, "ProgressRecorded": 2,
                           "ReviewHeld": 2, "Revised": 2, "StepCompleted": 4},
        "goals": 3,
        "goals_by_status": {"active": 1, "completed": 1, "entered-in-error": 1},
        "subjects": 3,
        "first_recorded_at": f"{day(60)}T10:05:00+00:00",
        "last_recorded_at": f"{day(1)}T09:15:00+00:00",
        "store_bytes": figures["store_bytes"],
        "store": clinic,
    }
    assert figures["store_bytes"] >= clinic_file.stat().st_size > 0


def test_stats_for_people(clinic: str) -> None:
    lines = ok(clinic, "stats").stdout.splitlines()

    assert re.fullmatch(rf"store +{re.escape(clinic)} \([\d,]+ bytes\)", lines[0])
    assert lines[1].split() == ["events", str(EVENTS)]
    assert ["StepCompleted", "4"] in [line.split() for line in lines]
    assert ["entered-in-error", "1"] in [line.split() for line in lines]
    counts = [line for line in lines if line.startswith("  ")]
    assert len(counts) == 9 + 3
    assert len({len(line) for line in counts}) == 1  # the counts are right-aligned
    assert lines[-3:] == ["subjects      3", f"first event   {day(60)}T10:05:00+00:00",
                          f"last event    {day(1)}T09:15:00+00:00"]


# -- PostgreSQL ------------------------------------------------------------------


@pytest.mark.postgres
def test_inspection_gives_the_same_answers_on_postgresql_as_on_sqlite(
        clinic: str, pg_clinic: str) -> None:
    for args in (["events", "--json"], ["goals", "--json"], ["history", SLEEP, "--json"],
                 ["diff", DEMO_GOAL, "6", "8", "--json"],
                 ["show", DEMO_GOAL, "--as-of", day(59), "--json"]):
        assert ok(pg_clinic, *args).stdout == ok(clinic, *args).stdout, args
    on_sqlite, on_postgres = (json.loads(ok(db, "stats", "--json").stdout)
                              for db in (clinic, pg_clinic))
    assert on_postgres.pop("store") == pg_clinic
    assert on_postgres.pop("store_bytes") > 0
    del on_sqlite["store"], on_sqlite["store_bytes"]
    assert on_postgres == on_sqlite


@pytest.mark.postgres
def test_inspecting_a_missing_postgresql_schema_is_an_error_and_creates_nothing(
        postgres_url: str, postgres_server: str) -> None:
    import psycopg

    schema = postgres_url.rpartition("schema=")[2]

    assert fails(postgres_url, "events") == \
        f"Error: {postgres_url} is not a goalflow store (it has no goalflow tables)\n"

    with psycopg.connect(postgres_server, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s",
                           (schema,)).fetchone()
    assert row == (0,)


# -- inspection never writes -----------------------------------------------------


def test_every_inspection_command_leaves_the_database_file_byte_identical(
        clinic_file: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{clinic_file}"
    out = tmp_path / "elsewhere"
    out.mkdir()
    before = clinic_file.read_bytes()
    inspections = [
        ["events"], ["events", "--json", "--type", "Revised", "--since", day(60)],
        ["goals"], ["goals", "--json", "--status", "active"],
        ["history", DEMO_GOAL], ["history", VOIDED, "--json"],
        ["show", DEMO_GOAL, "--as-of", day(59)], ["show", DEMO_GOAL, "--version", "3", "--json"],
        ["diff", DEMO_GOAL, "6", "8"], ["diff", DEMO_GOAL, "6", "8", "--json"],
        ["export"], ["export", "--goal", SLEEP, "--output", str(out / "sleep.jsonl")],
        ["stats"], ["stats", "--json"],
        ["plan", "client-7", "--all"], ["audit", "--json"], ["reviews"],
        ["projections", "status"],
    ]

    for args in inspections:
        ok(url, *args)
        assert clinic_file.read_bytes() == before, args

    side_files = sorted(p.name for p in tmp_path.iterdir() if p.is_file() and p != clinic_file)
    assert set(side_files) <= {"clinic.db-shm", "clinic.db-wal"}
    wal = tmp_path / "clinic.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0


@pytest.mark.parametrize("args", [
    ["events"], ["goals"], ["history", DEMO_GOAL], ["show", DEMO_GOAL],
    ["diff", DEMO_GOAL, "1", "2"], ["export"], ["stats"],
], ids=" ".join)
def test_inspection_of_a_missing_database_file_names_it_and_creates_nothing(
        tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "nowhere.db"

    assert fails(f"sqlite:///{missing}", *args) == f"Error: no goalflow store at {missing}\n"

    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def foreign_file(tmp_path: Path) -> Path:
    """Another application's SQLite database."""
    path = tmp_path / "patients.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE patients (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO patients (name) VALUES ('A. Client')")
    conn.close()
    return path


@pytest.fixture
def corrupt_file(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.db"
    path.write_bytes(os.urandom(16384))
    return path


@pytest.mark.parametrize("args", [["events"], ["goals"], ["export"], ["stats"]], ids=" ".join)
@pytest.mark.parametrize(("kind", "reason"), [
    ("foreign_file", "(it has no goalflow tables)"),
    ("corrupt_file", "(corrupt, or not a database: file is not a database)"),
])
def test_a_file_that_is_not_a_goalflow_store_is_one_error_line_and_stays_as_it_was(
        request: pytest.FixtureRequest, kind: str, reason: str, args: list[str]) -> None:
    path: Path = request.getfixturevalue(kind)
    before = path.read_bytes()

    assert fails(f"sqlite:///{path}", *args) == f"Error: {path} is not a goalflow store {reason}\n"

    assert path.read_bytes() == before


def test_debug_shows_the_traceback(corrupt_file: Path) -> None:
    result = goalflow_exe("--debug", "--db", f"sqlite:///{corrupt_file}", "events")

    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert result.stderr.endswith(f"Error: {corrupt_file} is not a goalflow store (corrupt, or"
                                  " not a database: file is not a database)\n")


def test_an_unreachable_postgresql_server_is_one_error_line() -> None:
    url = "postgresql://postgres@127.0.0.1:5439/test"

    error = fails(url, "events")

    assert error.startswith(f"Error: cannot connect to {url}: ")
    assert "Connection refused" in error
    assert error.count("\n") == 1


@pytest.mark.parametrize(("url", "problem"), [
    ("mysql://localhost/goals", "unsupported store url 'mysql://localhost/goals'"),
    ("postgresql://localhost", "store url 'postgresql://localhost' needs a host and a database"
                               " name"),
    ("postgresql://u:secret@localhost/goals?schema=Bad", "store url"
     " 'postgresql://u:***@localhost/goals?schema=Bad': schema 'Bad' is not a lower-case"
     " identifier"),
], ids=["mysql", "no database", "bad schema"])
def test_a_bad_url_names_the_accepted_forms(url: str, problem: str) -> None:
    error = fails(url, "events")

    assert error == f"Error: {problem}; accepted forms: {ACCEPTED_FORMS}\n"
    assert "secret" not in error


# -- help ------------------------------------------------------------------------


COMMANDS_WITH_HELP = [
    ["apply"], ["show"], ["demo"], ["events"], ["event"], ["goals"], ["history"], ["diff"],
    ["export"], ["import"], ["migrate"], ["stats"], ["plan"], ["audit"], ["reviews"],
    ["outcomes"], ["projections"],
    ["projections", "status"], ["projections", "rebuild"], ["projections", "run"],
    ["projections", "mode"], ["digest"], ["verify"], ["prove"], ["check-proof"],
    ["grant-auditor"], ["config"], ["config", "timezone"], ["forget"], ["hold-retention"],
    ["release-retention"], ["retention-holds"], ["rotate-master-key"], ["new-master-key"],
    ["report"], ["fhir"], ["import-fhir"],
]


def test_goalflow_help_explains_itself_with_an_example() -> None:
    result = goalflow_exe("--help")

    assert result.returncode == 0, result.stderr
    assert "Example" in result.stdout
    for command in ("events", "goals", "history", "show", "diff", "export", "import",
                    "migrate", "stats"):
        assert re.search(rf"^  {command} ", result.stdout, re.MULTILINE), command


@pytest.mark.parametrize("command", COMMANDS_WITH_HELP, ids=" ".join)
def test_each_commands_help_shows_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])

    assert result.exit_code == 0, result.output
    example = re.search(r"^  Examples?:\n((?:    .*\n)+)", result.stdout, re.MULTILINE)
    assert example, result.stdout
    assert re.search(rf"goalflow .*\b{command[-1]}\b", example[1]), result.stdout


def test_the_help_tests_cover_every_command() -> None:
    def names(group: click.Group, prefix: list[str]) -> list[list[str]]:
        found = []
        for name, command in group.commands.items():
            found.append([*prefix, name])
            if isinstance(command, click.Group):
                found += names(command, [*prefix, name])
        return found

    assert sorted(names(cli, [])) == sorted(COMMANDS_WITH_HELP)


def test_on_a_terminal_a_long_list_goes_through_the_pager(clinic: str) -> None:
    shown, stderr, code = on_terminal("--db", clinic, "events", pager="sed s/^/PAGED:/")
    assert (code, stderr) == (0, "")
    lines = shown.splitlines()
    assert len(lines) == EVENTS
    assert all(click.unstyle(line).startswith("PAGED:#") for line in lines)
    assert "\x1b[" in shown  # colours reach the pager (less -R shows them)


def test_no_pager_and_a_pipe_print_straight_out(clinic: str) -> None:
    shown, _, code = on_terminal("--db", clinic, "--no-pager", "events",
                                 pager="sed s/^/PAGED:/")
    assert code == 0
    assert "PAGED:" not in shown
    piped = subprocess.run([GOALFLOW, "--db", clinic, "events"], capture_output=True,
                           text=True, env={**_environment(), "PAGER": "sed s/^/PAGED:/"},
                           check=False)
    assert "PAGED:" not in piped.stdout
    assert len(piped.stdout.splitlines()) == EVENTS


def test_without_pager_set_less_pages_and_quits_when_it_fits(clinic: str) -> None:
    if shutil.which("less") is None:
        pytest.skip("less is not installed")
    shown, _, code = on_terminal("--db", clinic, "events", "-n", "3", pager="")
    assert code == 0
    assert click.unstyle(shown).count("#") >= 3
