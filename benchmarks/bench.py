"""Measure goalflow against a bare eventsourcing baseline doing the equivalent storage work.

    scripts/bench [--quick | --scale] [--db URL] [--repeat N] [--json FILE] [--only FIGURES]

Every figure is measured for goalflow and for the baseline (``benchmarks/baseline.py``: a plain
eventsourcing ``Application`` with its aggregate cache and orjson, the same events per
transaction, the same kind of store) in the same run, alternating (who goes first rotates
every repetition; in the command mixes the two take turns ten times a repetition), and
reported as the median of the repetitions. Ratios are speed over speed, so higher is better
for goalflow. See ``benchmarks/README.md`` for what each figure does.

The table goes to stdout, progress to stderr. Results are written as JSON to ``--json FILE``
and, for complete runs at the default or ``--scale`` sizes, to
``benchmarks/latest-<sqlite|postgresql>.json`` with the machine they ran on.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import importlib
import itertools
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs
import psycopg

import goalflow
from benchmarks import baseline, cli_memory, encryption, stores, workload
from goalflow.commands import parse_command
from goalflow.integrity import proofs
from goalflow.integrity.chain import LEAVES_TABLE as CHAIN_LEAVES

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks"
FIGURES = ("commands", "chain", "bulk", "load", "long", "growth", "rebuild", "verify", "prove",
           "writers", "encryption", "cli_memory")
WRITERS = 4
TURNS = 10  # goalflow and the baseline take turns this often in each repetition of a mix


@attrs.frozen
class Sizes:
    command_goals: int  # goals in the command-throughput mix
    bulk_commands: int  # commands in the bulk apply file
    load_goals: int  # goals of 30-99 events loaded by "goal load"
    small_events: int  # the small store of "growth", and the small rebuild (memory)
    large_events: int  # the large store of "growth", and the rebuild
    long_events: int  # events of the long goal
    growth_goals: int  # goals in each growth measurement's command mix
    writer_goals: int  # goals per writer process


PRESETS = {
    "quick": Sizes(command_goals=40, bulk_commands=300, load_goals=30, small_events=1_000,
                   large_events=4_000, long_events=1_000, growth_goals=15, writer_goals=10),
    "default": Sizes(command_goals=1_000, bulk_commands=10_000, load_goals=1_000,
                     small_events=10_000, large_events=100_000, long_events=10_000,
                     growth_goals=200, writer_goals=60),
    "scale": Sizes(command_goals=1_000, bulk_commands=100_000, load_goals=1_000,
                   small_events=10_000, large_events=1_000_000, long_events=10_000,
                   growth_goals=200, writer_goals=100),
}

FLAT = 1.2  # peak memory at the large log / at the small one, at most

TARGETS = {
    "commands": 0.8,  # goalflow/baseline, commands per second
    "bulk": 1.0,  # goalflow/baseline, commands per second
    "load": 3.0,  # goalflow/baseline, goals loaded per second
    "rebuild": 0.6,  # goalflow rebuild / baseline read+decode, events per second
    "rebuild_memory_mb": 300,  # goalflow's peak, and flat: at most FLAT times the small one
    "long": 20.0,  # with snapshots / without, loads per second
    "growth": 0.8,  # large store / small store, commands per second
    "writers": 1.5,  # 4 writers / 1 writer, commands per second
    "chain": 0.9,  # with the Merkle chain / without it, commands per second
    "verify": 1.0,  # goalflow verify / baseline read+decode, events per second
    "verify_memory": FLAT,  # verify's peak at the large log / at the small one
    "prove": 2.0,  # seconds to prove one goal, large store / small store (at most)
    "encrypted_commands": 0.85,  # encrypted store / unencrypted, commands per second
    "encrypted_load": 0.85,  # encrypted store / unencrypted, goals loaded per second
}
PROVE_GOALS = 20  # goals proved at each size in "prove" (5 with --quick)


class Bench:
    """One run: its options, its stores, its results."""

    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.preset = "quick" if options.quick else "scale" if options.scale else "default"
        self.sizes = PRESETS[self.preset]
        self.repeat: int = options.repeat
        self.batch: int = options.batch or (DEFAULT_BATCH if apply_batches() else 1)
        self.seed: int = options.seed
        self.today = date.today()
        self.profiler = Profiler(Path(options.profile) if options.profile else None)
        self.backend = stores.Backend(options.db, keep=options.keep)
        self.began = time.perf_counter()
        self.tmp = Path(tempfile.mkdtemp(prefix="goalflow-bench-files-"))
        self.results: dict[str, dict[str, Any]] = {}

    def log(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.began:6.1f}s] {message}", file=sys.stderr,
              flush=True)

    # -- running --------------------------------------------------------------------------

    def alternate(self, what: str, unit: str, runs: dict[str, Callable[[int], float]]
                  ) -> dict[str, list[float]]:
        """Each run ``repeat`` times, their order rotating every repetition."""
        samples: dict[str, list[float]] = {name: [] for name in runs}
        names = list(runs)
        for rep in range(self.repeat):
            shift = rep % len(names)
            for name in names[shift:] + names[:shift]:
                value = runs[name](rep)
                samples[name].append(value)
                self.log(f"{what}: {name} {rep + 1}/{self.repeat}: {value:,.1f} {unit}")
        return samples

    def chunks(self, total: int) -> list[tuple[int, int]]:
        """``repeat`` consecutive slices of a workload, one per repetition."""
        edges = [total * k // self.repeat for k in range(self.repeat + 1)]
        return list(itertools.pairwise(edges))

    def child(self, *args: str, profile: str | None = None) -> dict[str, Any]:
        command = [sys.executable, "-m", "benchmarks.child", *args]
        if profile:
            command += ["--profile", profile]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args[:1])} child failed:\n{done.stderr}")
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    # -- figures --------------------------------------------------------------------------

    def commands(self) -> None:
        """A realistic mix over command_goals goals, one command per transaction, read
        models inline; baseline: get -> change -> save."""
        pair = self.backend.new("commands")
        lifecycles = workload.goals(self.seed, self.sizes.command_goals, self.today)
        commands = workload.interleave(self.seed, lifecycles)
        self.log(f"commands: {len(commands):,} commands over {len(lifecycles):,} goals")
        with stores.opened(pair) as (goals, app):
            rates = self._command_rates("commands", commands, goals, app)
        self._figure("commands", "command throughput", rates, "commands/s", "cmd/s",
                     size={"goals": len(lifecycles), "commands": len(commands),
                           "events_per_transaction": 1},
                     size_text=f"{len(lifecycles):,} goals, {len(commands):,} cmds, 1 event/tx",
                     notes=["each command its own transaction; goalflow via Goals.execute"
                            " with its read models inline; no command ids",
                            "repetitions are consecutive slices of one interleaved workload,"
                            f" goalflow and the baseline taking turns {TURNS} times in each"])

    def _command_rates(self, what: str, commands: list[dict[str, Any]], goals: goalflow.Goals,
                       app: baseline.BaselineApp) -> dict[str, list[float]]:
        """Commands per second of goalflow and the baseline, one sample per repetition (see
        :meth:`_turns`)."""
        gf = [parse_command(c) for c in commands]
        es = [baseline.parse(c) for c in commands]

        def run_goalflow(lo: int, hi: int) -> float:
            def work() -> None:
                for name, args in gf[lo:hi]:
                    goals.execute(name, **args)

            return self.profiler.timed(what, work)

        def run_baseline(lo: int, hi: int) -> float:
            began = time.perf_counter()
            for name, goal_id, args in es[lo:hi]:
                baseline.execute(app, name, goal_id, args)
            return time.perf_counter() - began

        return self._turns(what, len(commands), {"goalflow": run_goalflow,
                                                 "baseline": run_baseline})

    def _turns(self, what: str, total: int, runs: dict[str, Callable[[int, int], float]]
               ) -> dict[str, list[float]]:
        """Items per second of each of two sides over a workload of ``total`` commands, one
        sample per repetition; ``runs[side](lo, hi)`` runs items lo..hi and returns seconds.

        Repetition r runs slice r of the workload on both sides. Within it, the two take
        turns every tenth of the slice (who goes first alternating), so that a burst of load
        from elsewhere on the machine falls on both alike.
        """
        first, second = runs
        samples: dict[str, list[float]] = {side: [] for side in runs}
        for rep, (lo, hi) in enumerate(self.chunks(total)):
            seconds = dict.fromkeys(runs, 0.0)
            edges = [lo + (hi - lo) * k // TURNS for k in range(TURNS + 1)]
            for turn, (a, b) in enumerate(itertools.pairwise(edges)):
                order = list(runs.items())
                for side, run in order if (rep + turn) % 2 == 0 else order[::-1]:
                    seconds[side] += run(a, b)
            for side in samples:
                samples[side].append((hi - lo) / seconds[side])
            self.log(f"{what} {rep + 1}/{self.repeat}: {first} {samples[first][-1]:,.0f},"
                     f" {second} {samples[second][-1]:,.0f} cmd/s")
        return samples

    def chain(self) -> None:
        """The command mix of "command throughput" recorded with the Merkle chain and,
        in a second store, without it (the chain's append a no-op: stores.without_chain),
        the two taking turns over the same slices."""
        chained, unchained = self.backend.new("chain"), self.backend.new("nochain")
        lifecycles = workload.goals(self.seed, self.sizes.command_goals, self.today)
        commands = workload.interleave(self.seed, lifecycles)
        parsed = [parse_command(c) for c in commands]
        self.log(f"chain: {len(commands):,} commands over {len(lifecycles):,} goals, with and"
                 " without the chain")
        with contextlib.closing(goalflow.open(chained.url)) as on, \
                contextlib.closing(goalflow.open(unchained.url)) as off:

            def run(goals: goalflow.Goals, profile: str) -> Callable[[int, int], float]:
                def go(lo: int, hi: int) -> float:
                    def work() -> None:
                        for name, args in parsed[lo:hi]:
                            goals.execute(name, **args)

                    if goals is on:
                        return self.profiler.timed(profile, work)
                    with stores.without_chain():
                        return self.profiler.timed(profile, work)

                return go

            rates = self._turns("chain", len(commands), {
                "with chain": run(on, "chain"), "without chain": run(off, "chain-off")})
            leaves = stores.count_rows(on, CHAIN_LEAVES), stores.count_rows(off, CHAIN_LEAVES)
            events = stores.head(on), stores.head(off)
        if leaves != (events[0], 0):
            raise SystemExit(f"chain: the chained store has {leaves[0]:,} leaves for"
                             f" {events[0]:,} events, the unchained {leaves[1]:,} (want 0)")
        gf, off_rate = _median(rates["with chain"]), _median(rates["without chain"])
        ratio = gf / off_rate
        paired = [a / b for a, b in zip(rates["with chain"], rates["without chain"],
                                        strict=True)]
        self.results["chain"] = {
            "title": "chain cost", "unit": "commands/s",
            "size": {"goals": len(lifecycles), "commands": len(commands),
                     "events_per_transaction": 1},
            "goalflow": _stats(rates["with chain"]), "baseline": _stats(rates["without chain"]),
            "baseline_is": "goalflow without the chain",
            "ratio": ratio, "ratio_is": "with chain / without",
            "ratios_by_repetition": [round(r, 3) for r in paired],
            "target": TARGETS["chain"], "pass": ratio >= TARGETS["chain"],
            "notes": ["the command mix of command throughput (same goals, one command per"
                      " transaction, read models inline) in two fresh stores, the same slices"
                      f" on both, taking turns {TURNS} times a repetition",
                      "without chain: goalflow.integrity.chain.append made a no-op for that"
                      " side's turns only (benchmarks/stores.py without_chain; no leaves or"
                      f" nodes written); the chained store ends with {leaves[0]:,} leaves",
                      "with / without in each repetition (the same slice on both): "
                      + ", ".join(f"{r:.2f}" for r in paired)],
            "row": [f"{len(lifecycles):,} goals, {len(commands):,} cmds, 1 event/tx",
                    f"{gf:,.0f} cmd/s", f"{off_rate:,.0f} (no chain)", f"{ratio:.2f}",
                    f">= {TARGETS['chain']:g} with/without"],
        }

    def bulk(self) -> None:
        """``goalflow apply`` of a JSON Lines file into a fresh store; baseline: the same file
        appended with the same events per transaction."""
        n = self.sizes.bulk_commands
        commands = workload.with_command_ids(workload.stream(self.seed + 1, n, self.today),
                                             "ehr")
        path = self.tmp / "bulk.jsonl"
        path.write_bytes(b"".join(json.dumps(c).encode() + b"\n" for c in commands))
        pairs = [self.backend.new(f"bulk{rep}") for rep in range(self.repeat)]
        self.log(f"bulk: {n:,} commands over {workload.count_goals(commands):,} goals,"
                 f" {self.batch} per transaction")

        def run_goalflow(rep: int) -> float:
            return n / self.profiler.timed("bulk", lambda: goalflow_apply(pairs[rep].url, path,
                                                                          self.batch))

        def run_baseline(rep: int) -> float:
            began = time.perf_counter()
            app = baseline.BaselineApp(pairs[rep].env)
            baseline.append_file(app, path, self.batch)
            app.close()
            return n / (time.perf_counter() - began)

        rates = self.alternate("bulk", "cmd/s", {"goalflow": run_goalflow,
                                                 "baseline": run_baseline})
        self._figure("bulk", "bulk apply", rates, "commands/s", "cmd/s",
                     size={"commands": n, "goals": workload.count_goals(commands),
                           "events_per_transaction": self.batch},
                     size_text=f"{n:,} cmds, {self.batch} event{'s' * (self.batch > 1)}/tx",
                     notes=[f"goalflow apply --batch {self.batch} (in process, output"
                            " discarded) into a fresh store each repetition; every line has a"
                            " command_id",
                            "baseline: orjson per line, get (the cache, the store or the unsaved"
                            " batch) -> change,"
                            f" save every {self.batch} event(s); no idempotency records,"
                            " no read models"])

    def load(self) -> None:
        """Load every goal (30-99 events each): Goals.get vs repository.get."""
        pair = self.backend.new("load")
        lifecycles = workload.goals(self.seed + 2, self.sizes.load_goals, self.today,
                                    first=100_000, length=(30, 99))
        ids = [UUID(lc[0]["goal_id"]) for lc in lifecycles]
        events = sum(len(lc) for lc in lifecycles)
        with stores.opened(pair, cached=False, projections=[]) as (goals, app):
            self.log(f"load: filling {len(ids):,} goals, {events:,} events")
            start = datetime.now(UTC) - timedelta(days=30)
            for k, lc in enumerate(lifecycles):
                stores.prefill_goalflow(goals, lc, start + timedelta(minutes=k))
                baseline.prefill(app, lc, start + timedelta(minutes=k))
            snapshots = stores.count_rows(goals, stores.snapshot_table(goals))
            self.backend.settle()

            def run_goalflow(rep: int) -> float:
                def work() -> None:
                    for goal_id in ids:
                        goals.get(goal_id)

                return len(ids) / self.profiler.timed("load", work)

            def run_baseline(rep: int) -> float:
                began = time.perf_counter()
                for goal_id in ids:
                    app.repository.get(goal_id)
                return len(ids) / (time.perf_counter() - began)

            rates = self.alternate("load", "goals/s", {"goalflow": run_goalflow,
                                                       "baseline": run_baseline})
        per_goal = events / len(ids)
        self._figure("load", "goal load", rates, "goals/s", "goals/s",
                     size={"goals": len(ids), "events": events},
                     size_text=f"{len(ids):,} goals, {events:,} events",
                     notes=[f"goals of 30-99 events ({per_goal:.0f} on average), loaded once"
                            " each per repetition",
                            f"snapshots involved: {'yes' if snapshots else 'no'} (goalflow's"
                            f" store holds {snapshots} snapshots; the baseline has none)",
                            f"events/s: goalflow {_median(rates['goalflow']) * per_goal:,.0f},"
                            f" baseline {_median(rates['baseline']) * per_goal:,.0f}"],
                     extra={"snapshots": snapshots})

    def long(self) -> None:
        """Load a goal of long_events events: with its snapshots vs without (goalflow), and
        eventsourcing's repository.get with and without snapshots for reference.

        The goal has 50 events more, so that a load replays 50 events after the last snapshot
        (the average case with a snapshot every 100), not none.
        """
        n = self.sizes.long_events + 50
        lifecycle = workload.goals(self.seed + 3, 1, self.today, first=200_000,
                                   length=(n, n))[0]
        goal_id = UUID(lifecycle[0]["goal_id"])
        first, second = self.backend.new("long"), self.backend.new("longnosnap")
        start = datetime.now(UTC) - timedelta(days=30)
        self.log(f"long: filling a goal of {n:,} events, 100 per transaction")
        with contextlib.ExitStack() as stack:
            # goalflow with snapshots and the plain baseline in the first pair; goalflow
            # whose snapshots are deleted and the snapshotting baseline in the second.
            gf_snap, es_plain = stack.enter_context(stores.opened(first, cached=False,
                                                                  projections=[]))
            gf_plain = stack.enter_context(contextlib.closing(
                goalflow.open(second.url, projections=[])))
            es_snap = stack.enter_context(contextlib.closing(
                baseline.SnapshottingBaselineApp({**second.env, **baseline.UNCACHED})))
            for goals in (gf_snap, gf_plain):
                stores.prefill_goalflow(goals, lifecycle, start, per_transaction=100)
            for app in (es_plain, es_snap):
                baseline.prefill(app, lifecycle, start, per_transaction=100)
            snapshots = stores.count_rows(gf_snap, stores.snapshot_table(gf_snap))
            stores.delete_snapshots(gf_plain)
            budget = 0.1 if self.preset == "quick" else 1.0

            def loads(load: Callable[[], Any], profile: str | None = None
                      ) -> Callable[[int], float]:
                def run(rep: int) -> float:
                    count = 0
                    began = time.perf_counter()
                    while True:
                        if profile:
                            self.profiler.timed(profile, load)
                        else:
                            load()
                        count += 1
                        elapsed = time.perf_counter() - began
                        if elapsed >= budget and count >= 2:
                            return count / elapsed

                return run

            rates = self.alternate("long", "loads/s", {
                "goalflow": loads(lambda: gf_snap.get(goal_id), "long"),
                "goalflow without snapshots": loads(lambda: gf_plain.get(goal_id),
                                                    "long-nosnap"),
                "baseline": loads(lambda: es_plain.repository.get(goal_id)),
                "baseline with snapshots": loads(lambda: es_snap.repository.get(goal_id)),
            })
        gf, plain = _median(rates["goalflow"]), _median(rates["goalflow without snapshots"])
        es, es_snapped = _median(rates["baseline"]), _median(rates["baseline with snapshots"])
        ratio = gf / plain
        self.results["long"] = {
            "title": "long goal", "unit": "loads/s", "size": {"events": n, "after_snapshot": 50},
            "goalflow": _stats(rates["goalflow"]),
            "baseline": _stats(rates["goalflow without snapshots"]),
            "baseline_is": "goalflow without snapshots",
            "eventsourcing": {"no_snapshots": _stats(rates["baseline"]),
                              "snapshots": _stats(rates["baseline with snapshots"])},
            "ratio": ratio, "ratio_is": "with snapshots / without",
            "target": TARGETS["long"], "pass": ratio >= TARGETS["long"],
            "snapshots": snapshots,
            "notes": [f"goalflow store: {snapshots} snapshots (every 100 events), the last 50"
                      " events before the end; the same goal in a second store with its"
                      " snapshots deleted",
                      f"eventsourcing repository.get: {es:,.1f} loads/s without snapshots,"
                      f" {es_snapped:,.1f} with (every 100); goalflow without snapshots /"
                      f" eventsourcing without: {plain / es:.2f}"],
            "row": [f"{n:,} events", f"{gf:,.1f} loads/s", f"{plain:,.1f} (no snapshots)",
                    f"{ratio:.1f}", f">= {TARGETS['long']:g} with/without"],
        }

    def large(self, only: set[str]) -> None:
        """One store filled to small_events and then large_events (read models inline,
        through the domain), measured at both sizes. growth: command throughput; rebuild:
        every read model from the large log, and peak memory at both sizes; verify: the
        whole log verified, and peak memory at both sizes; prove: one goal's proof."""
        growth, rebuild, verify = "growth" in only, "rebuild" in only, "verify" in only
        prove = "prove" in only
        cli = "cli_memory" in only  # benchmarks/cli_memory.py: audit and events at both sizes
        cli_small: dict[str, dict[str, Any]] = {}
        pair = self.backend.new("large")
        filled = {"goals": 0, "gf": 0, "es": 0}
        first_ids: list[UUID] = []  # the first goals filled, proved at both sizes
        start = datetime.now(UTC) - timedelta(days=120)
        rates: dict[str, dict[str, list[float]]] = {}
        stored: dict[str, int] = {}
        small_runs: dict[str, dict[str, Any]] = {}
        proved: dict[str, dict[str, Any]] = {}
        with stores.opened(pair) as (goals, app):

            def fill(target: int) -> None:
                began = time.perf_counter()
                have = stores.head(goals)
                self.log(f"large: filling to {target:,} events (from {have:,}), read models"
                         " inline")
                while have < target:
                    lc = workload.goals(self.seed * 1_000_003 + filled["goals"], 1, self.today,
                                        first=300_000 + filled["goals"], length=(30, 99))[0]
                    moment = start + timedelta(minutes=filled["goals"] // 10)
                    have += stores.prefill_goalflow(goals, lc, moment)
                    baseline.prefill(app, lc, moment)
                    if len(first_ids) < self._prove_goals():
                        first_ids.append(UUID(lc[0]["goal_id"]))
                    filled["goals"] += 1
                self.log(f"large: filled to {have:,} events in"
                         f" {time.perf_counter() - began:.1f}s")

            def measure(size: str, target: int, offset: int) -> None:
                fill(target)
                stored[size] = stores.head(goals)
                if growth:
                    lifecycles = workload.goals(self.seed + 4 + offset,
                                                self.sizes.growth_goals, self.today,
                                                first=900_000 + offset)
                    commands = workload.interleave(self.seed, lifecycles)
                    self.log(f"growth: {len(commands):,} commands with {stored[size]:,}"
                             " events stored")
                    rates[size] = self._command_rates(f"growth@{size}", commands, goals, app)
                if prove:
                    with contextlib.closing(baseline.BaselineApp(
                            {**pair.env, **baseline.UNCACHED})) as reader:
                        proved[size] = self._prove_times(size, goals, reader, first_ids)
                if size == "small" and (rebuild or verify):
                    small_runs.update(self._small_log(pair, rebuild, verify))
                if size == "small" and cli:
                    cli_small.update(cli_memory.small(self, pair))

            measure("small", self.sizes.small_events, 0)
            measure("large", self.sizes.large_events, 10_000)
        if growth:
            self._growth(rates, stored)
        if rebuild or verify:
            self._large_log(pair, small_runs, rebuild, verify)
        if prove:
            self._prove(proved)
        if cli:
            cli_memory.large(self, pair, cli_small)

    def _small_log(self, pair: stores.Pair, rebuild: bool, verify: bool
                   ) -> dict[str, dict[str, Any]]:
        """The children at the small log, once each, for their peak memory."""
        runs = {}
        if rebuild:
            runs["rebuild"] = self.child("rebuild", pair.url)
        if verify:
            runs["verify"] = self.child("verify", pair.url)
        runs["baseline"] = self.child("read", json.dumps(pair.env))
        es = runs["baseline"]
        parts = [f"{side} {r['events'] / r['seconds']:,.0f} events/s, peak {r['peak_mb']:.0f} MB"
                 for side, r in runs.items()]
        self.log(f"small log ({es['events']:,} events): {'; '.join(parts)}")
        return runs

    def _large_log(self, pair: stores.Pair, small: dict[str, dict[str, Any]], rebuild: bool,
                   verify: bool) -> None:
        """rebuild and verify of the large log, each in a child process, alternating with
        the baseline's read-and-decode (one set of baseline samples for both figures)."""
        runs: dict[str, list[dict[str, Any]]] = {}

        def run(work: str, *args: str, profiled: str | None = None) -> Callable[[int], float]:
            def go(rep: int) -> float:
                profile = self.profiler.child_file(profiled) if profiled else None
                result = self.child(work, *args, profile=profile)
                if profiled:
                    self.profiler.add_file(profiled, profile)
                runs.setdefault(work, []).append(result)
                return float(result["events"] / result["seconds"])

            return go

        children: dict[str, Callable[[int], float]] = {}
        if rebuild:
            children["rebuild"] = run("rebuild", pair.url, profiled="rebuild")
        if verify:
            children["verify"] = run("verify", pair.url, profiled="verify")
        children["baseline"] = run("read", json.dumps(pair.env))
        rates = self.alternate("large log", "events/s", children)
        if rebuild:
            self._rebuild(rates["rebuild"], rates["baseline"], runs["rebuild"], runs["read"],
                          small)
        if verify:
            self._verify(rates["verify"], rates["baseline"], runs["verify"], runs["read"],
                         small)

    def _growth(self, rates: dict[str, dict[str, list[float]]], stored: dict[str, int]
                ) -> None:
        gf_small, gf_large = _median(rates["small"]["goalflow"]), _median(
            rates["large"]["goalflow"])
        es_small, es_large = _median(rates["small"]["baseline"]), _median(
            rates["large"]["baseline"])
        ratio = gf_large / gf_small
        self.results["growth"] = {
            "title": "growth", "unit": "commands/s",
            "size": {"small_events": stored["small"], "large_events": stored["large"],
                     "goals": self.sizes.growth_goals},
            "goalflow": {"small": _stats(rates["small"]["goalflow"]),
                         "large": _stats(rates["large"]["goalflow"])},
            "baseline": {"small": _stats(rates["small"]["baseline"]),
                         "large": _stats(rates["large"]["baseline"])},
            "ratio": ratio, "ratio_is": "goalflow large / small",
            "baseline_ratio": es_large / es_small,
            "goalflow_vs_baseline": {"small": gf_small / es_small, "large": gf_large / es_large},
            "target": TARGETS["growth"], "pass": ratio >= TARGETS["growth"],
            "notes": [f"{self.sizes.growth_goals} new goals' mixed commands (one per"
                      " transaction, read models inline) on a store pre-filled to"
                      f" {stored['small']:,} and then {stored['large']:,} events",
                      f"baseline large/small: {es_large / es_small:.2f}; goalflow/baseline:"
                      f" {gf_small / es_small:.2f} small, {gf_large / es_large:.2f} large"],
            "row": [f"{_short(stored['small'])} -> {_short(stored['large'])} events",
                    f"{gf_small:,.0f} -> {gf_large:,.0f} cmd/s",
                    f"{es_small:,.0f} -> {es_large:,.0f} cmd/s", f"{ratio:.2f}",
                    f">= {TARGETS['growth']:g} large/small"],
        }

    def _rebuild(self, rates: list[float], es_rates: list[float], runs: list[dict[str, Any]],
                 es_runs: list[dict[str, Any]], small: dict[str, dict[str, Any]]) -> None:
        events = runs[0]["events"]
        gf, es = _median(rates), _median(es_rates)
        peak_small = small["rebuild"]["peak_mb"]
        peak_large = max(r["peak_mb"] for r in runs)
        es_small = small["baseline"]["peak_mb"]
        es_large = max(r["peak_mb"] for r in es_runs)
        memory_ok = peak_large < TARGETS["rebuild_memory_mb"] and peak_large <= FLAT * peak_small
        small_events = small["rebuild"]["events"]
        self.results["rebuild"] = {
            "title": "projection rebuild", "unit": "events/s",
            "size": {"events": events, "small_events": small_events},
            "goalflow": _stats(rates), "baseline": _stats(es_rates),
            "ratio": gf / es, "ratio_is": "goalflow rebuild / baseline read+decode",
            "target": TARGETS["rebuild"], "pass": gf / es >= TARGETS["rebuild"],
            "notes": ["goalflow: every read model rebuilt from the log in one pass (as"
                      " goalflow projections rebuild), in a process of its own",
                      "baseline: select_notifications in pages of 1000 + mapper.to_domain_event"
                      " for each, in a process of its own (the same runs as verify's)"],
            "row": [f"{_short(events)} events", f"{gf:,.0f} events/s", f"{es:,.0f} events/s",
                    f"{gf / es:.2f}", f">= {TARGETS['rebuild']:g}"],
        }
        self.results["rebuild_memory"] = {
            "title": "rebuild peak memory", "unit": "MB (peak RSS of the process)",
            "size": {"small_events": small_events, "large_events": events},
            "goalflow": {"small": peak_small, "large": peak_large},
            "baseline": {"small": es_small, "large": es_large},
            "small_log_run": {"goalflow": small["rebuild"], "baseline": small["baseline"]},
            "ratio": peak_large / peak_small, "ratio_is": "goalflow large / small peak",
            "target": TARGETS["rebuild_memory_mb"], "pass": memory_ok,
            "notes": [f"peak RSS (VmHWM) of the child process, at {small_events:,} and {events:,}"
                      f" events; passes under {TARGETS['rebuild_memory_mb']} MB and at most"
                      f" {FLAT:g} x the small log's peak"],
            "row": [f"{_short(small_events)} -> {_short(events)} events",
                    f"{peak_small:,.0f} -> {peak_large:,.0f} MB",
                    f"{es_small:,.0f} -> {es_large:,.0f} MB", f"{peak_large / peak_small:.2f}",
                    f"< {TARGETS['rebuild_memory_mb']} MB, flat"],
        }

    def _verify(self, rates: list[float], es_rates: list[float], runs: list[dict[str, Any]],
                es_runs: list[dict[str, Any]], small: dict[str, dict[str, Any]]) -> None:
        events = runs[0]["events"]
        if not all(r["intact"] for r in [*runs, small["verify"]]):
            raise SystemExit("verify: the benchmark's own store did not verify")
        gf, es = _median(rates), _median(es_rates)
        ratio = gf / es
        self.results["verify"] = {
            "title": "verify", "unit": "events/s",
            "size": {"events": events, "small_events": small["verify"]["events"]},
            "goalflow": _stats(rates), "baseline": _stats(es_rates),
            "ratio": ratio, "ratio_is": "goalflow verify / baseline read+decode",
            "target": TARGETS["verify"], "pass": ratio >= TARGETS["verify"],
            "notes": ["goalflow: goals.verify() of the whole log (every leaf recomputed from"
                      " the stored rows, every node checked, the root), the store opened"
                      " read-only, in a process of its own",
                      "baseline: the read-and-decode of projection rebuild (the same runs when"
                      " both are measured), alternating with verify"],
            "row": [f"{_short(events)} events", f"{gf:,.0f} events/s", f"{es:,.0f} events/s",
                    f"{ratio:.2f}", f">= {TARGETS['verify']:g}"],
        }
        peak_small, peak_large = small["verify"]["peak_mb"], max(r["peak_mb"] for r in runs)
        es_small, es_large = small["baseline"]["peak_mb"], max(r["peak_mb"] for r in es_runs)
        small_events = small["verify"]["events"]
        flat = peak_large / peak_small
        self.results["verify_memory"] = {
            "title": "verify peak memory", "unit": "MB (peak RSS of the process)",
            "size": {"small_events": small_events, "large_events": events},
            "goalflow": {"small": peak_small, "large": peak_large},
            "baseline": {"small": es_small, "large": es_large},
            "small_log_run": {"goalflow": small["verify"], "baseline": small["baseline"]},
            "ratio": flat, "ratio_is": "goalflow large / small peak",
            "target": TARGETS["verify_memory"], "pass": flat <= TARGETS["verify_memory"],
            "notes": [f"peak RSS (VmHWM) of the verify process, at {small_events:,} and"
                      f" {events:,} events; passes at most {FLAT:g} x the small log's peak"],
            "row": [f"{_short(small_events)} -> {_short(events)} events",
                    f"{peak_small:,.0f} -> {peak_large:,.0f} MB",
                    f"{es_small:,.0f} -> {es_large:,.0f} MB", f"{flat:.2f}",
                    f"<= {FLAT:g} large/small"],
        }

    def _prove_goals(self) -> int:
        return 5 if self.preset == "quick" else PROVE_GOALS

    def _prove_times(self, size: str, goals: goalflow.Goals, app: baseline.BaselineApp,
                     ids: list[UUID]) -> dict[str, Any]:
        """Seconds to prove each goal against a digest taken now (its median over the
        repetitions), and the baseline's repository.get of the same goal, alternating."""
        digest = goals.digest()
        proof = goals.prove(ids[0], digest)
        checked = proofs.check(proof, digest)  # what is timed proves something
        if len(checked) != app.repository.get(ids[0]).version:
            raise SystemExit(f"prove: the proof of goal {ids[0]} does not hold its events")
        times: dict[str, list[list[float]]] = {"goalflow": [[] for _ in ids],
                                               "baseline": [[] for _ in ids]}
        proved = [0] * len(ids)
        for rep in range(self.repeat):
            for k, goal_id in enumerate(ids):
                def run_goalflow(k: int = k, goal_id: UUID = goal_id) -> float:
                    def work() -> None:
                        proved[k] = len(goals.prove(goal_id, digest)["events"])

                    return self.profiler.timed("prove", work)

                def run_baseline(goal_id: UUID = goal_id) -> float:
                    began = time.perf_counter()
                    app.repository.get(goal_id)
                    return time.perf_counter() - began

                sides: list[tuple[str, Callable[[], float]]] = [("goalflow", run_goalflow),
                                                                ("baseline", run_baseline)]
                for side, run in sides if (rep + k) % 2 == 0 else sides[::-1]:
                    times[side][k].append(run())
        events = sum(proved)
        result = {side: [_median(t) for t in per_goal] for side, per_goal in times.items()}
        self.log(f"prove@{size} ({digest.size:,} events, {len(ids)} goals, {events:,} events"
                 f" proved): goalflow {_median(result['goalflow']) * 1000:.2f} ms, baseline"
                 f" get {_median(result['baseline']) * 1000:.2f} ms a goal (median)")
        return {**result, "tree_size": digest.size, "events": events}

    def _prove(self, proved: dict[str, dict[str, Any]]) -> None:
        small, large = proved["small"], proved["large"]
        gf_small, gf_large = _median(small["goalflow"]), _median(large["goalflow"])
        es_small, es_large = _median(small["baseline"]), _median(large["baseline"])
        ratio = gf_large / gf_small
        goals = len(small["goalflow"])

        def ms(seconds: float) -> str:
            return f"{seconds * 1000:,.2f}"

        self.results["prove"] = {
            "title": "prove", "unit": "seconds per goal",
            "size": {"small_events": small["tree_size"], "large_events": large["tree_size"],
                     "goals": goals, "events_proved": small["events"]},
            "goalflow": {"small": _stats(small["goalflow"]), "large": _stats(large["goalflow"])},
            "baseline": {"small": _stats(small["baseline"]), "large": _stats(large["baseline"])},
            "baseline_is": "eventsourcing repository.get of the same goal",
            "ratio": ratio, "ratio_is": "goalflow large / small, seconds (lower is better)",
            "baseline_ratio": es_large / es_small,
            "target": TARGETS["prove"], "pass": ratio <= TARGETS["prove"],
            "notes": [f"goals.prove(goal_id, digest) of the same {goals} goals"
                      f" ({small['events'] / goals:.0f} events each on average), against a"
                      f" digest taken at {small['tree_size']:,} and then {large['tree_size']:,}"
                      " events in the growth store; the median over the goals of each goal's"
                      f" median of {self.repeat}; samples are per goal",
                      "not alternated between the sizes (the store grows between them);"
                      " alternated with the baseline's repository.get of the same goal,"
                      f" whose large/small is {es_large / es_small:.2f}"],
            "row": [f"{_short(small['tree_size'])} -> {_short(large['tree_size'])} events",
                    f"{ms(gf_small)} -> {ms(gf_large)} ms",
                    f"{ms(es_small)} -> {ms(es_large)} ms (get)", f"{ratio:.2f}",
                    f"<= {TARGETS['prove']:g} large/small"],
        }

    def writers(self) -> None:
        """PostgreSQL: command throughput with 4 writer processes vs 1, disjoint goals."""
        if self.backend.kind != "postgresql":
            self.results["writers"] = {"title": "PostgreSQL writers", "skipped":
                                       "only with --db postgresql://...",
                                       "row": ["-", "-", "-", "-", f">= {TARGETS['writers']:g}"
                                               " 4/1"]}
            return
        pair = self.backend.new("writers")
        with stores.opened(pair) as (goals, _app):
            # Both stores' tables made before the writers race to; goalflow's read models in
            # worker mode (as issue 17 has it): a worker, not the writers, keeps them current.
            for name in sorted(goals.projections.all):
                goals.projections.set_mode(name, "worker")
        counter = {"next": 0}

        def run(side: str, writers: int) -> Callable[[int], float]:
            def go(rep: int) -> float:
                files = []
                for _ in range(writers):
                    counter["next"] += 1
                    lifecycles = workload.goals(self.seed + 5 + counter["next"],
                                                self.sizes.writer_goals, self.today,
                                                first=1_000_000 + 1_000 * counter["next"])
                    path = self.tmp / f"writer-{counter['next']}.json"
                    path.write_text(json.dumps(workload.interleave(self.seed, lifecycles)))
                    files.append(path)
                target = pair.url if side == "goalflow" else json.dumps(pair.env)
                return self._writers(side, target, files)

            return go

        rates = self.alternate("writers", "cmd/s", {
            "goalflow 1": run("goalflow", 1), "baseline 1": run("baseline", 1),
            "goalflow 4": run("goalflow", WRITERS), "baseline 4": run("baseline", WRITERS)})
        gf1, gf4 = _median(rates["goalflow 1"]), _median(rates[f"goalflow {WRITERS}"])
        es1, es4 = _median(rates["baseline 1"]), _median(rates[f"baseline {WRITERS}"])
        ratio = gf4 / gf1
        self.results["writers"] = {
            "title": "PostgreSQL writers", "unit": "commands/s",
            "size": {"writers": WRITERS, "goals_per_writer": self.sizes.writer_goals},
            "goalflow": {"1": _stats(rates["goalflow 1"]),
                         str(WRITERS): _stats(rates[f"goalflow {WRITERS}"])},
            "baseline": {"1": _stats(rates["baseline 1"]),
                         str(WRITERS): _stats(rates[f"baseline {WRITERS}"])},
            "ratio": ratio, "ratio_is": f"goalflow {WRITERS} writers / 1",
            "baseline_ratio": es4 / es1,
            "target": TARGETS["writers"], "pass": ratio >= TARGETS["writers"],
            "notes": [f"each writer a process running {self.sizes.writer_goals} goals' mixed"
                      " commands of its own; throughput = all commands / (last end - first"
                      " start); goalflow's read models in worker mode (no worker runs)",
                      f"baseline {WRITERS}/1: {es4 / es1:.2f}",
                      f"{os.cpu_count()} cores on this machine"],
            "row": [f"1 -> {WRITERS} writers", f"{gf1:,.0f} -> {gf4:,.0f} cmd/s",
                    f"{es1:,.0f} -> {es4:,.0f} cmd/s", f"{ratio:.2f}",
                    f">= {TARGETS['writers']:g} {WRITERS}/1"],
        }

    def _writers(self, side: str, target: str, files: list[Path]) -> float:
        procs = []
        for path in files:
            command = [sys.executable, "-m", "benchmarks.child", "writer", side, target,
                       str(path)]
            profile = self.profiler.child_file("writers") if side == "goalflow" else None
            if profile:
                command += ["--profile", profile]
            procs.append((subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, text=True), profile))
        for proc, _ in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise SystemExit("a writer failed to start")
        for proc, _ in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc, profile in procs:
            out, _ = proc.communicate()
            if proc.returncode != 0:
                raise SystemExit("a writer failed")
            results.append(json.loads(out.strip().splitlines()[-1]))
            if profile:
                self.profiler.add_file("writers", profile)
        elapsed = max(r["end"] for r in results) - min(r["start"] for r in results)
        return float(sum(r["commands"] for r in results) / elapsed)

    def _figure(self, key: str, title: str, rates: dict[str, list[float]], unit: str,
                short_unit: str, *, size: dict[str, int], size_text: str, notes: list[str],
                extra: dict[str, Any] | None = None) -> None:
        gf, es = _median(rates["goalflow"]), _median(rates["baseline"])
        ratio = gf / es
        self.results[key] = {
            "title": title, "unit": unit, "size": size,
            "goalflow": _stats(rates["goalflow"]), "baseline": _stats(rates["baseline"]),
            "ratio": ratio, "ratio_is": "goalflow/baseline",
            "target": TARGETS[key], "pass": ratio >= TARGETS[key], "notes": notes,
            **(extra or {}),
            "row": [size_text, f"{gf:,.0f} {short_unit}", f"{es:,.0f} {short_unit}",
                    f"{ratio:.2f}", f">= {TARGETS[key]:g}"],
        }

    # -- the run --------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        only = set(self.options.only.split(",")) if self.options.only else set(FIGURES)
        started = datetime.now(UTC)
        try:
            machine = machine_info(self.backend)
            self.log(f"{self.preset} sizes on {self.backend.kind} ({self.backend.where()}),"
                     f" {self.repeat} repetitions")
            if "commands" in only:
                self.commands()
            if "chain" in only:
                self.chain()
            if "bulk" in only:
                self.bulk()
            if "load" in only:
                self.load()
            if "long" in only:
                self.long()
            if only & {"growth", "rebuild", "verify", "prove", "cli_memory"}:
                self.large(only)
            if "writers" in only:
                self.writers()
            if "encryption" in only:
                encryption.commands(self)
                encryption.load(self)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.backend.cleanup()
        self.profiler.write()
        notes = [self.options.note] if self.options.note else []
        if code_digest() != machine["code_sha256"]:
            notes.append("goalflow's code changed on disk during the run")
            self.log("warning: goalflow's code changed on disk during the run")
        return {
            "format": "goalflow-bench", "format_version": 1,
            "started_at": started.isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - self.began, 1),
            "preset": self.preset, "sizes": attrs.asdict(self.sizes), "repeat": self.repeat,
            "batch": self.batch, "seed": self.seed, "store": self.backend.kind,
            "figures_run": [f for f in FIGURES if f in only],
            "profiled": self.profiler.enabled, "notes": notes,
            "load_average_after": _loadavg(),
            "machine": machine, "figures": self.results,
        }


def goalflow_apply(url: str, path: Path, batch: int) -> None:
    """``goalflow --db URL apply --batch N FILE`` in this process, its output discarded.

    ``batch`` is the commands (one event each) per transaction; the baseline appends the same
    number of events per transaction. A goalflow whose ``apply`` has no ``--batch`` option
    records one command per transaction, so it runs only with ``batch`` 1.
    """
    from goalflow.cli import cli

    args = ["--db", url, "apply", str(path)]
    if apply_batches():
        args[3:3] = ["--batch", str(batch)]
    elif batch != 1:
        raise SystemExit("--batch: this goalflow's apply has no --batch option (it records one"
                         " command per transaction); use --batch 1")
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        cli.main(args, prog_name="goalflow", standalone_mode=False)


def apply_batches() -> bool:
    """Whether ``goalflow apply`` takes ``--batch N``."""
    from goalflow.cli import cli

    apply = cli.commands["apply"]
    return any(param.name == "batch" for param in apply.params)


DEFAULT_BATCH = 100
"""``--batch`` when goalflow apply has it: its own default for a file."""


class Profiler:
    """With ``--profile DIR``: cProfile of goalflow's side of each figure (not the baseline)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.enabled = directory is not None
        self.profiles: dict[str, cProfile.Profile] = {}
        self.files: dict[str, list[str]] = {}
        self._count = 0
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def timed(self, figure: str, work: Callable[[], Any]) -> float:
        """Seconds ``work`` took (profiled, when profiling)."""
        if not self.enabled:
            began = time.perf_counter()
            work()
            return time.perf_counter() - began
        profiler = self.profiles.setdefault(figure, cProfile.Profile())
        began = time.perf_counter()
        profiler.runcall(work)
        return time.perf_counter() - began

    def child_file(self, figure: str) -> str | None:
        if self.directory is None:
            return None
        self._count += 1
        return str(self.directory / f".{figure}-{self._count}.prof")

    def add_file(self, figure: str, path: str | None) -> None:
        if path is not None:
            self.files.setdefault(figure, []).append(path)

    def write(self) -> None:
        if self.directory is None:
            return
        for figure in sorted(set(self.profiles) | set(self.files)):
            sources: list[Any] = []
            if figure in self.profiles:
                sources.append(self.profiles[figure])
            sources += self.files.get(figure, [])
            stats = pstats.Stats(*sources)
            stats.dump_stats(str(self.directory / f"{figure}.prof"))
            (self.directory / f"{figure}.txt").write_text(hot_spots(stats))
            for path in self.files.get(figure, []):
                Path(path).unlink(missing_ok=True)


def hot_spots(stats: pstats.Stats, top: int = 25) -> str:
    """The functions taking the most time by themselves, and the goalflow (and projection)
    functions taking the most including what they call, each with its share of the total."""
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in entries.values()) or 1.0

    prefixes = [f"{d.parent}/" for d in code_dirs()] + [f"{ROOT}/"]

    def name(key: tuple[str, int, str]) -> str:
        file, line, function = key
        for prefix in prefixes:
            if file.startswith(prefix):
                file = file[len(prefix):]
                break
        else:
            for marker in ("site-packages/", "/lib/python3."):
                if marker in file:
                    file = file.split(marker, 1)[1]
                    break
        return f"{file}:{line}:{function}"

    lines = [f"total {total:.2f}s (profiled; the profiler slows small calls down)", "",
             "self time", "  share    self  calls  function"]
    by_self = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    lines += [f"  {tt / total:5.1%} {tt:7.2f}s {nc:6d}  {name(key)}"
              for key, (_cc, nc, tt, _ct, _callers) in by_self]
    lines += ["", "including callees (goalflow and its read models only)",
              "  share  cumulative  calls  function"]
    ours = [(key, value) for key, value in entries.items()
            if any(part in key[0] for part in ("/goalflow/", "/projections/",
                                               "/goalflow_projections/"))]
    by_cum = sorted(ours, key=lambda kv: kv[1][3], reverse=True)[:top]
    lines += [f"  {ct / total:5.1%} {ct:10.2f}s {nc:6d}  {name(key)}"
              for key, (_cc, nc, _tt, ct, _callers) in by_cum]
    return "\n".join(lines) + "\n"


# -- reporting ------------------------------------------------------------------------------


def _median(samples: list[float]) -> float:
    return float(statistics.median(samples))


def _stats(samples: list[float]) -> dict[str, Any]:
    return {"median": _median(samples), "samples": [round(s, 3) for s in samples]}


def _short(n: int) -> str:
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    if n >= 1_000 and n % 100 == 0:
        return f"{n / 1_000:g}k"
    return f"{n:,}"


def _loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine_info(backend: stores.Backend) -> dict[str, Any]:
    def cpu_model() -> str:
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        return platform.processor() or "?"

    def memory_gb() -> float | None:
        with contextlib.suppress(OSError, ValueError):
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
        return None

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False)
        return done.stdout.strip()

    return {
        "platform": platform.platform(), "cpu": cpu_model(), "cores": os.cpu_count(),
        "memory_gb": memory_gb(), "python": platform.python_version(),
        "goalflow": version("goalflow"), "eventsourcing": version("eventsourcing"),
        "orjson": version("orjson"), "psycopg": version("psycopg"),
        "store": backend.kind, "store_version": backend.version(),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "code_sha256": code_digest(), "code_from": [str(d) for d in code_dirs()],
        "load_average": _loadavg(),
    }


def code_dirs() -> list[Path]:
    """Where the goalflow being measured was imported from (the package and its read models)."""
    projections = importlib.import_module("goalflow_projections")
    return [Path(goalflow.__file__).parent, Path(str(projections.__file__)).parent]


def code_digest() -> str:
    """SHA-256 of the measured goalflow's code as it is on disk (committed or not), to tell
    apart runs on the same commit with different uncommitted changes."""
    sha = hashlib.sha256()
    for directory in code_dirs():
        for path in sorted(directory.rglob("*.py")):
            sha.update(f"{directory.name}/{path.relative_to(directory)}".encode() + b"\0"
                       + path.read_bytes() + b"\0")
    return sha.hexdigest()


def table(result: dict[str, Any]) -> str:
    headers = ["figure", "size", "goalflow", "baseline", "ratio", "target", "result"]
    rows = []
    for key in ("commands", "chain", "bulk", "load", "rebuild", "rebuild_memory", "verify",
                "verify_memory", "long", "growth", "prove", "writers", "encrypted_commands",
                "encrypted_load", "cli_memory"):
        figure = result["figures"].get(key)
        if figure is None:
            continue
        verdict = "skipped" if "skipped" in figure else "pass" if figure["pass"] else "MISS"
        rows.append([figure["title"], *figure["row"], verdict])
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    out = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
           for row in [headers, *rows]]
    out.insert(1, "  ".join("-" * w for w in widths))
    m = result["machine"]
    head = (f"goalflow {m['goalflow']} vs eventsourcing {m['eventsourcing']} on"
            f" {result['store']} {m['store_version']}; {result['preset']} sizes, median of"
            f" {result['repeat']}; {m['cpu']}, {m['cores']} cores")
    legend = ["ratio: goalflow speed / baseline speed (higher is better for goalflow), except"
              " chain cost (goalflow with / without the chain), long goal (goalflow with /"
              " without snapshots), growth (goalflow at the large / the small store), writers"
              " (4 writers / 1), memory (large / small peak) and prove (seconds at the large"
              " / the small store: lower is better) and the encrypted figures (encrypted store /"
              " the same unencrypted)."]
    if result["profiled"]:
        legend.append("PROFILED RUN: goalflow's timings include cProfile's overhead.")
    legend += [f"note: {note}" for note in result["notes"]]
    notes = []
    for key, figure in result["figures"].items():
        for note in figure.get("notes", []):
            notes.append(f"  {key}: {note}")
    return "\n".join([head, "", *out, "", *legend, "", "notes:", *notes]) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Figures: " + ", ".join(FIGURES) + " (writers only on PostgreSQL).")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test in"
                      " seconds (the timings mean little)")
    size.add_argument("--scale", action="store_true", help="the issue's sizes: 100,000"
                      " commands applied, 1,000,000 events stored and rebuilt")
    parser.add_argument("--db", metavar="URL", help="postgresql://user@host/db[?schema=prefix]"
                        " or sqlite:///path/prefix.db (default: SQLite files in a temp dir)")
    parser.add_argument("--repeat", type=int, default=3, metavar="N",
                        help="repetitions of each measurement (default 3)")
    parser.add_argument("--batch", type=int, metavar="N",
                        help="commands (events) per transaction in bulk apply (default"
                        f" {DEFAULT_BATCH}, goalflow apply's own for a file; 1 for a goalflow"
                        " whose apply has no --batch)")
    parser.add_argument("--only", metavar="FIGURES", help="comma-separated figures to run")
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE")
    parser.add_argument("--no-save", action="store_true", help="do not write"
                        " benchmarks/latest-<store>.json")
    parser.add_argument("--profile", metavar="DIR", help="cProfile goalflow's side of each"
                        " figure into DIR/<figure>.prof and .txt (timings then include the"
                        " profiler's overhead)")
    parser.add_argument("--note", help="a remark kept with the results (e.g. machine busy)")
    parser.add_argument("--seed", type=int, default=7, help="workload seed (default 7)")
    parser.add_argument("--keep", action="store_true", help="keep the stores afterwards")
    options = parser.parse_args(argv)
    if options.repeat < 1 or (options.batch is not None and options.batch < 1):
        parser.error("--repeat and --batch must be at least 1")
    unknown = set(options.only.split(",")) - set(FIGURES) if options.only else set()
    if unknown:
        parser.error(f"--only: unknown figure {sorted(unknown)[0]!r} (known:"
                     f" {', '.join(FIGURES)})")
    return options


def main(argv: list[str] | None = None) -> None:
    options = parse_args(argv)
    bench = Bench(options)
    try:
        result = bench.run()
    except psycopg.OperationalError as e:
        raise SystemExit(f"scripts/bench: {str(e).strip().splitlines()[0]}") from None
    sys.stdout.write(table(result))
    text = json.dumps(result, indent=2) + "\n"
    if options.json:
        Path(options.json).write_text(text)
    complete = set(result["figures_run"]) >= set(FIGURES) - {"writers"}
    if not (options.no_save or options.quick or result["profiled"]) and complete:
        latest = RESULTS / f"latest-{bench.backend.kind}.json"
        latest.write_text(text)
        bench.log(f"results written to {latest.relative_to(ROOT)}")
