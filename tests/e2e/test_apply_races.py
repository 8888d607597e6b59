"""Two or four ``goalflow apply`` runs of one file at once all end cleanly, each line once.

The README promises that re-running a file whose lines carry command ids is safe; that
holds when the runs overlap too. (Before: a batch judged a line against a goal another run
had already moved with that very line, and stopped with a false refusal, e.g. "line 296:
... hold needs it to be active"; most often with --batch 1.)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import orjson
import pytest

import goalflow

pytestmark = pytest.mark.slow

DR = {"id": "dr-lee", "role": "clinician"}
GOALS = 30


def commands() -> list[dict[str, object]]:
    """Nine commands for each of 30 goals, interleaved goal by goal, each with an id."""
    per_goal = []
    for n in range(GOALS):
        goal, client = str(UUID(int=n + 1)), f"client-{n}"
        per_goal.append([
            {"command": "draft", "goal_id": goal, "by": DR, "statement": "Sleep through",
             "subject": {"kind": "client", "id": client}, "addresses": ["insomnia"],
             "measures": [{"name": "ISI", "baseline": 20, "target": 8}], "steps": ["a", "b"],
             "target_date": "2027-06-01", "occurred_at": "2026-11-02T09:00:00+00:00"},
            {"command": "agree", "goal_id": goal, "by": {"id": client, "role": "client"},
             "terms_version": 1, "method": "signature"},
            *({"command": "record_progress", "goal_id": goal, "by": DR, "measure": "ISI",
               "value": 19 - k} for k in range(4)),
            {"command": "complete_step", "goal_id": goal, "by": DR, "step_id": "s1"},
            {"command": "hold", "goal_id": goal, "by": DR, "reason": "away"},
            {"command": "resume", "goal_id": goal, "by": DR},
        ])
    lines = [seq[k] for k in range(9) for seq in per_goal]
    return [{**line, "command_id": f"ehr-{n}"} for n, line in enumerate(lines)]


@pytest.mark.parametrize("runs", [2, 4])
@pytest.mark.parametrize("batch", [None, "1"])
def test_runs_of_one_file_at_once_each_end_cleanly_and_record_each_line_once(
        store_url: str, tmp_path: Path, runs: int, batch: str | None) -> None:
    file = tmp_path / "commands.jsonl"
    lines = commands()
    file.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    exe = shutil.which("goalflow", path=str(Path(sys.executable).parent))
    assert exe is not None
    goalflow.open(store_url).close()  # created before the race, as an EHR's store would be
    for trial in range(3):
        url = store_url if trial == 0 else _fresh(store_url, tmp_path, trial)
        started = [subprocess.Popen(
            [exe, "--db", url, "apply", *(["--batch", batch] if batch else []), str(file)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(runs)]
        results = [(p.communicate(timeout=300), p.returncode) for p in started]
        for (out, err), returncode in results:
            assert returncode == 0, err.decode()
            assert len(out.splitlines()) == len(lines)
        with goalflow.open(url, readonly=True) as goals, \
                goals.store.recorder.transaction(commit=False) as tx:
            assert goals.store.count(tx, upto=goals.store.head(tx)) == len(lines)
            assert len(goals.store.find_commands([str(line["command_id"]) for line in lines])
                       ) == len(lines)


def _fresh(store_url: str, tmp_path: Path, trial: int) -> str:
    """An empty store of the same kind for the next trial."""
    if store_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path}/trial{trial}.db"
    else:
        import psycopg

        server, _, schema = store_url.partition("?schema=")
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')  # type: ignore[arg-type]
        url = store_url
    goalflow.open(url).close()
    return url
