"""Worker mode: a read model maintained by a separate process following the log.

A projection set to ``worker`` is no longer written by commands; ``catch_up`` (or ``run``,
what ``goalflow projections run`` does) applies what it has not seen, in batches, each with
a compare-and-set of its position, so two workers racing never apply an event twice.
"""

from __future__ import annotations

import threading

import pytest
from anxiety_goal import MAYA, agreed_anxiety_goal, recorded_event_count
from as_printed import printed
from mayas_month import YOGA_STEP, record_mayas_month
from random_clinic import ClinicClock, run_clinic
from read_models import dump, rebuilt

import goalflow
import goalflow.projection
from goalflow import GoalflowError
from goalflow.projection import ProjectionError


def steps_in_plan(goals: goalflow.Goals, goal_id: object) -> dict[str, str]:
    [entry] = [g for g in printed(goals.plan("client-7")) if g["goal_id"] == str(goal_id)]
    return {s["step_id"]: s["status"] for s in entry["steps"]}


def test_commands_do_not_update_a_read_model_in_worker_mode_until_it_catches_up(
    goals: goalflow.Goals,
) -> None:
    goal_id = agreed_anxiety_goal(goals)
    goals.projections.set_mode("plans", "worker")

    goals.complete_step(goal_id, by=MAYA, step_id="s1")

    assert steps_in_plan(goals, goal_id)["s1"] == "open"
    [entry] = printed(goals.plan("client-7"))
    assert entry["version"] == 2
    tracking, head = goals.projections.tracking(), goals.projections.head()
    assert tracking["plans"].mode == "worker"
    assert tracking["plans"].position < head
    assert tracking["audit"].position == head, "the audit trail stays inline"

    assert goals.projections.catch_up("plans") == 1

    assert steps_in_plan(goals, goal_id)["s1"] == "completed"
    assert goals.projections.tracking()["plans"].position == head
    assert goals.projections.catch_up("plans") == 0
    caught_up = dump(goals, "plans")
    assert rebuilt(goals, "plans") == caught_up


def test_run_follows_the_log_until_told_to_stop(
    goals: goalflow.Goals, clock: ClinicClock
) -> None:
    month = record_mayas_month(goals, clock)
    goals.projections.set_mode("plans", "worker")
    goals.record_progress(month.anxiety_goal, by=MAYA, measure="GAD-7", value=9)
    batches: list[tuple[str, int]] = []
    idle: list[float] = []

    def wait(seconds: float) -> None:
        # While the worker is idle, Maya completes the yoga step; the worker must see it.
        idle.append(seconds)
        if len(idle) == 1:
            goals.complete_step(month.anxiety_goal, by=MAYA, step_id=YOGA_STEP)

    goals.projections.run(["plans"], stop=lambda: len(idle) >= 2, wait=wait,
                          on_batch=lambda name, applied: batches.append((name, applied)))

    assert batches == [("plans", 1), ("plans", 1)]
    assert steps_in_plan(goals, month.anxiety_goal)[YOGA_STEP] == "completed"
    assert goals.projections.tracking()["plans"].position == goals.projections.head()


def test_run_refuses_a_read_model_kept_inline(goals: goalflow.Goals) -> None:
    goal_id = agreed_anxiety_goal(goals)
    goals.projections.set_mode("plans", "worker")
    goals.complete_step(goal_id, by=MAYA, step_id="s1")
    plans_position = goals.projections.tracking()["plans"].position

    with pytest.raises(GoalflowError, match="audit runs inline"):
        goals.projections.run(["plans", "audit"], stop=lambda: False)

    assert goals.projections.tracking()["plans"].position == plans_position, \
        "refused, yet it applied events to plans"


def test_two_workers_catching_up_at_once_apply_each_event_exactly_once(
    goals: goalflow.Goals, clock: ClinicClock, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    workers = ("plans", "audit")
    for name in workers:
        goals.projections.set_mode(name, "worker")
    run_clinic(goals, clock, seed=11, commands=150, max_goals=12)
    events = recorded_event_count(goals)
    assert all(goals.projections.tracking()[name].position == 0 for name in workers)
    monkeypatch.setattr(goalflow.projection, "BATCH_SIZE", 3)

    applied: dict[str, list[int]] = {name: [] for name in workers}
    lost_races: list[ProjectionError] = []
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def worker() -> None:
        with goalflow.open(store_url) as mine:
            start.wait()
            for name in workers:
                for _ in range(events):  # a bound, should a worker fail again and again
                    if mine.projections.tracking()[name].position == mine.projections.head():
                        break
                    last = [0]
                    try:
                        mine.projections.catch_up(name, progress=lambda d, t, last=last:
                                                  last.__setitem__(0, d))
                    except ProjectionError as lost:
                        lost_races.append(lost)
                    except Exception as e:  # reported at the end, after the results
                        failures.append(e)
                    finally:
                        applied[name].append(last[0])

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    head = goals.projections.head()
    for name in workers:
        assert goals.projections.tracking()[name].position == head
        assert sum(applied[name]) == events, f"{name}: events applied in committed batches"
        caught_up = dump(goals, name)
        assert rebuilt(goals, name) == caught_up, name
    # The loser of a race learns it from the compare-and-set, as a ProjectionError
    # (which `goalflow projections run` reports), not as a database error.
    assert not failures, (
        f"a worker that lost a race failed with {type(failures[0]).__module__}"
        f".{failures[0]!r}")


def test_a_read_model_set_back_to_inline_takes_its_backlog_before_the_next_command(
    goals: goalflow.Goals, clock: ClinicClock
) -> None:
    month = record_mayas_month(goals, clock)
    goals.projections.set_mode("plans", "worker")
    goals.record_progress(month.anxiety_goal, by=MAYA, measure="GAD-7", value=9)
    goals.projections.set_mode("plans", "inline")
    assert goals.projections.tracking()["plans"].position == goals.projections.head()

    goals.complete_step(month.anxiety_goal, by=MAYA, step_id=YOGA_STEP)

    assert steps_in_plan(goals, month.anxiety_goal)[YOGA_STEP] == "completed"
    [entry] = [g for g in printed(goals.plan("client-7"))
               if g["goal_id"] == str(month.anxiety_goal)]
    assert entry["measures"][0]["latest"] == 9
    assert goals.projections.tracking()["plans"].position == goals.projections.head()
    kept_inline = dump(goals, "plans")
    assert rebuilt(goals, "plans") == kept_inline


def test_setting_an_unknown_mode_or_read_model_is_refused(goals: goalflow.Goals) -> None:
    with pytest.raises(ProjectionError, match="inline or worker"):
        goals.projections.set_mode("plans", "batch")
    with pytest.raises(ProjectionError, match="no projection named 'plan'"):
        goals.projections.set_mode("plan", "worker")
    assert {s.mode for s in goals.projections.tracking().values()} == {"inline"}


def test_a_worker_waits_out_a_database_fault_and_resumes_where_it_was(
    goals: goalflow.Goals, monkeypatch: pytest.MonkeyPatch
) -> None:
    goal_id = agreed_anxiety_goal(goals)
    goals.projections.set_mode("plans", "worker")
    goals.complete_step(goal_id, by=MAYA, step_id="s1")
    real_catch_up = goals.projections.catch_up
    faults = iter([True, True])  # the server is gone for two looks at the log

    def flaky_catch_up(name: str, progress: object = None) -> int:
        if next(faults, False):
            raise goalflow.StoreError("store postgresql://...: server closed the connection")
        return real_catch_up(name)

    monkeypatch.setattr(goals.projections, "catch_up", flaky_catch_up)
    heard: list[tuple[str, float]] = []
    waits: list[float] = []
    goals.projections.run(
        ["plans"], stop=lambda: steps_in_plan(goals, goal_id)["s1"] == "completed",
        wait=waits.append, poll=0.25,
        on_fault=lambda e, pause: heard.append((str(e), pause)))

    assert [pause for _, pause in heard] == [1.0, 2.0]  # doubling from a second
    assert "server closed the connection" in heard[0][0]
    assert waits == [1.0, 2.0]
    assert goals.projections.tracking()["plans"].position == goals.projections.head()


@pytest.mark.slow
def test_a_backlog_of_50000_events_is_applied_by_the_switch_to_inline_not_by_a_command(
    goals: goalflow.Goals, clock: ClinicClock
) -> None:
    goal_ids = [agreed_anxiety_goal(goals) for _ in range(50)]
    goals.projections.set_mode("reviews", "worker")
    commands = (("record_progress", {"goal_id": goal_ids[n % 50], "by": MAYA,
                                     "measure": "GAD-7", "value": n % 21})
                for n in range(50_000))
    for _ in goals.execute_many(commands, batch=500):
        pass
    tracking = goals.projections.tracking()["reviews"]
    assert goals.projections.head() - tracking.position >= 50_000
    seen: list[tuple[int, int]] = []
    goals.projections.set_mode("reviews", "inline", progress=lambda d, t: seen.append((d, t)))

    assert goals.projections.tracking()["reviews"].position == goals.projections.head()
    assert len(seen) >= 50  # in batches of its own (1,000 events each)
    assert seen[-1][0] >= 50_000
    goals.hold(goal_ids[0], by=goalflow.Actor("dr-lee", "clinician"), reason="away")
    assert dump(goals, "reviews") == rebuilt(goals, "reviews")
