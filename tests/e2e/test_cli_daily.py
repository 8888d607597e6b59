"""The CLI in daily use: apply's dry run, keep-going and atomic modes, pipes that batch,
errors as JSON under --json, Ctrl-C, colour."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_cli import CLIENT, GOAL_ID, agree_line, draft_line, jsonl

import goalflow
from goalflow.cli import cli

EXE = shutil.which("goalflow", path=str(Path(sys.executable).parent))


@pytest.fixture
def db(store_url: str) -> str:
    return store_url


def run(db: str, *args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, ["--db", db, *args], input=input)


def step_line(step: str, command_id: str) -> dict[str, object]:
    return {"command": "complete_step", "goal_id": GOAL_ID, "by": CLIENT, "step_id": step,
            "command_id": command_id}


def event_count(db: str) -> int:
    with goalflow.open(db, readonly=True) as goals, \
            goals.store.recorder.transaction(commit=False) as tx:
        return goals.store.count(tx, upto=goals.store.head(tx))


# -- apply --dry-run ---------------------------------------------------------------


def test_a_dry_run_judges_every_line_and_records_nothing(db: str, tmp_path: Path) -> None:
    goalflow.open(db).close()
    path = tmp_path / "commands.jsonl"
    path.write_text(jsonl(draft_line(), agree_line(), step_line("s1", "c-3"),
                          step_line("s1", "c-4"), "not json", step_line("s2", "c-6")))

    result = run(db, "apply", str(path), "--dry-run")

    assert result.exit_code == 1
    results = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["line"], r["ok"]) for r in results] == [
        (1, True), (2, True), (3, True), (4, False), (5, False), (6, True)]
    assert [r.get("event") for r in results if r["ok"]] == [
        "Drafted", "AgreedByClient", "StepCompleted", "StepCompleted"]
    refused = results[3]
    assert refused["error"] == "InvalidTransition"
    assert refused["message"].startswith("line 4: ")
    assert refused["goal_id"] == GOAL_ID
    assert results[4]["message"].startswith("line 5: not valid JSON")
    assert result.stderr.strip() == ("Dry run: 4 line(s) would be recorded, 2 refused;"
                                     " nothing was recorded")
    assert event_count(db) == 0


def test_a_dry_run_of_lines_already_applied_says_they_are_replays(db: str, tmp_path: Path
                                                                  ) -> None:
    path = tmp_path / "commands.jsonl"
    path.write_text(jsonl(draft_line(), agree_line()))
    assert run(db, "apply", str(path)).exit_code == 0

    result = run(db, "apply", str(path), "--dry-run")

    assert result.exit_code == 0, result.output
    assert [json.loads(line)["replayed"] for line in result.stdout.splitlines()] == [True,
                                                                                     True]


def test_a_dry_run_of_a_store_that_is_not_there_is_refused(tmp_path: Path) -> None:
    result = run(f"sqlite:///{tmp_path / 'none.db'}", "apply", "-", "--dry-run",
                 input=jsonl(draft_line()))
    assert result.exit_code == 1
    assert "no goalflow store" in result.stderr
    assert not (tmp_path / "none.db").exists()


# -- apply --keep-going --rejects ----------------------------------------------------


def test_keep_going_applies_what_it_can_and_writes_the_refused_lines(db: str,
                                                                   tmp_path: Path) -> None:
    rejects = tmp_path / "refused.jsonl"
    lines = jsonl(draft_line(), agree_line(), step_line("s1", "c-3"),
                  step_line("s1", "c-4"), "{oops", step_line("s2", "c-6"))

    result = run(db, "apply", "-", "--keep-going", "--rejects", str(rejects), input=lines)

    assert result.exit_code == 1
    assert [json.loads(line)["line"] for line in result.stdout.splitlines()] == [1, 2, 3, 6]
    assert result.stderr.splitlines()[-1] == (f"2 line(s) refused; they are in {rejects};"
                                              " the others are recorded")
    written = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(w["line"], w["error"]) for w in written] == [(4, "InvalidTransition"),
                                                          (5, "LineError")]
    assert json.loads(written[0]["input"]) == step_line("s1", "c-4")
    assert written[1]["input"] == "{oops"
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    assert goalflow.open(db, readonly=True).get(GOAL_ID).version == 4


def test_keep_going_with_every_line_good_exits_zero(db: str) -> None:
    result = run(db, "apply", "-", "--keep-going", input=jsonl(draft_line(), agree_line()))
    assert result.exit_code == 0, result.output
    assert "refused" not in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--rejects", "r.jsonl"], "--rejects goes with --keep-going"),
    (["--dry-run", "--atomic"], "give one of --dry-run, --atomic, not several"),
    (["--atomic", "--batch", "5"], "--batch does not apply"),
])
def test_options_that_do_not_go_together_are_refused(db: str, args: list[str],
                                                     message: str) -> None:
    result = run(db, "apply", "-", *args, input=jsonl(draft_line()))
    assert result.exit_code == 2
    assert message in result.stderr
    assert not Path("r.jsonl").exists()


# -- apply --atomic --------------------------------------------------------------------


def test_atomic_records_the_whole_file_or_nothing(db: str) -> None:
    bad = run(db, "apply", "-", "--atomic",
              input=jsonl(draft_line(), agree_line(), step_line("s9", "c-3")))
    assert bad.exit_code == 1
    assert bad.stdout == ""
    assert "line 3: " in bad.stderr
    assert event_count(db) == 0

    good = run(db, "apply", "-", "--atomic", input=jsonl(draft_line(), agree_line()))
    assert good.exit_code == 0, good.output
    assert [json.loads(line)["event"] for line in good.stdout.splitlines()] == [
        "Drafted", "AgreedByClient"]


# -- a pipe batches what has come ----------------------------------------------------------


@pytest.mark.slow
def test_a_pipe_records_each_line_at_once_when_nothing_more_has_come(db: str) -> None:
    assert EXE is not None
    process = subprocess.Popen([EXE, "--db", db, "apply", "-"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        process.stdin.write(jsonl(draft_line()).encode())
        process.stdin.flush()
        first = json.loads(process.stdout.readline())  # recorded before the next line
        assert first["event"] == "Drafted"
        assert event_count(db) == 1
        process.stdin.write(jsonl(agree_line()).encode())
        process.stdin.close()
        assert json.loads(process.stdout.readline())["event"] == "AgreedByClient"
    finally:
        if not process.stdin.closed:
            process.stdin.close()
        process.wait(timeout=60)
        process.stdout.close()
        assert process.stderr is not None
        err = process.stderr.read()
        process.stderr.close()
    assert process.returncode == 0, err.decode()


# -- errors as JSON, Ctrl-C, colour --------------------------------------------------------


def test_under_json_an_error_is_a_json_object_on_stderr(db: str) -> None:
    goalflow.open(db).close()
    result = run(db, "show", "0b6a2f4e-8c1d-4f5e-9a7b-000000000000", "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert json.loads(result.stderr) == {
        "error": "GoalNotFound",
        "message": "goal 0b6a2f4e-8c1d-4f5e-9a7b-000000000000 not found",
        "line": None, "field": None, "goal_id": "0b6a2f4e-8c1d-4f5e-9a7b-000000000000"}


def test_under_json_a_bad_line_names_its_line_and_field(db: str) -> None:
    result = run(db, "apply", "-", "--json", input=jsonl(draft_line(statement=7)))
    assert result.exit_code == 1
    error = json.loads(result.stderr.splitlines()[-1])
    assert (error["error"], error["line"], error["field"]) == ("InvalidCommand", 1,
                                                               "statement")
    assert error["message"].startswith("line 1: statement")


def test_under_json_a_usage_error_is_json_too(db: str) -> None:
    result = run(db, "show", "x", "--json", "--version", "0")
    assert result.exit_code == 2
    assert json.loads(result.stderr)["error"] == "UsageError"


def test_without_json_an_error_is_one_line(db: str) -> None:
    goalflow.open(db).close()
    result = run(db, "show", "0b6a2f4e-8c1d-4f5e-9a7b-000000000000")
    assert result.stderr == "Error: goal 0b6a2f4e-8c1d-4f5e-9a7b-000000000000 not found\n"


def test_ctrl_c_exits_130(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    goalflow.open(db).close()

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(goalflow.Goals, "goal_index", interrupted)
    result = run(db, "goals")
    assert result.exit_code == 130
    assert result.stderr == "Interrupted.\n"


@pytest.mark.parametrize("how", ["--no-color", "NO_COLOR"])
def test_no_color_leaves_out_the_colours_on_a_terminal(db: str, how: str) -> None:
    run(db, "apply", "-", input=jsonl(draft_line()))
    args = ["--db", db, "--no-color", "goals"] if how == "--no-color" else [
        "--db", db, "goals"]
    env = {"NO_COLOR": "1"} if how == "NO_COLOR" else {}
    coloured = CliRunner().invoke(cli, ["--db", db, "goals"], color=True)
    plain = CliRunner().invoke(cli, args, color=True, env=env)
    assert "\x1b[" in coloured.stdout
    assert "\x1b[" not in plain.stdout
    assert "proposed" in plain.stdout


def test_lines_that_have_all_come_down_a_pipe_go_in_full_batches(tmp_path: Path) -> None:
    from goalflow.cli.writing import _Source

    lines = jsonl(*[draft_line(command_id=f"d-{n}") for n in range(120)]).encode()
    assert len(lines) < 60_000  # all of it fits in the pipe's buffer
    path = tmp_path / "drafts.jsonl"
    path.write_bytes(lines)
    read, write = os.pipe()
    with os.fdopen(write, "wb") as sender:
        sender.write(lines)  # all of it waits in the pipe before the first read
    with os.fdopen(read, "rb") as pipe:
        sizes = [len(b) for b in _Source(pipe).batches(50, lambda: False,
                                                       lambda *_: None)]
    assert sizes == [50, 50, 20]
    with path.open("rb") as file:
        assert [len(b) for b in _Source(file).batches(50, lambda: False,
                                                      lambda *_: None)] == [50, 50, 20]


# -- reading a store ---------------------------------------------------------------------

DEMO_GOAL = "7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
UNKNOWN = "7a1f3e2c-5b6d-4e8f-9a0b-000000000000"


@pytest.fixture
def demo(tmp_path: Path) -> str:
    result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path / "demo.db")])
    assert result.exit_code == 0, result.output
    return f"sqlite:///{tmp_path / 'demo.db'}"


@pytest.mark.parametrize("args", [
    ["audit", UNKNOWN], ["events", "--goal", UNKNOWN], ["history", UNKNOWN],
    ["show", UNKNOWN], ["diff", UNKNOWN, "1"], ["diff", UNKNOWN, "1", "2"],
])
def test_an_unknown_goal_id_is_an_error_everywhere(demo: str, args: list[str]) -> None:
    result = run(demo, *args)
    assert result.exit_code == 1, result.output
    assert result.stderr == f"Error: goal {UNKNOWN} not found\n"


def test_diff_with_one_version_goes_to_the_latest_in_words(demo: str) -> None:
    result = run(demo, "diff", DEMO_GOAL, "1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    latest = goalflow.open(demo, readonly=True).get(DEMO_GOAL).version
    assert lines[0] == f"Goal {DEMO_GOAL}: version 1 -> {latest}"
    assert "  steps.s1.status: open -> completed" in lines
    assert "  steps.s2: removed s2 Meditate for 10 minutes daily (open)" in lines
    assert "  agreements: added client-7 agreed to terms v2 (signature)" in lines
    assert not any("{" in line for line in lines)  # no JSON blobs


def test_event_shows_the_one_event_at_a_position(demo: str) -> None:
    shown = run(demo, "event", "3", "--json")
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.stdout)
    assert (record["position"], record["type"], record["version"]) == (3, "Revised", 3)
    text = run(demo, "event", "3").stdout
    assert text.startswith("#3 ")
    assert "reason: Client asked for exercise she can do at home" in text


def test_event_past_the_end_of_the_log_is_an_error(demo: str) -> None:
    result = run(demo, "event", "999")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no event at position 999: the log holds"
                                    " positions 1 to ")


def test_show_of_a_finished_goal_has_no_next_review(demo: str) -> None:
    finished = run(demo, "show", DEMO_GOAL).stdout
    assert "completed" in finished.splitlines()[0]
    assert "Next review" not in finished
    open_one = run(demo, "show", DEMO_GOAL, "--version", "9").stdout
    assert "Next review" in open_one


# -- paging, formats, the clinical axis ----------------------------------------------------


def positions(result: Any) -> list[int]:
    assert result.exit_code == 0, result.output
    return [json.loads(line)["position"] for line in result.stdout.splitlines()]


@pytest.mark.parametrize("command", ["events", "audit"])
def test_the_log_lists_page_both_ways(demo: str, command: str) -> None:
    assert positions(run(demo, command, "--json", "-n", "3")) == [15, 14, 13]
    assert positions(run(demo, command, "--json", "--limit", "2", "--offset", "3")) == [4, 5]
    assert positions(run(demo, command, "--json", "--reverse", "--before", "4")) == [3, 2, 1]
    assert positions(run(demo, command, "--json", "--after", "12")) == [13, 14, 15]
    assert positions(run(demo, command, "--json", "--after", "2", "--before", "5")) == [3, 4]


@pytest.mark.parametrize(("command", "key"), [("goals", "goal_id"), ("reviews", "goal_id")])
def test_the_read_model_lists_page_both_ways(db: str, command: str, key: str) -> None:
    """--limit/--offset are paged by the query; --reverse and -n turn the whole list."""
    with goalflow.open(db) as goals:
        for n in range(5):
            client = f"client-{n}"
            goal = goals.draft(goalflow.Subject.client(client), f"Walk every day, week {n}",
                               by=goalflow.Actor("dr-lee", "clinician"),
                               target_date=date(2027, 3, 1), steps=["Walk after lunch"],
                               measures=[goalflow.Measure("GAD-7", baseline=15, target=7)],
                               addresses=["generalised anxiety disorder"])
            goals.agree(goal, by=goalflow.Actor(client, "client"), terms_version=1,
                        method="signature")

    def listed(*args: str) -> list[str]:
        result = run(db, command, "--json", *args)
        assert result.exit_code == 0, result.output
        return [json.loads(line)[key] for line in result.stdout.splitlines()]

    whole = listed()
    assert len(whole) == 5
    assert listed("--limit", "2", "--offset", "1") == whole[1:3]
    assert listed("--offset", "3") == whole[3:]
    assert listed("--reverse") == whole[::-1]
    assert listed("-n", "2") == whole[::-1][:2]
    assert listed("--reverse", "--limit", "2", "--offset", "1") == whole[::-1][1:3]


def test_history_pages_newest_first(demo: str) -> None:
    result = run(demo, "history", DEMO_GOAL, "--json", "-n", "2")
    assert [json.loads(line)["version"] for line in result.stdout.splitlines()] == [15, 14]


@pytest.mark.parametrize(("args", "message"), [
    (["events", "-n", "2", "--limit", "2"], "give -n or --limit, not both"),
    (["events", "--after", "5", "--before", "6"], "no position is after 5 and before 6"),
    (["events", "--csv", "--json"], "give one of --json, --csv, not several"),
    (["events", "--fields", "type"], "--fields goes with --csv, --tsv or --json"),
    (["events", "--follow", "--reverse"], "--follow goes forward"),
])
def test_paging_and_format_options_that_do_not_go_together(demo: str, args: list[str],
                                                          message: str) -> None:
    result = run(demo, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_events_as_csv_with_chosen_fields(demo: str) -> None:
    result = run(demo, "events", "--csv", "--fields", "position,type,actor.id,data.reason",
                 "--limit", "3")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "position,type,actor.id,data.reason",
        "1,Drafted,dr-okafor,",
        "2,ClientDisagreed,client-7,Sitting still makes me restless; I want to move more",
        "3,Revised,dr-okafor,Client asked for exercise she can do at home",
    ]


def test_an_unknown_field_is_refused_before_anything_is_printed(demo: str) -> None:
    result = run(demo, "events", "--csv", "--fields", "position,colour")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: --fields: no field 'colour' (fields: position,")


@pytest.mark.parametrize(("command", "header"), [
    (["goals"], "goal_id\tsubject_kind\tsubject_id\tstatus"),
    (["audit"], "position\tgoal_id\tversion\tevent_type"),
    (["plan", "client-7", "--all"], "goal_id\tsubject_kind\tsubject_id\tstatus"),
    (["reviews"], "due_on\toverdue\tdays_overdue\tbasis"),
])
def test_every_list_prints_tsv_with_a_header(demo: str, command: list[str],
                                             header: str) -> None:
    result = run(demo, *command, "--tsv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith(header)


def test_json_with_fields_keeps_just_those(demo: str) -> None:
    result = run(demo, "audit", "--json", "--fields", "position,actor_id", "--limit", "1")
    assert json.loads(result.stdout) == {"position": 1, "actor_id": "dr-okafor"}


def test_the_clinical_axis_filters_by_when_it_happened(demo: str) -> None:
    """Event 3 was recorded at 10:15 on 5 October but happened at 10:00 (the demo's late
    entries): by record time it is after 10:10, by clinical time before."""
    with goalflow.open(demo, readonly=True) as goals:
        history = goals.history(DEMO_GOAL)
    occurred = [e.occurred_at for e in history]
    cut = occurred[8].isoformat()
    happened_before = [n + 1 for n, moment in enumerate(occurred) if moment <= occurred[8]]
    for command in ("events", "audit"):
        got = positions(run(demo, command, "--json", "--occurred-until", cut))
        assert got == happened_before
        later = positions(run(demo, command, "--json", "--occurred-since", cut))
        assert later == [n + 1 for n, m in enumerate(occurred) if m >= occurred[8]]

