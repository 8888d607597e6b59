"""Measure how fast the read models rebuild from a log of realistic events.

    .venv/bin/python scripts/rebuild_rate.py [--events 100000] [--db URL]

Builds a store of goals with a realistic mix of events (written in batches,
read models off), then rebuilds every projection from scratch and reports
events per second for each, and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import goalflow
from goalflow import Actor, Goal, Measure, Subject

CLINICIAN = Actor("dr-okafor", "clinician")


def build(url: str, events: int) -> int:
    goals = goalflow.open(url, projections=[])
    store = goals.store
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    written = 0
    n = 0
    while written < events:
        n += 1
        client = Actor(f"client-{n}", "client")
        now = start + timedelta(minutes=n)
        goal = Goal.draft(
            goal_id=uuid4(), subject=Subject.client(client.id),
            statement="Use relaxation and daily exercise to manage anxiety", by=CLINICIAN,
            occurred_at=now, recorded_at=now, client_words="stop panicking before work",
            measures=[Measure("GAD-7", 15, 7)], target_date=date(2026, 12, 31),
            steps=["Learn two breathing exercises", "Meditate for 10 minutes daily"])
        goal.agree(by=client, terms_version=1, method="signature", occurred_at=now,
                   recorded_at=now)
        goal.complete_step(by=client, step_id="s1", occurred_at=now, recorded_at=now)
        goal.revise(by=CLINICIAN, reason="Meditation made things worse", remove_steps=["s2"],
                    add_steps=["10 minutes of yoga daily"], occurred_at=now, recorded_at=now)
        goal.agree(by=client, terms_version=2, method="portal", occurred_at=now,
                   recorded_at=now)
        goal.review(by=CLINICIAN, outcome="continue", occurred_at=now, recorded_at=now)
        per_goal = min(100, events - written)
        while goal.version < per_goal:
            goal.record_progress(by=client, measure="GAD-7", value=goal.version % 15,
                                 occurred_at=now, recorded_at=now)
        pending = goal.collect_events()
        store.append(goal, pending)
        written += len(pending)
    goals.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--db", help="store url (default: a SQLite file in a temp dir)")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'rebuild.db'}"
    began = time.perf_counter()
    written = build(url, args.events)
    print(f"built {written} events in {time.perf_counter() - began:.1f} s ({url})")
    goals = goalflow.open(url)  # installs the read models (their first build)
    for name in sorted(goals.projections.all):
        began = time.perf_counter()
        goals.projections.rebuild(name)
        seconds = time.perf_counter() - began
        print(f"rebuild {name:8} {written / seconds:9,.0f} events/s ({seconds:.1f} s)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
