"""scripts/bench --quick as CI runs it: every figure measured, at the sizes asked for, and
every derived number (median, ratio, verdict, table row) computed from the measured ones.

Timings are never asserted here (they mean nothing at these sizes, on a shared machine);
only that the benchmark runs end to end and that what it reports adds up.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import goalflow

ROOT = Path(__file__).resolve().parents[2]
# --quick's sizes, as the JSON records them.
QUICK = {"command_goals": 40, "bulk_commands": 300, "load_goals": 30, "small_events": 1_000,
         "large_events": 4_000, "long_events": 1_000, "growth_goals": 15, "writer_goals": 10}
# The targets benchmarks/README.md states.
TARGETS = {"commands": 0.8, "bulk": 1.0, "load": 3, "rebuild": 0.6, "rebuild_memory": 300,
           "long": 20, "growth": 0.8, "writers": 1.5, "chain": 0.9, "verify": 1.0,
           "verify_memory": 1.2, "prove": 2.0, "encrypted_commands": 0.85,
           "encrypted_load": 0.85, "cli_memory": 1.2}
# Figures whose ratio is goalflow's median over the baseline's.
OVER_BASELINE = ("commands", "bulk", "load", "rebuild", "encrypted_commands", "encrypted_load")
ALL_FIGURES = ["commands", "chain", "bulk", "load", "long", "growth", "rebuild", "verify",
               "prove", "writers", "encryption", "cli_memory"]
LARGEST_GOAL = 99  # events: the fill adds goals of 30-99 events until it reaches a size


def run_bench(tmp_path: Path, *args: str) -> tuple[dict[str, Any], str]:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--no-save", "--json", str(out), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


def check_stats(stats: dict[str, Any], repeat: int, where: str) -> float:
    """A median and its samples: as many as repetitions, positive, and the median theirs
    (the samples are rounded to 3 places). Returns the median."""
    samples = stats["samples"]
    assert len(samples) == repeat, where
    assert all(s > 0 for s in samples), (where, samples)
    assert stats["median"] == pytest.approx(statistics.median(samples), abs=1e-3), where
    return float(stats["median"])


def check_row(figure: dict[str, Any], table: str, ratio_text: str) -> None:
    """The table row shows the figure's own ratio and verdict."""
    row = figure["row"]
    assert row[3] == ratio_text, (figure["title"], row)
    verdict = "pass" if figure["pass"] else "MISS"
    line = next(line for line in table.splitlines() if line.startswith(figure["title"]))
    assert line.split() == [*figure["title"].split(), *" ".join(row).split(), verdict]


def test_quick_run_reports_every_figure_at_the_sizes_asked_and_adds_up(tmp_path: Path) -> None:
    result, table = run_bench(tmp_path, "--repeat", "2")

    assert result["format"] == "goalflow-bench"
    assert result["format_version"] == 1
    assert (result["preset"], result["store"], result["repeat"]) == ("quick", "sqlite", 2)
    assert result["sizes"] == QUICK
    assert result["batch"] == 100  # goalflow apply's own, for a file
    assert result["figures_run"] == ALL_FIGURES
    assert result["profiled"] is False
    machine = result["machine"]
    for key in ("platform", "cpu", "cores", "python", "eventsourcing", "store_version",
                "git_commit", "code_sha256"):
        assert machine[key], key
    figures = result["figures"]
    assert set(figures) == {*ALL_FIGURES, "rebuild_memory", "verify_memory",
                            "encrypted_commands", "encrypted_load"} - {"encryption"}
    assert figures["writers"]["skipped"]  # PostgreSQL only
    for key, figure in figures.items():
        assert figure["title"] in table, key
        if key != "writers":
            assert figure["target"] == TARGETS[key], key

    for key in OVER_BASELINE:
        figure = figures[key]
        gf = check_stats(figure["goalflow"], 2, f"{key} goalflow")
        es = check_stats(figure["baseline"], 2, f"{key} baseline")
        assert figure["ratio"] == pytest.approx(gf / es), key
        assert figure["pass"] is (figure["ratio"] >= figure["target"]), key
        check_row(figure, table, f"{figure['ratio']:.2f}")

    commands = figures["commands"]["size"]
    assert commands["goals"] == QUICK["command_goals"]
    assert commands["commands"] > commands["goals"]  # each goal a lifecycle of commands
    assert commands["events_per_transaction"] == 1
    bulk = figures["bulk"]["size"]
    assert bulk["commands"] == QUICK["bulk_commands"]
    assert bulk["events_per_transaction"] == result["batch"]
    assert 0 < bulk["goals"] <= bulk["commands"]
    load = figures["load"]
    assert load["size"]["goals"] == QUICK["load_goals"]
    assert 30 * QUICK["load_goals"] <= load["size"]["events"] <= 99 * QUICK["load_goals"]
    assert load["snapshots"] == 0  # goals of 30-99 events load by replay

    long = figures["long"]
    events = QUICK["long_events"] + 50  # 50 after the last snapshot
    assert long["size"] == {"events": events, "after_snapshot": 50}
    assert long["snapshots"] == events // 100  # one every 100 events
    with_snapshots = check_stats(long["goalflow"], 2, "long with snapshots")
    without = check_stats(long["baseline"], 2, "long without snapshots")
    assert long["baseline_is"] == "goalflow without snapshots"
    for side in ("no_snapshots", "snapshots"):
        check_stats(long["eventsourcing"][side], 2, f"long eventsourcing {side}")
    assert long["ratio"] == pytest.approx(with_snapshots / without)
    assert long["pass"] is (long["ratio"] >= TARGETS["long"])
    check_row(long, table, f"{long['ratio']:.1f}")

    growth = figures["growth"]
    stored = growth["size"]
    assert stored["goals"] == QUICK["growth_goals"]
    for size in ("small", "large"):
        assert QUICK[f"{size}_events"] <= stored[f"{size}_events"] \
            < QUICK[f"{size}_events"] + LARGEST_GOAL
    gf = {size: check_stats(growth["goalflow"][size], 2, f"growth goalflow {size}")
          for size in ("small", "large")}
    es = {size: check_stats(growth["baseline"][size], 2, f"growth baseline {size}")
          for size in ("small", "large")}
    assert growth["ratio"] == pytest.approx(gf["large"] / gf["small"])
    assert growth["baseline_ratio"] == pytest.approx(es["large"] / es["small"])
    assert growth["goalflow_vs_baseline"] == pytest.approx(
        {size: gf[size] / es[size] for size in gf})
    assert growth["pass"] is (growth["ratio"] >= TARGETS["growth"])
    check_row(growth, table, f"{growth['ratio']:.2f}")

    # The rebuilds read the growth store after its commands: the small log after the
    # small measurement's, the large one after the large measurement's.
    rebuild = figures["rebuild"]["size"]
    assert rebuild["small_events"] > stored["small_events"]
    assert rebuild["events"] > stored["large_events"]
    memory = figures["rebuild_memory"]
    assert memory["size"] == {"small_events": rebuild["small_events"],
                              "large_events": rebuild["events"]}
    small_run = memory["small_log_run"]
    assert small_run["goalflow"]["events"] == small_run["baseline"]["events"] \
        == rebuild["small_events"]
    assert memory["goalflow"]["small"] == small_run["goalflow"]["peak_mb"]
    assert memory["baseline"]["small"] == small_run["baseline"]["peak_mb"]
    peaks = [memory[side][size] for side in ("goalflow", "baseline")
             for size in ("small", "large")]
    assert all(peak > 0 for peak in peaks), peaks
    small, large = memory["goalflow"]["small"], memory["goalflow"]["large"]
    assert memory["ratio"] == pytest.approx(large / small)
    assert memory["pass"] is (large < TARGETS["rebuild_memory"] and large <= 1.2 * small)
    check_row(memory, table, f"{memory['ratio']:.2f}")
    check_cli_memory(figures["cli_memory"], table, stored)


def check_cli_memory(cli: dict[str, Any], table: str, stored: dict[str, Any]) -> None:
    """audit and events at both sizes: each large/small from its own runs, the figure's ratio
    the worse of the two, its verdict flat and under the cap."""
    assert cli["size"]["small_events"] >= stored["small_events"]
    assert cli["size"]["events"] >= stored["large_events"]
    for command in ("audit", "events"):
        small_run = cli["runs"]["small"][command]
        large_runs = cli["runs"]["large"][command]
        assert small_run["events"] == cli["size"]["small_events"]
        assert len(large_runs) == 2
        assert all(r["events"] == cli["size"]["events"] for r in large_runs)
        figure = cli["commands"][command]
        assert figure["small_mb"] == pytest.approx(small_run["peak_mb"], abs=0.05)
        assert figure["large_mb"] == pytest.approx(max(r["peak_mb"] for r in large_runs),
                                                   abs=0.05)
        assert figure["ratio"] == pytest.approx(figure["large_mb"] / figure["small_mb"],
                                                abs=0.01)
    worst = max(f["ratio"] for f in cli["commands"].values())
    assert cli["ratio"] == worst
    largest = max(f["large_mb"] for f in cli["commands"].values())
    assert cli["pass"] is (worst <= 1.2 and largest < cli["cap_mb"])
    check_row(cli, table, f"{cli['ratio']:.2f}")


@pytest.mark.postgres
def test_quick_run_on_postgres_measures_writers(tmp_path: Path, postgres_server: str) -> None:
    result, table = run_bench(tmp_path, "--db", postgres_server, "--repeat", "1",
                              "--only", "commands,writers")

    assert result["store"] == "postgresql"
    assert result["figures_run"] == ["commands", "writers"]
    assert set(result["figures"]) == {"commands", "writers"}
    writers = result["figures"]["writers"]
    assert writers["size"] == {"writers": 4, "goals_per_writer": QUICK["writer_goals"]}
    gf = {n: check_stats(writers["goalflow"][n], 1, f"writers goalflow {n}") for n in "14"}
    es = {n: check_stats(writers["baseline"][n], 1, f"writers baseline {n}") for n in "14"}
    assert writers["ratio"] == pytest.approx(gf["4"] / gf["1"])
    assert writers["baseline_ratio"] == pytest.approx(es["4"] / es["1"])
    assert writers["pass"] is (writers["ratio"] >= TARGETS["writers"])
    check_row(writers, table, f"{writers['ratio']:.2f}")
    commands = result["figures"]["commands"]
    ratio = (check_stats(commands["goalflow"], 1, "commands goalflow")
             / check_stats(commands["baseline"], 1, "commands baseline"))
    assert commands["ratio"] == pytest.approx(ratio)


@pytest.mark.postgres
def test_the_bench_stores_connect_with_the_db_urls_libpq_options(
        postgres_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import stores

    from goalflow.persistence.urls import parse_url

    name = "goalflow-bench-check"
    separator = "&" if "?" in postgres_server else "?"
    backend = stores.Backend(f"{postgres_server}{separator}sslmode=disable"
                             f"&application_name={name}")
    try:
        pair = backend.new("options")
        assert dict(parse_url(pair.url).options) == {"application_name": name,
                                                     "sslmode": "disable"}
        with stores.opened(pair, projections=[]) as (goals, app):
            with goals.store.recorder.transaction(commit=False) as tx:
                assert tx.execute("SHOW application_name").fetchone() == (name,)
            with app.recorder.datastore.transaction(commit=False) as cursor:  # the baseline's
                cursor.execute("SHOW application_name")
                assert cursor.fetchone() == {"application_name": name}
        with backend.connect() as conn:  # the run's own (schemas, server version)
            assert conn.execute("SHOW application_name").fetchone() == (name,)
    finally:
        backend.cleanup()


@pytest.mark.postgres
def test_settle_vacuums_and_analyzes_the_runs_tables(
        postgres_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import stores

    backend = stores.Backend(postgres_server)
    try:
        pair = backend.new("settle")
        with stores.opened(pair, projections=[]) as (goals, _app):
            goals.draft(goalflow.Subject.client("client-7"), "Walk to the shop",
                        by=goalflow.Actor("dr-lee", "clinician"))
        schema = backend._schemas[0]

        def never_analyzed() -> int:  # reltuples is -1 until a VACUUM or ANALYZE
            with backend.connect() as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid ="
                    " c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'"
                    " AND c.reltuples < 0", (schema,)).fetchone()
            return int(row[0]) if row else 0

        assert never_analyzed() > 0
        backend.settle()
        assert never_analyzed() == 0
    finally:
        backend.cleanup()


def test_the_baseline_keeps_the_goals_it_saved_as_goalflow_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fair baseline: eventsourcing's aggregate cache of 8,192 goals, neither
    # fast-forwarded nor copied (goalflow's RECENT_GOALS, handed over by take()); the
    # uncached one, for the figures that read every goal from the store.
    monkeypatch.syspath_prepend(str(ROOT))
    from datetime import date

    from benchmarks import baseline, workload

    from goalflow.persistence.store import RECENT_GOALS

    lifecycle = workload.goals(3, 1, date(2026, 12, 1), length=(12, 12))[0]
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
           "SQLITE_DBNAME": str(tmp_path / "baseline.db")}
    app = baseline.BaselineApp(env)
    assert app.repository.cache.maxsize == baseline.CACHED_GOALS == RECENT_GOALS
    goal = None
    for data in lifecycle:
        command, goal_id, args = baseline.parse(data)
        if goal is not None:
            assert app.repository.get(goal_id) is goal  # the one saved: no copy, no read
        goal = baseline.decide(goal, command, goal_id, args, *[datetime.now(UTC)] * 2)
        app.save(goal)
    assert goal is not None
    reader = baseline.BaselineApp({**env, **baseline.UNCACHED})
    assert reader.repository.cache is None
    loaded = reader.repository.get(goal.id)
    assert loaded is not goal
    assert loaded.version == goal.version == len(lifecycle)
    assert loaded.__dict__ == goal.__dict__
    app.close()
    reader.close()


def test_the_baselines_orjson_transcoding_reads_back_what_json_would(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from datetime import date

    from benchmarks import baseline, workload
    from eventsourcing.persistence import JSONTranscoder

    app = baseline.BaselineApp({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    assert isinstance(app.mapper.transcoder, baseline.OrjsonTranscoder)
    plain = JSONTranscoder()
    app.register_transcodings(plain)
    events = []
    for lifecycle in workload.goals(5, 20, date(2026, 12, 1)):
        goal = None
        for data in lifecycle:
            command, goal_id, args = baseline.parse(data)
            goal = baseline.decide(goal, command, goal_id, args, *[datetime.now(UTC)] * 2)
        assert goal is not None
        events += goal.collect_events()
    assert len({type(e) for e in events}) >= 8
    for event in events:
        stored = app.mapper.to_stored_event(event)
        state = plain.decode(stored.state)
        assert app.mapper.transcoder.decode(plain.encode(state)) == state
        assert app.mapper.to_domain_event(stored).__dict__ == event.__dict__
    assert app.mapper.transcoder.decode(b'[{"_type_": "date_iso", "_data_": "2026-12-01"}]'
                                        ) == [date(2026, 12, 1)]
