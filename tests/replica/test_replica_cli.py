"""goalflow's command line against a real PostgreSQL hot standby: the installed executable,
one process per command, with ``--db`` the replica's url.

Every read command gives on the replica what it gives on the primary; every write command
fails with one line saying the store is a read-only replica; ``apply`` prints the position
of each command, which ``--min-position`` then waits for on the replica; ``projections
status`` says how far behind the replica is.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from standby import Replicated, Servers, replica_script, schema_on

from goalflow import demo as demo_scenario
from goalflow.cli import cli

GOALFLOW = str(Path(sys.executable).parent / "goalflow")
DEMO_GOAL = str(demo_scenario.DEMO_GOAL_ID)
TODAY = date.today()
CLINICIAN = {"id": "dr-okafor", "role": "clinician"}


def goalflow(db: str, *args: str, input: str | None = None
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GOALFLOW, "--db", db, *args], input=input, capture_output=True,
                          text=True, timeout=120, check=False)


def ok(db: str, *args: str, input: str | None = None) -> str:
    result = goalflow(db, *args, input=input)
    assert result.returncode == 0, result.stderr
    return result.stdout


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if not line.startswith("Warning:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def clinic(replica_servers: Servers, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Replicated]:
    """The demo scenario on the primary, replayed on the replica; for reading only."""
    with schema_on(replica_servers) as replicated:
        demo_scenario.run(replicated.primary, TODAY).close()
        in_process(replicated.primary, "apply", "-", input=active_goal_lines())
        replica_servers.caught_up()
        yield replicated


def in_process(db: str, *args: str, input: str | None = None) -> str:
    """A command's output, run in this process (quicker: for the primary's side)."""
    result = CliRunner().invoke(cli, ["--db", db, *args], input=input)
    assert result.exit_code == 0, result.output
    return result.stdout


def same_on_both(clinic: Replicated, *args: str) -> tuple[str, str]:
    """The output of a command on the primary and on the replica, with each store's url
    (which the output may name) written the same."""
    primary = in_process(clinic.primary, *args)
    replica = (ok if args[0] in IN_A_PROCESS else in_process)(clinic.replica, *args)
    if args[0] == "export":  # its header says when it was made
        primary, replica = (re.sub(r'"exported_at":"[^"]+"', "", out) for out in (primary,
                                                                                  replica))
    return primary.replace(clinic.primary, "STORE"), replica.replace(clinic.replica, "STORE")


# Run on the replica as separate processes; the rest of READS in this one (the same code,
# quicker).
IN_A_PROCESS = {"show", "events", "export", "verify", "fhir"}
READS = [
    ("show", DEMO_GOAL), ("show", DEMO_GOAL, "--version", "4", "--json"),
    ("history", DEMO_GOAL, "--json"), ("events", "--json"), ("event", "3"),
    ("goals", "--json"), ("plan", "client-7", "--all", "--json"), ("audit", DEMO_GOAL),
    ("audit", "--json"), ("reviews", "--as-of", TODAY.isoformat(), "--json"),
    ("export",), ("diff", DEMO_GOAL, "3", "8"), ("verify",), ("fhir", DEMO_GOAL),
    ("fhir", "--subject", "client-7", "--all"), ("outcomes", "client-7", "--json"),
    ("outcomes", "--service", "--json"), ("config", "timezone"),
]


@pytest.mark.parametrize("args", READS, ids=[" ".join(a[:1] + a[2:]) for a in READS])
def test_a_read_command_on_the_replica_prints_what_it_prints_on_the_primary(
        clinic: Replicated, args: tuple[str, ...]) -> None:
    primary, replica = same_on_both(clinic, *args)
    assert replica == primary
    assert replica.strip()


def test_stats_digest_prove_report_and_migrate_read_the_replica(clinic: Replicated,
                                                                tmp_path: Path) -> None:
    # Each output holds the store's url, its size or the time: compared by what is the log's.
    stats = [json.loads(ok(url, "stats", "--json")) for url in (clinic.primary, clinic.replica)]
    for figures in stats:
        figures.pop("store")
        figures.pop("store_bytes")
    assert stats[1] == stats[0]
    assert stats[0]["events"] == 17
    digests = [json.loads(ok(url, "digest", "--json")) for url in (clinic.primary,
                                                                    clinic.replica)]
    assert (digests[1]["size"], digests[1]["root"]) == (digests[0]["size"], digests[0]["root"])
    digest = tmp_path / "digest.json"
    digest.write_text(json.dumps(digests[0]))
    proof = tmp_path / "proof.json"
    ok(clinic.replica, "prove", DEMO_GOAL, "--digest", str(digest), "-o", str(proof))
    assert json.loads(proof.read_text()) == json.loads(ok(clinic.primary, "prove", DEMO_GOAL,
                                                          "--digest", str(digest)))
    assert ok(clinic.replica, "verify", "--digest", str(digest))
    page = tmp_path / "goal.html"
    ok(clinic.replica, "report", DEMO_GOAL, "-o", str(page))
    assert "By the end of next month I use relaxation" in page.read_text()
    # migrate reads its source: a replica is one (the copy is checked against it).
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    ok(clinic.replica, "migrate", "--to", copy)
    assert ok(copy, "export").splitlines()[1:] == \
        ok(clinic.primary, "export").splitlines()[1:]


def write_commands(tmp_path: Path) -> list[tuple[str, ...]]:
    line = json.dumps({"command": "hold", "goal_id": DEMO_GOAL, "by": CLINICIAN,
                       "reason": "away", "command_id": "ehr-1"})
    commands = tmp_path / "commands.jsonl"
    commands.write_text(line + "\n")
    demo, export = tmp_path / "demo.db", tmp_path / "export.jsonl"
    in_process(f"sqlite:///{demo}", "demo", "--out", str(demo))
    export.write_text(in_process(f"sqlite:///{demo}", "export"))
    return [
        ("apply", str(commands)), ("apply", "--atomic", str(commands)),
        ("config", "timezone", "Europe/London"), ("projections", "rebuild"),
        ("projections", "rebuild", "audit"), ("projections", "mode", "audit", "worker"),
        ("projections", "run", "audit"), ("import-fhir", "-", "--by", "dr-okafor"),
        ("import", str(export)),
    ]


def test_every_write_command_on_the_replica_fails_in_one_line(clinic: Replicated,
                                                               tmp_path: Path) -> None:
    resource = ok(clinic.primary, "fhir", DEMO_GOAL)
    for args in write_commands(tmp_path):
        result = goalflow(clinic.replica, *args, input=resource)
        line = one_error_line(result)
        assert line.startswith(f"Error: {'line 1: ' if args[0] == 'apply' else ''}store"
                               f" {clinic.replica} is a read-only replica (a PostgreSQL hot"
                               " standby): "), (args, line)
        assert line.endswith(" refused; send writes to the primary"), (args, line)
    # Under --json, the error's kind says what it is.
    result = goalflow(clinic.replica, "apply", "--json", "-",
                      input=json.dumps({"command": "hold", "goal_id": DEMO_GOAL,
                                        "by": CLINICIAN, "reason": "away"}))
    error = json.loads(one_error_line(result))
    assert error["error"] == "ReadOnlyReplica"
    assert "is a read-only replica" in error["message"]
    # A write goalflow does not guard itself: PostgreSQL refuses it, and the error says so.
    result = goalflow(clinic.replica, "grant-auditor", "auditor_on_replica")
    assert "the store is read-only here (a read replica" in one_error_line(result)
    assert json.loads(ok(clinic.primary, "stats", "--json"))["events"] == 17


def active_goal_lines() -> str:
    """A second client's goal: drafted and signed (active), as apply takes it."""
    goal = "5b5b5b5b-5b5b-4b5b-8b5b-5b5b5b5b5b5b"
    client = {"id": "client-9", "role": "client"}
    return "\n".join(json.dumps(line) for line in [
        {"command": "draft", "goal_id": goal, "by": CLINICIAN,
         "subject": {"kind": "client", "id": "client-9"},
         "statement": "By the end of next month I sleep through the night five nights a"
                      " week, measured by my sleep diary",
         "client_words": "I want to wake up rested", "addresses": ["insomnia"],
         "strengths": ["keeps a diary"],
         "measures": [{"name": "ISI", "baseline": 18, "target": 8}],
         "steps": ["No screens after ten"],
         "target_date": (TODAY + timedelta(days=30)).isoformat(), "command_id": "ehr-1"},
        {"command": "agree", "goal_id": goal, "by": client, "terms_version": 1,
         "method": "signature", "command_id": "ehr-2"},
    ]) + "\n"


SLEEP_GOAL = "5b5b5b5b-5b5b-4b5b-8b5b-5b5b5b5b5b5b"


def hold_line(command_id: str) -> str:
    return json.dumps({"command": "hold", "goal_id": SLEEP_GOAL, "by": CLINICIAN,
                       "reason": "Travelling", "command_id": command_id}) + "\n"


def test_apply_prints_each_command_s_position_and_show_waits_for_it_on_the_replica(
        replicated: Replicated) -> None:
    servers = replicated.servers
    applied = [json.loads(line) for line in
               ok(replicated.primary, "apply", "-", input=active_goal_lines()).splitlines()]
    events = [json.loads(line) for line in ok(replicated.primary, "events", "--json")
              .splitlines()]
    assert [a["position"] for a in applied] == [e["position"] for e in events]
    servers.caught_up()
    servers.pause_replay()
    try:
        held = json.loads(ok(replicated.primary, "apply", "-", input=hold_line("ehr-3")))
        position = held["position"]
        assert position > applied[-1]["position"]
        # Not replayed: without --min-position the replica shows the goal as it was...
        assert json.loads(ok(replicated.replica, "show", SLEEP_GOAL, "--json"))["status"] \
            == "active"
        # ... with it, it waits, and says how far behind it is when the wait is over.
        line = one_error_line(goalflow(replicated.replica, "show", SLEEP_GOAL,
                                       "--min-position", str(position), "--wait", "0.3"))
        behind = position - applied[-1]["position"]
        assert line == (f"Error: replica {replicated.replica} has replayed the log up to"
                        f" position {applied[-1]['position']}, {behind} short of position"
                        f" {position}, after waiting 0.3 s (replay lag "
                        f"{line.rpartition('replay lag ')[2]}")
        error = json.loads(one_error_line(goalflow(
            replicated.replica, "--min-position", str(position), "--wait", "0.2", "goals",
            "--json")))
        assert error["error"] == "ReplicaBehind"
        # A read that waits long enough sees the hold once replay resumes.
        waiting = subprocess.Popen(
            [GOALFLOW, "--db", replicated.replica, "show", SLEEP_GOAL, "--json",
             "--min-position", str(position), "--wait", "60"], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        threading.Timer(1.0, servers.resume_replay).start()
        out, err = waiting.communicate(timeout=120)
    finally:
        servers.resume_replay()
    assert waiting.returncode == 0, err
    goal = json.loads(out)
    assert (goal["status"], goal["version"]) == ("on-hold", held["version"])
    # The same from the root option, for any read: the read models have it too.
    listed = ok(replicated.replica, "--min-position", str(position), "goals", "--json")
    assert [json.loads(g)["status"] for g in listed.splitlines()] == ["on-hold"]
    # A retry is a replay: it gives the position the command was first recorded at.
    again = json.loads(ok(replicated.primary, "apply", "-", input=hold_line("ehr-3")))
    assert (again["replayed"], again["position"]) == (True, position)


def status_lines(url: str, *args: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in
            ok(url, "projections", "status", "--json", *args).splitlines()]


def test_projections_status_on_the_replica_shows_its_replay_lag(
        replicated: Replicated) -> None:
    servers = replicated.servers
    first = ok(replicated.primary, "apply", "-", input=active_goal_lines()).splitlines()
    replayed = json.loads(first[-1])["position"]
    servers.caught_up()
    # On the primary: the read models, and no replica line.
    text = ok(replicated.primary, "projections", "status")
    assert "replica" not in text
    assert [r["name"] for r in status_lines(replicated.primary)] == \
        ["audit", "outcomes", "plans", "reviews"]
    assert "is not a replica" in goalflow(replicated.primary, "projections", "status",
                                          "--primary", replicated.primary).stderr
    servers.pause_replay()
    try:
        ok(replicated.primary, "apply", "-", input=hold_line("ehr-3") + json.dumps(
            {"command": "resume", "goal_id": SLEEP_GOAL, "by": CLINICIAN,
             "command_id": "ehr-4"}) + "\n")
        text = ok(replicated.replica, "projections", "status", "--primary",
                  replicated.primary)
        rows = status_lines(replicated.replica, "--primary", replicated.primary)
    finally:
        servers.resume_replay()
    last = text.strip().splitlines()[-1]
    assert re.fullmatch(
        rf"replica: replayed up to position {replayed}, 2 events behind the primary \(at"
        rf" \d+; the oldest of them recorded \d+\.\d s ago\); replay lag (\d+\.\d s|unknown)"
        r" \(\d+ bytes of WAL received, not yet replayed\)", last), last
    *projections, replica = rows
    assert [(p["name"], p["position"], p["lag"]) for p in projections] == \
        [(name, replayed, 0) for name in ("audit", "outcomes", "plans", "reviews")]
    assert replica["replica"]["position"] == replayed
    assert replica["replica"]["events_behind"] == 2
    assert replica["replica"]["primary_head"] > replayed
    assert replica["replica"]["wal_bytes_behind"] > 0
    # Caught up: nothing behind.
    servers.caught_up()
    *_, replica = status_lines(replicated.replica, "--primary", replicated.primary)
    assert (replica["replica"]["events_behind"], replica["replica"]["behind_seconds"]) == (0, 0)
    # Without --primary it says what the replica knows by itself.
    *_, alone = status_lines(replicated.replica)
    assert alone["replica"]["primary_head"] is None
    assert alone["replica"]["position"] == replica["replica"]["primary_head"]


def test_scripts_replica_start_on_a_running_replica_says_so(replica_servers: Servers) -> None:
    again = replica_script("start", replica_servers.port, replica_servers.directory,
                           replica_servers.primary_port)
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stderr
    assert again.stdout.strip() == f"postgresql://postgres@127.0.0.1:{replica_servers.port}/test"
    status = replica_script("status", replica_servers.port, replica_servers.directory,
                            replica_servers.primary_port)
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith(f"running on port {replica_servers.port}")
