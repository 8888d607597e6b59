"""The CLI's manners: shell completion, lag warnings from worker-mode read models, lines that
fit the terminal, no next review for a finished goal, and the README's command reference."""

from __future__ import annotations

import importlib.util
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
import pytest
from click.shell_completion import ShellComplete
from click.testing import CliRunner, Result

from goalflow import demo as demo_scenario
from goalflow.cli import cli
from goalflow.domain.goal import EVENT_TYPES
from goalflow.projection import discover

ROOT = Path(__file__).resolve().parents[2]
EXE = shutil.which("goalflow", path=str(Path(sys.executable).parent))
DEMO_GOAL = str(demo_scenario.DEMO_GOAL_ID)
OTHER_GOAL = "7a1f3e2c-0000-4000-8000-000000000001"  # shares the demo goal's first 8 digits
CLINICIAN = {"id": "dr-okafor", "role": "clinician"}


def run(db: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", db, *args], input=input,
                              env={"GOALFLOW_REVIEW_INTERVAL_DAYS": None})


def ok(db: str, *args: str, **kwargs: Any) -> Result:
    result = run(db, *args, **kwargs)
    assert result.exit_code == 0, result.output
    return result


def draft(goal_id: str, subject: str = "client-7") -> str:
    return json.dumps({"command": "draft", "goal_id": goal_id, "by": CLINICIAN,
                       "subject": {"kind": "client", "id": subject},
                       "statement": "Walk to the shops alone twice a week",
                       "steps": ["Walk to the corner"], "command_id": f"draft-{goal_id}"}) + "\n"


@pytest.fixture
def demo(store_url: str) -> str:
    """The demo scenario's store, of each kind, with a second goal whose id shares the demo
    goal's first digits."""
    demo_scenario.run(store_url, date.today()).close()
    ok(store_url, "apply", "-", input=draft(OTHER_GOAL))
    return store_url


def completions(args: list[str], incomplete: str, env: dict[str, str] | None = None
                ) -> list[str]:
    """What click's shell completion offers for ``goalflow ARGS INCOMPLETE``."""
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        complete = ShellComplete(cli, {}, "goalflow", "_GOALFLOW_COMPLETE")
        return [item.value for item in complete.get_completions(args, incomplete)]
    finally:
        os.environ.clear()
        os.environ.update(saved)


# -- shell completion ------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["show"], ["history"], ["audit"], ["diff"], ["prove"],
                                  ["fhir"], ["report"], ["events", "--goal"],
                                  ["export", "--goal"]])
def test_goal_ids_complete_from_the_store_by_prefix(demo: str, args: list[str]) -> None:
    assert completions(["--db", demo, *args], "7a1f3e2c") == sorted([DEMO_GOAL, OTHER_GOAL])
    assert completions(["--db", demo, *args], "7A1F3E2C-5") == [DEMO_GOAL]
    assert completions(["--db", demo, *args], "ff") == []


def test_goal_ids_complete_from_the_store_in_goalflow_db(demo: str) -> None:
    assert completions(["show"], "7a1f3e2c-0", env={"GOALFLOW_DB": demo}) == [OTHER_GOAL]


def test_goal_id_completion_of_a_store_that_cannot_be_opened_offers_nothing(
        tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    not_sqlite = tmp_path / "notes.db"
    not_sqlite.write_text("not a database\n" * 100)
    for url in (f"sqlite:///{missing}", f"sqlite:///{not_sqlite}", "nosuch://x",
                "postgresql://nobody@127.0.0.1:1/none"):
        assert completions(["--db", url, "show"], "7a") == []
    assert not missing.exists()  # completion never creates a store


def test_event_types_complete_for_events_type_and_audit_event() -> None:
    assert completions(["events", "--type"], "Re") == [
        t for t in EVENT_TYPES if t.startswith("Re")]
    assert "Revised" in completions(["audit", "--event"], "re")
    assert completions(["audit", "--event"], "") == list(EVENT_TYPES)
    assert completions(["events", "--type"], "Nothing") == []


def test_projection_names_complete_for_the_projections_commands() -> None:
    names = sorted(p.name for p in discover())
    assert completions(["projections", "rebuild"], "") == names
    assert completions(["projections", "rebuild", "audit"], "") == names
    assert completions(["projections", "run"], "pl") == ["plans"]
    assert completions(["projections", "mode"], "re") == ["reviews"]


def test_bash_completion_through_the_installed_command(demo: str) -> None:
    """As bash asks (the line the README gives installs this): COMP_WORDS and COMP_CWORD."""
    assert EXE is not None
    env = {**os.environ, "_GOALFLOW_COMPLETE": "bash_complete", "GOALFLOW_DB": demo,
           "COMP_WORDS": "goalflow show 7a1f3e2c-5", "COMP_CWORD": "2"}
    done = subprocess.run([EXE], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"plain,{DEMO_GOAL}\n", "")
    env.update(COMP_WORDS="goalflow --db sqlite:////nonexistent/x.db show 7", COMP_CWORD="4")
    done = subprocess.run([EXE], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "", "")
    script = subprocess.run([EXE], env={**os.environ, "_GOALFLOW_COMPLETE": "bash_source"},
                            capture_output=True, text=True, timeout=60, check=False)
    assert "_goalflow_completion" in script.stdout


# -- worker-mode read models say when they lag -----------------------------------------------


LAG = re.compile(r"^Warning: the (\w+) read model is (\d+) positions? behind the log"
                 r" \(at (\d+) of (\d+)\); is goalflow projections run running\?$")


def lag_warnings(result: Result) -> list[tuple[str, int, int, int]]:
    found = []
    for line in result.stderr.splitlines():
        match = LAG.match(line)
        assert match, f"unexpected stderr line: {line!r}"
        name, behind, position, head = match.groups()
        found.append((name, int(behind), int(position), int(head)))
    return found


def head_of(db: str) -> int:
    rows = [json.loads(line) for line in ok(db, "projections", "status", "--json").stdout
            .splitlines()]
    return int(rows[0]["head"])


def test_read_model_commands_warn_once_when_a_worker_mode_read_model_lags(demo: str) -> None:
    ok(demo, "projections", "mode", "plans", "worker")
    ok(demo, "projections", "mode", "audit", "worker")
    caught_up = head_of(demo)
    assert lag_warnings(ok(demo, "plan", "client-7")) == []  # worker mode, but caught up
    ok(demo, "apply", "-", input=draft("2b000000-0000-4000-8000-000000000002", "client-9"))
    head = head_of(demo)
    behind = ("plans", head - caught_up, caught_up, head)

    for args in (["plan", "client-7"], ["goals"], ["goals", "--json"], ["outcomes", "client-7"],
                 ["stats"], ["events", "--subject", "client-7"]):
        assert lag_warnings(ok(demo, *args)) == [behind], args
    # Audit reads its read model a page at a time: still one line.
    assert lag_warnings(ok(demo, "audit")) == [("audit", head - caught_up, caught_up, head)]
    # Inline read models never lag, and the commands that read none say nothing.
    assert lag_warnings(ok(demo, "reviews")) == []
    assert lag_warnings(ok(demo, "show", DEMO_GOAL)) == []
    # The warning is on stderr: what goes to stdout is as it was.
    assert ok(demo, "goals", "--json").stdout == ok(demo, "goals", "--json").stdout

    ok(demo, "projections", "mode", "plans", "inline")  # caught up as it changes mode
    assert lag_warnings(ok(demo, "plan", "client-9")) == []
    assert "Walk to the shops" in ok(demo, "plan", "client-9").stdout


def test_no_lag_warning_when_every_read_model_is_inline(demo: str) -> None:
    for args in (["plan", "client-7"], ["goals"], ["audit"], ["reviews"], ["stats"]):
        assert run(demo, *args).stderr == "", args


# -- lines fit the terminal ------------------------------------------------------------------


STYLE = re.compile(r"\x1b\[[0-9;]*m")


def on_terminal(db: str, *args: str, columns: int = 60) -> list[str]:
    """``goalflow ARGS`` on a pseudo-terminal ``columns`` wide: its lines, colours removed."""
    assert EXE is not None
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "40", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([EXE, "--db", db, "--no-pager", *args], stdin=follower,
                            stdout=follower, stderr=subprocess.PIPE, env=env)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            proc.kill()
            pytest.fail(f"goalflow {' '.join(args)} printed nothing for 60 s")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.stderr is not None
    with proc.stderr:
        errors = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, errors
    text = STYLE.sub("", b"".join(chunks).decode())
    return text.replace("\r\n", "\n").splitlines()


def piped(db: str, *args: str) -> list[str]:
    result = ok(db, *args)
    return result.stdout.splitlines()


@pytest.mark.parametrize("args", [["events"], ["audit"], ["goals"], ["history", DEMO_GOAL],
                                  ["reviews"], ["plan", "client-7", "--all"],
                                  ["show", DEMO_GOAL]])
def test_text_lines_fit_the_terminal_and_keep_everything_when_piped(
        demo: str, args: list[str]) -> None:
    lines = on_terminal(demo, *args, columns=60)
    assert lines, "printed nothing"
    assert max(len(line) for line in lines) <= 60, [line for line in lines if len(line) > 60]
    if args[0] != "reviews":  # (the demo's worklist fits 60 columns anyway)
        assert max(len(line) for line in piped(demo, *args)) > 60


def test_history_on_a_narrow_terminal_wraps_rather_than_cuts(demo: str) -> None:
    lines = on_terminal(demo, "history", DEMO_GOAL, columns=50)
    text = " ".join(line.strip() for line in lines)
    assert "Client asked for exercise she can do at home" in text
    assert max(len(line) for line in lines) <= 50


# -- a finished goal has no next review -----------------------------------------------------


def test_plan_of_a_finished_goal_shows_no_next_review(demo: str) -> None:
    shown = ok(demo, "plan", "client-7", "--all").stdout
    block = next(b for b in shown.split("\n\n") if b.startswith(DEMO_GOAL))
    assert "completed" in block.splitlines()[0]
    assert "next review" not in block
    assert "  target " in block
    other = next(b for b in shown.split("\n\n") if b.startswith(OTHER_GOAL))
    assert "next review -" in other  # an open goal still shows it


def test_show_of_a_finished_goal_shows_no_next_review_in_text(demo: str) -> None:
    assert "Next review" not in ok(demo, "show", DEMO_GOAL).stdout
    assert "Next review" in ok(demo, "show", OTHER_GOAL).stdout


# -- the README's command reference ---------------------------------------------------------


def reference_module() -> Any:
    spec = importlib.util.spec_from_file_location("cli_reference",
                                                  ROOT / "scripts" / "cli_reference.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_lists_every_command_and_option_as_click_does() -> None:
    reference = reference_module()
    readme = (ROOT / "README.md").read_text()
    assert reference.replaced(readme, reference.render()) == readme, \
        "README.md's command reference is out of date: run scripts/cli-reference"


def test_the_reference_names_every_command_and_every_option() -> None:
    text = reference_module().render()
    ctx = click.Context(cli, info_name="goalflow")

    def walk(group: click.Group, ctx: click.Context, prefix: str) -> list[str]:
        found = []
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            sub = click.Context(command, info_name=name, parent=ctx)
            found.append(f"{prefix} {name}")
            for param in command.get_params(sub):
                if isinstance(param, click.Option):
                    for option in param.opts:
                        assert option in text, f"{prefix} {name}: {option}"
            if isinstance(command, click.Group):
                found += walk(command, sub, f"{prefix} {name}")
        return found

    for name in walk(cli, ctx, "goalflow"):
        assert f"### `{name}`" in text, name


def test_a_cut_line_keeps_its_colours_closed_and_marks_the_cut() -> None:
    from goalflow.cli._output import fit

    line = "abc " + click.style("BOLDTEXT", bold=True) + " tail end"
    assert fit(line, 30) == line  # it fits: as it was
    cut = fit(line, 10)
    assert click.unstyle(cut) == "abc BOLDT\u2026"
    assert cut.endswith("\x1b[0m")  # no colour leaks into the next line
    assert fit("plain text here", 6) == "plain\u2026"
