"""Ctrl-C during ``goalflow apply`` stops between commands: exit 130, every line before it
recorded, none after, and a re-run of the file goes on from there."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from test_apply_races import commands

import goalflow

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("batch", ["1", "100"])
def test_ctrl_c_stops_between_commands_and_says_after_which_line(tmp_path: Path, batch: str
                                                                  ) -> None:
    lines = [orjson.dumps(line) + b"\n" for line in commands()]
    url = f"sqlite:///{tmp_path}/goals.db"
    exe = shutil.which("goalflow", path=str(Path(sys.executable).parent))
    assert exe is not None
    # From stdin, so that the lines after the interrupt are sent only once it has come.
    process = subprocess.Popen([exe, "--db", url, "apply", "--batch", batch, "-"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(b"".join(lines[:150]))
    process.stdin.flush()
    first = process.stdout.readline()  # a batch is recorded: interrupt now
    assert first
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(b"".join(lines[150:]), timeout=120)
    printed = [first, *out.splitlines()]
    assert process.returncode == 130, err.decode()
    last = orjson.loads(printed[-1])["line"]
    assert err.decode().splitlines()[-1] == (
        f"Interrupted after line {last}: the lines up to it are recorded, none after it;"
        " re-run the file to go on")
    assert last <= 150
    with goalflow.open(url, readonly=True) as goals, \
            goals.store.recorder.transaction(commit=False) as tx:
        assert goals.store.count(tx, upto=goals.store.head(tx)) == last
    file = tmp_path / "commands.jsonl"
    file.write_bytes(b"".join(lines))
    rerun = subprocess.run([exe, "--db", url, "apply", str(file)], capture_output=True,
                           check=False)
    assert rerun.returncode == 0, rerun.stderr.decode()
    with goalflow.open(url, readonly=True) as goals, \
            goals.store.recorder.transaction(commit=False) as tx:
        assert goals.store.count(tx, upto=goals.store.head(tx)) == len(lines)
