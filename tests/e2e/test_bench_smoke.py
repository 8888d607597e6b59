"""scripts/bench --quick as CI runs it: every figure measured, positive numbers in the JSON.

Timings are never asserted here (they mean nothing at these sizes, on a shared machine);
only that the benchmark runs end to end and reports what it promises.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MEASURED = ("commands", "bulk", "load", "rebuild", "rebuild_memory", "long", "growth", "chain",
            "verify", "verify_memory", "prove")


def run_bench(tmp_path: Path, *args: str) -> tuple[dict[str, Any], str]:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--no-save", "--json", str(out), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


def positive_numbers(value: Any) -> list[float]:
    """Every number in a figure's goalflow/baseline section (medians and samples)."""
    if isinstance(value, dict):
        return [n for v in value.values() for n in positive_numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in positive_numbers(v)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [float(value)]
    return []


def test_quick_run_reports_every_figure_with_positive_numbers(tmp_path: Path) -> None:
    result, table = run_bench(tmp_path, "--repeat", "2")

    assert result["format"] == "goalflow-bench"
    assert result["store"] == "sqlite"
    machine = result["machine"]
    for key in ("platform", "cpu", "cores", "python", "eventsourcing", "store_version",
                "git_commit", "code_sha256"):
        assert machine[key], key
    figures = result["figures"]
    for key in MEASURED:
        figure = figures[key]
        for side in ("goalflow", "baseline"):
            numbers = positive_numbers(figure[side])
            assert numbers, (key, side)
            assert all(n > 0 for n in numbers), (key, side, figure[side])
        assert figure["ratio"] > 0, key
        assert isinstance(figure["pass"], bool), key
        assert figure["target"] > 0, key
        assert figure["title"] in table
    assert len(figures["commands"]["goalflow"]["samples"]) == 2
    assert figures["load"]["snapshots"] == 0  # goals of 30-99 events load by replay
    assert figures["long"]["snapshots"] > 0
    assert "skipped" in figures["writers"]  # PostgreSQL only


@pytest.mark.postgres
def test_quick_run_on_postgres_measures_writers(tmp_path: Path, postgres_server: str) -> None:
    result, _ = run_bench(tmp_path, "--db", postgres_server, "--repeat", "1",
                          "--only", "commands,writers")

    assert result["store"] == "postgresql"
    writers = result["figures"]["writers"]
    numbers = positive_numbers(writers["goalflow"]) + positive_numbers(writers["baseline"])
    assert numbers
    assert all(n > 0 for n in numbers)
    assert positive_numbers(result["figures"]["commands"]["goalflow"])
