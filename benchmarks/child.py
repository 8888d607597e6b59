"""Work the benchmark runs in a process of its own, to measure its peak memory or run writers
side by side. Each prints one JSON object on its last line of stdout.

    python -m benchmarks.child rebuild URL [--profile FILE]
    python -m benchmarks.child verify URL [--profile FILE]
    python -m benchmarks.child read ENV_JSON
    python -m benchmarks.child writer goalflow|baseline URL|ENV_JSON COMMANDS_JSON [--profile FILE]

``writer`` prints ``ready`` once its store is open, then waits for a line on stdin before it
starts, so that several writers start together.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def peak_mb() -> float:
    """This process's peak resident memory, in MB.

    On Linux, VmHWM: ru_maxrss would not do, as a child started by a big parent inherits
    the parent's resident size in it (fork copies the page tables, exec keeps the maximum).
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024  # bytes there


def rebuild_all(goals: Any) -> int:
    """Rebuild every read model from the log, as ``goalflow projections rebuild`` does: all
    of them in one pass over the log. Returns the events read."""
    built = goals.projections.rebuild_many(sorted(goals.projections.all))
    return max(built.values(), default=0)


def rebuild(url: str, profile: str | None) -> dict[str, Any]:
    import goalflow

    goals = goalflow.open(url)
    began = time.perf_counter()
    events = _profiled(profile, lambda: rebuild_all(goals))
    seconds = time.perf_counter() - began
    goals.close()
    return {"events": events, "seconds": seconds, "peak_mb": peak_mb()}


def verify_log(goals: Any) -> Any:
    """Verify the whole log, as ``goalflow verify`` does with no digest."""
    return goals.verify()


def verify(url: str, profile: str | None) -> dict[str, Any]:
    import goalflow

    goals = goalflow.open(url, readonly=True)
    began = time.perf_counter()
    found = _profiled(profile, lambda: verify_log(goals))
    seconds = time.perf_counter() - began
    goals.close()
    return {"events": found.size, "seconds": seconds, "peak_mb": peak_mb(),
            "intact": found.intact, "root": found.root}


def read(env: dict[str, str]) -> dict[str, Any]:
    """The baseline's bare cost: read every notification in pages and decode each event."""
    from benchmarks.baseline import BaselineApp

    app = BaselineApp(env)
    began = time.perf_counter()
    events = 0
    start: int | None = None
    while True:
        page = app.recorder.select_notifications(start, limit=1000,
                                                 inclusive_of_start=start is None)
        if not page:
            break
        for notification in page:
            app.mapper.to_domain_event(notification)
        events += len(page)
        start = page[-1].id
    seconds = time.perf_counter() - began
    app.close()
    return {"events": events, "seconds": seconds, "peak_mb": peak_mb()}


def writer(side: str, target: str, commands_file: str, profile: str | None) -> dict[str, Any]:
    commands = json.loads(Path(commands_file).read_text())
    if side == "goalflow":
        import goalflow
        from goalflow.commands import parse_command

        goals = goalflow.open(target)
        parsed = [parse_command(c) for c in commands]

        def run() -> None:
            for name, args in parsed:
                goals.execute(name, **args)

        close: Callable[[], None] = goals.close
    else:
        from benchmarks import baseline

        # The parent made the tables; writers starting at once must not race to make them
        # again (PostgreSQL answers "tuple concurrently updated").
        app = baseline.BaselineApp({**json.loads(target), "CREATE_TABLE": "n"})
        parsed_es = [baseline.parse(c) for c in commands]

        def run() -> None:
            for name, goal_id, args in parsed_es:
                baseline.execute(app, name, goal_id, args)

        close = app.close
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.time()
    _profiled(profile, run)
    end = time.time()
    close()
    return {"start": start, "end": end, "commands": len(commands), "peak_mb": peak_mb()}


def _profiled(profile: str | None, work: Callable[[], Any]) -> Any:
    if profile is None:
        return work()
    profiler = cProfile.Profile()
    try:
        return profiler.runcall(work)
    finally:
        profiler.dump_stats(profile)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.child")
    parser.add_argument("work", choices=("rebuild", "verify", "read", "writer"))
    parser.add_argument("args", nargs="+")
    parser.add_argument("--profile")
    options = parser.parse_args()
    if options.work == "rebuild":
        result = rebuild(options.args[0], options.profile)
    elif options.work == "verify":
        result = verify(options.args[0], options.profile)
    elif options.work == "read":
        result = read(json.loads(options.args[0]))
    else:
        side, target, commands_file = options.args[:3]
        result = writer(side, target, commands_file, options.profile)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
