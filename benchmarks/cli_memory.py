"""The "CLI peak memory" figure: ``goalflow audit`` and ``goalflow events`` over the growth
store at its small and its large size, each in a process of its own, output to /dev/null.

Memory should stay flat however long the log: the peak RSS at the large log over the peak at
the small one at most :data:`FLAT`, and under :data:`CAP_MB`. The child side:

    python -m benchmarks.cli_memory URL audit|events

runs the command as ``goalflow --db URL --no-pager COMMAND > /dev/null`` does (click's own
entry point, in the process) and prints one JSON object: seconds, lines printed, peak MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from benchmarks.bench import Bench
    from benchmarks.stores import Pair

ROOT: Final = Path(__file__).resolve().parents[1]
COMMANDS: Final = ("audit", "events")
FLAT: Final = 1.2
CAP_MB: Final = 200
"""The most either command's process may reach at the large log."""


def small(bench: Bench, pair: Pair) -> dict[str, dict[str, Any]]:
    """Each command once at the small log."""
    runs = {command: _child(bench, pair.url, command) for command in COMMANDS}
    bench.log("cli memory at the small log: " + "; ".join(
        f"{c} peak {r['peak_mb']:.0f} MB in {r['seconds']:.1f}s" for c, r in runs.items()))
    return runs


def large(bench: Bench, pair: Pair, small_runs: dict[str, dict[str, Any]]) -> None:
    """Each command ``repeat`` times at the large log (alternating), then the figure."""
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in COMMANDS}

    def run(command: str) -> Any:
        def go(_rep: int) -> float:
            result = _child(bench, pair.url, command)
            runs[command].append(result)
            return float(result["peak_mb"])

        return go

    bench.alternate("cli memory at the large log", "MB peak", {c: run(c) for c in COMMANDS})
    figures = {}
    for command in COMMANDS:
        peak_small = small_runs[command]["peak_mb"]
        peak_large = max(r["peak_mb"] for r in runs[command])
        figures[command] = {"small_mb": round(peak_small, 1), "large_mb": round(peak_large, 1),
                            "ratio": round(peak_large / peak_small, 3),
                            "seconds_large": round(min(r["seconds"] for r in runs[command]),
                                                   2)}
    events = {"small": small_runs["audit"]["events"], "large": runs["audit"][0]["events"]}
    ratio = max(f["ratio"] for f in figures.values())
    worst = max(f["large_mb"] for f in figures.values())
    passed = ratio <= FLAT and worst < CAP_MB
    bench.results["cli_memory"] = {
        "title": "CLI peak memory", "unit": "MB (peak RSS of the process)",
        "size": {"events": events["large"], "small_events": events["small"]},
        "commands": figures, "runs": {"small": small_runs, "large": runs},
        "ratio": ratio, "ratio_is": "large / small, the worse of audit and events",
        "target": FLAT, "cap_mb": CAP_MB, "pass": passed,
        "notes": ["goalflow --db URL --no-pager audit (and events) > /dev/null, each in a"
                  " process of its own, at the growth store's small and large sizes; the"
                  " large peak is the highest of the repetitions"],
        "row": [f"{events['small']:,} -> {events['large']:,} events",
                "audit {audit[small_mb]:.0f} -> {audit[large_mb]:.0f} MB, events"
                " {events[small_mb]:.0f} -> {events[large_mb]:.0f} MB".format(**figures),
                "-", f"{ratio:.2f}", f"<= {FLAT:g} large/small, < {CAP_MB} MB"],
    }


def _child(bench: Bench, url: str, command: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "benchmarks.cli_memory", url, command],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"cli memory: {command} child failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(url: str, command: str) -> dict[str, Any]:
    """Run ``goalflow --db URL --no-pager COMMAND`` here, its output to /dev/null."""
    from benchmarks.child import peak_mb
    from goalflow.cli import cli

    saved = sys.stdout
    began = time.perf_counter()
    with open(os.devnull, "w") as null:  # as a shell's > /dev/null: not a terminal, no pager
        sys.stdout = null
        try:
            cli.main(["--db", url, "--no-pager", command], prog_name="goalflow",
                     standalone_mode=False)
        finally:
            sys.stdout = saved
    seconds, peak = time.perf_counter() - began, peak_mb()
    import goalflow

    with goalflow.open(url, readonly=True) as goals:  # after the peak is taken
        events = goals.projections.head()
    return {"command": command, "events": events, "seconds": seconds, "peak_mb": peak}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])), flush=True)
