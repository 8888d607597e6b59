"""The long form of the reliability trials: ``scripts/stress [--db URL] [counts]``.

Runs racing writers, a killed ``goalflow apply`` and killed projection workers and
rebuilds, each on a fresh store of the kind ``--db`` names (a SQLite file in a temporary
directory by default; with a PostgreSQL url, a schema of its own, dropped afterwards),
audits each store, and prints the summary table. Exits 1 if anything was lost,
duplicated or mismatched.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import harness
import orjson

ROWS = [
    ("commands attempted", "attempted"),
    ("accepted", "accepted"),
    ("refused by rule", "refused"),
    ("conflicts retried", "retried"),
    ("conflicts surfaced", "surfaced"),
    ("  of which without expected_version (must be 0)", "surfaced_without_expected_version"),
    ("kills survived", "kills"),
    ("events in the log", "events"),
    ("events lost (must be 0)", "lost"),
    ("duplicates (must be 0)", "duplicates"),
    ("refused but recorded (must be 0)", "refused_recorded"),
    ("goal versions wrong (must be 0)", "wrong_versions"),
    ("projection mismatches (must be 0)", "projection_mismatches"),
    ("seconds", "seconds"),
]
MUST_BE_ZERO = ("surfaced_without_expected_version", "lost", "duplicates", "refused_recorded",
                "wrong_versions", "projection_mismatches")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/stress", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="a PostgreSQL server url (default: SQLite files)")
    parser.add_argument("--writers", type=int, default=4, help="racing writer processes")
    parser.add_argument("--goals", type=int, default=8, help="goals the writers share")
    parser.add_argument("--commands", type=int, default=1_500, help="commands per writer")
    parser.add_argument("--expect-share", type=float, default=0.25,
                        help="share of commands that give expected_version")
    parser.add_argument("--crash-commands", type=int, default=10_000,
                        help="commands in the file that apply is killed during")
    parser.add_argument("--kills", type=int, default=12,
                        help="kills of apply, of the worker and of rebuild, each")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    results: dict[str, dict[str, Any]] = {}
    with harness.scratch_dir() as workdir:
        with fresh_store(args.db, workdir, "race") as url:
            results["racing writers"] = trial(url, lambda: harness.race(
                url, writers=args.writers, goals=args.goals, commands=args.commands,
                seed=args.seed, expect_share=args.expect_share))
        with fresh_store(args.db, workdir, "apply") as url:
            results["killed apply"] = trial(url, lambda: harness.crash_apply(
                url, goals=args.goals, commands=args.crash_commands, kills=args.kills,
                seed=args.seed, workdir=workdir)[0])
        with fresh_store(args.db, workdir, "projections") as url:
            sequence = harness.valid_sequence(goals=args.goals, commands=args.crash_commands,
                                              seed=args.seed + 1)
            results["killed worker, rebuild"] = trial(url, lambda: harness.crash_projections(
                url, sequence, kills=args.kills, seed=args.seed))
    store = "PostgreSQL" if args.db else "SQLite"
    print(table(store, results))
    if args.json:
        args.json.write_bytes(orjson.dumps({"store": store, "arguments": vars(args) | {
            "json": str(args.json)}, "results": results}, option=orjson.OPT_INDENT_2))
    failed = [f"{name}: {key}" for name, row in results.items() for key in MUST_BE_ZERO
              if row[key]]
    if failed:
        print("FAILED: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


def trial(url: str, run: Any) -> dict[str, Any]:
    print(f"{time.strftime('%H:%M:%S')} {url}", file=sys.stderr, flush=True)
    started = time.monotonic()
    tally: harness.Tally = run()
    findings = harness.audit(url, tally)
    return {"attempted": tally.attempted, "accepted": len(tally.accepted),
            "refused": len(tally.refused), "retried": tally.retried,
            "surfaced": tally.surfaced,
            "surfaced_without_expected_version": tally.surfaced_without_expected_version,
            "kills": tally.kills, "events": findings.events, "lost": findings.lost,
            "duplicates": findings.duplicates, "refused_recorded": findings.refused_recorded,
            "wrong_versions": findings.wrong_versions,
            "projection_mismatches": findings.projection_mismatches,
            "seconds": round(time.monotonic() - started, 1)}


def table(store: str, results: dict[str, dict[str, Any]]) -> str:
    names = list(results)
    width = max(len(label) for label, _ in ROWS)
    columns = [max(len(n), 8) for n in names]
    lines = [f"{store:<{width}}  " + "  ".join(f"{n:>{w}}" for n, w in zip(names, columns,
                                                                             strict=True))]
    for label, key in ROWS:
        cells = [f"{results[n][key]:>{w}}" for n, w in zip(names, columns, strict=True)]
        lines.append(f"{label:<{width}}  " + "  ".join(cells))
    return "\n".join(lines)


@contextmanager
def fresh_store(server: str | None, workdir: Path, name: str) -> Iterator[str]:
    if server is None:
        yield f"sqlite:///{workdir / name}.db"
        return
    import psycopg

    schema = f"gf_stress_{name}_{uuid.uuid4().hex[:8]}"
    try:
        yield f"{server}{'&' if '?' in server else '?'}schema={schema}"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
