"""The encryption figures: command throughput and goal load on an encrypted store, against
the same measurement on an unencrypted one (targets: at least 0.85 of it)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import goalflow
from benchmarks import stores, workload
from goalflow.commands import parse_command
from goalflow.crypto import master
from goalflow.persistence.urls import parse_url

TURNS = 10
"""How often the two sides take turns in a repetition of goal load (as in Bench._turns)."""


def _keys_schema(bench: Any, pair: stores.Pair) -> None:
    """A PostgreSQL store's key store is the schema <schema>_keys: removed afterwards."""
    url = parse_url(pair.url)
    if url.kind == "postgresql":
        bench.backend._schemas.append(f"{url.schema}_keys")


def commands(bench: Any) -> None:
    """The command mix of "command throughput" in an encrypted store and an unencrypted
    one, the two taking turns over the same slices."""
    sealed, plain = bench.backend.new("sealed"), bench.backend.new("plain")
    _keys_schema(bench, sealed)
    lifecycles = workload.goals(bench.seed, bench.sizes.command_goals, bench.today)
    mix = workload.interleave(bench.seed, lifecycles)
    parsed = [parse_command(c) for c in mix]
    bench.log(f"encrypted commands: {len(mix):,} commands over {len(lifecycles):,} goals,"
              " encrypted and not")
    key = master.new_key_text()
    with contextlib.closing(goalflow.open(sealed.url, master_key=key)) as on, \
            contextlib.closing(goalflow.open(plain.url)) as off:

        def run(goals: goalflow.Goals, profile: str) -> Callable[[int, int], float]:
            def go(lo: int, hi: int) -> float:
                def work() -> None:
                    for name, args in parsed[lo:hi]:
                        goals.execute(name, **args)

                return float(bench.profiler.timed(profile, work))

            return go

        rates = bench._turns("encrypted commands", len(mix), {
            "goalflow": run(on, "encrypted-commands"), "baseline": run(off, "plain-commands")})
    bench._figure(
        "encrypted_commands", "encrypted commands", rates, "commands/s", "cmd/s",
        size={"goals": len(lifecycles), "commands": len(mix), "events_per_transaction": 1},
        size_text=f"{len(lifecycles):,} goals, {len(mix):,} cmds, 1 event/tx",
        notes=["the command mix of command throughput in two fresh stores, one made with a"
               " master key (a data key per subject, AES-256-GCM per event), the same slices"
               " on both, taking turns; read models inline in both"],
        extra={"baseline_is": "the same store unencrypted", "ratio_is": "encrypted/plain"})


def load(bench: Any) -> None:
    """Load every goal (30-99 events each) from an encrypted store and an unencrypted one."""
    sealed, plain = bench.backend.new("sealedload"), bench.backend.new("plainload")
    _keys_schema(bench, sealed)
    lifecycles = workload.goals(bench.seed + 2, bench.sizes.load_goals, bench.today,
                                first=100_000, length=(30, 99))
    ids = [UUID(lc[0]["goal_id"]) for lc in lifecycles]
    events = sum(len(lc) for lc in lifecycles)
    key = master.new_key_text()
    with contextlib.closing(goalflow.open(sealed.url, master_key=key, projections=[])) as on, \
            contextlib.closing(goalflow.open(plain.url, projections=[])) as off:
        bench.log(f"encrypted load: filling {len(ids):,} goals, {events:,} events, twice")
        start = datetime.now(UTC) - timedelta(days=30)
        for k, lc in enumerate(lifecycles):
            stores.prefill_goalflow(on, lc, start + timedelta(minutes=k))
            stores.prefill_goalflow(off, lc, start + timedelta(minutes=k))
        bench.backend.settle()

        def run(goals: goalflow.Goals, profile: str) -> Callable[[int, int], float]:
            def go(lo: int, hi: int) -> float:
                def work() -> None:
                    for goal_id in ids[lo:hi]:
                        goals.get(goal_id)

                return float(bench.profiler.timed(profile, work))

            return go

        rates = _turns(bench, "encrypted load", len(ids), {
            "goalflow": run(on, "encrypted-load"), "baseline": run(off, "plain-load")})
    bench._figure(
        "encrypted_load", "encrypted goal load", rates, "goals/s", "goals/s",
        size={"goals": len(ids), "events": events},
        size_text=f"{len(ids):,} goals, {events:,} events",
        notes=["the goals of goal load, in a store made with a master key and in one"
               " without, each loaded once per repetition (data keys held in memory once"
               " read: every event and snapshot decrypted on each load), the two taking"
               f" turns every {len(ids) // TURNS:,} goals"],
        extra={"baseline_is": "the same store unencrypted", "ratio_is": "encrypted/plain"})


def _turns(bench: Any, what: str, total: int, runs: dict[str, Callable[[int, int], float]]
           ) -> dict[str, list[float]]:
    """Items per second of each of two sides, one sample per repetition, each repetition
    running all ``total`` items on both; ``runs[side](lo, hi)`` runs items lo..hi and
    returns seconds. The two take turns every tenth (who goes first alternating), as in
    ``Bench._turns``, so that a burst of load from elsewhere falls on both alike."""
    samples: dict[str, list[float]] = {side: [] for side in runs}
    edges = [total * k // TURNS for k in range(TURNS + 1)]
    for rep in range(bench.repeat):
        seconds = dict.fromkeys(runs, 0.0)
        for turn, (lo, hi) in enumerate(itertools.pairwise(edges)):
            order = list(runs.items())
            for side, run in order if (rep + turn) % 2 == 0 else order[::-1]:
                seconds[side] += run(lo, hi)
        for side in samples:
            samples[side].append(total / seconds[side])
        bench.log(f"{what} {rep + 1}/{bench.repeat}: "
                  + ", ".join(f"{side} {samples[side][-1]:,.1f}" for side in runs) + " goals/s")
    return samples
