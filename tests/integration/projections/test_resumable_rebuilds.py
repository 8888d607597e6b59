"""Rebuilds run in resumable batches behind views: readers never see a half-built table.

Batches are made small (``goalflow.projection.BATCH_SIZE`` and ``REBUILD_BATCH_SIZE``) and a
rebuild is interrupted by its own progress callback after the first batch, as a Ctrl-C or a
killed process would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from anxiety_goal import MAYA
from as_printed import printed
from mayas_month import YOGA_STEP, MayasMonth, record_mayas_month
from random_clinic import ClinicClock, RandomClinic, run_clinic
from read_models import dump, dump_all, physical_rows, rebuilt, table_exists

import goalflow
import goalflow.projection

BATCH = 4


class Interrupted(Exception):
    """The operator pressed Ctrl-C during the rebuild."""


def interrupt(done: int, total: int) -> None:
    raise Interrupted(f"stopped at {done} of {total}")


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(goalflow.projection, "BATCH_SIZE", BATCH)
    monkeypatch.setattr(goalflow.projection, "REBUILD_BATCH_SIZE", BATCH)
    return BATCH


@pytest.fixture
def month(goals: goalflow.Goals, clock: ClinicClock) -> MayasMonth:
    return record_mayas_month(goals, clock)


def positions(goals: goalflow.Goals) -> list[int]:
    """The log positions of every recorded event, in order."""
    return [row["position"] for row in dump(goals, "audit")["gf_audit_entries"]]


def what_readers_see(goals: goalflow.Goals) -> dict[str, Any]:
    return {
        "plan": printed(goals.plan("client-7", include_closed=True)),
        "group plan": printed(goals.plan("anxiety-group-2")),
        "what Maya did": printed(goals.audit(actor=MAYA.id)),
        "reviews": printed(goals.reviews()),
        "tables": dump_all(goals),
    }


def counting_handled(monkeypatch: pytest.MonkeyPatch, goals: goalflow.Goals,
                     name: str) -> list[int]:
    """Count the events the projection handles from now on (one entry per event)."""
    projection = goals.projections.get(name)
    handled: list[int] = []
    handle = projection.handle

    def counted(w: goalflow.projection.Writer, event: goalflow.Goal.Event) -> None:
        handled.append(w.position)
        handle(w, event)

    monkeypatch.setattr(projection, "handle", counted)
    return handled


@pytest.mark.usefixtures("small_batches")
def test_an_interrupted_rebuild_leaves_readers_the_old_complete_tables(
    goals: goalflow.Goals, month: MayasMonth
) -> None:
    log = positions(goals)
    assert len(log) > 3 * BATCH
    before = what_readers_see(goals)

    for name in ("plans", "audit", "reviews", "outcomes"):
        with pytest.raises(Interrupted):
            goals.projections.rebuild(name, progress=interrupt)

    for name, state in goals.projections.tracking().items():
        assert (state.generation, state.position) == (1, log[-1]), name
        assert (state.building_generation, state.building_position) == (2, log[BATCH - 1]), name
    # The next generation is half-built, and nobody sees it.
    assert physical_rows(goals, "gf_audit_entries__g2") == BATCH
    assert physical_rows(goals, "gf_audit_entries__g1") == len(log)
    assert what_readers_see(goals) == before


@pytest.mark.usefixtures("small_batches")
def test_commands_keep_the_live_tables_current_while_a_rebuild_is_interrupted(
    goals: goalflow.Goals, month: MayasMonth
) -> None:
    log = positions(goals)
    for name in ("plans", "audit"):
        with pytest.raises(Interrupted):
            goals.projections.rebuild(name, progress=interrupt)

    goals.complete_step(month.anxiety_goal, by=MAYA, step_id=YOGA_STEP)

    [anxiety] = [g for g in printed(goals.plan("client-7"))
                 if g["goal_id"] == str(month.anxiety_goal)]
    assert {s["step_id"]: s["status"] for s in anxiety["steps"]}[YOGA_STEP] == "completed"
    [entry] = printed(goals.audit(month.anxiety_goal, event="StepCompleted", actor=MAYA.id,
                          since=goals.get(month.anxiety_goal).recorded_at))
    assert entry["details"] == {"note": None, "step_id": YOGA_STEP}
    head = goals.projections.head()
    for name in ("plans", "audit"):
        state = goals.projections.tracking()[name]
        assert (state.position, state.building_position) == (head, log[BATCH - 1])


@pytest.mark.usefixtures("small_batches")
def test_running_an_interrupted_rebuild_again_resumes_where_it_stopped(
    goals: goalflow.Goals, month: MayasMonth, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(Interrupted):
        goals.projections.rebuild("plans", progress=interrupt)
    stopped_at = goals.projections.tracking()["plans"].building_position
    goals.complete_step(month.anxiety_goal, by=MAYA, step_id=YOGA_STEP)
    log = positions(goals)
    kept_inline = what_readers_see(goals)

    handled = counting_handled(monkeypatch, goals, "plans")
    progress: list[tuple[int, int]] = []
    seen_meanwhile: list[dict[str, Any]] = []

    def watch(done: int, total: int) -> None:
        progress.append((done, total))
        seen_meanwhile.append(what_readers_see(goals))

    goals.projections.rebuild("plans", progress=watch)

    assert stopped_at == log[BATCH - 1]
    assert handled == [p for p in log if p > stopped_at], "resumed after the first batch"
    assert progress[0][0] == log[2 * BATCH - 1]
    assert all(seen == kept_inline for seen in seen_meanwhile), "readers saw a half-built plan"
    state = goals.projections.tracking()["plans"]
    assert (state.generation, state.position, state.building_generation) == (2, log[-1], None)
    assert what_readers_see(goals) == kept_inline
    assert not table_exists(goals, "gf_plan_goals__g1"), "the old generation was left behind"
    monkeypatch.undo()
    assert rebuilt(goals, "plans") == kept_inline["tables"]["plans"]


@pytest.mark.usefixtures("small_batches")
def test_a_restarted_rebuild_starts_again_from_the_first_event(
    goals: goalflow.Goals, month: MayasMonth, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop_after_two: Callable[[int, int], None] = _stop_after(2)
    with pytest.raises(Interrupted):
        goals.projections.rebuild("audit", progress=stop_after_two)
    log = positions(goals)
    assert goals.projections.tracking()["audit"].building_position == log[2 * BATCH - 1]
    kept_inline = dump(goals, "audit")

    handled = counting_handled(monkeypatch, goals, "audit")
    progress: list[tuple[int, int]] = []
    goals.projections.rebuild("audit", restart=True,
                              progress=lambda done, total: progress.append((done, total)))

    assert handled == log, "a restart handles every event again, from the first"
    assert progress[0][0] == log[BATCH - 1]
    state = goals.projections.tracking()["audit"]
    assert (state.position, state.building_generation, state.building_position) == (
        log[-1], None, None)
    assert not table_exists(goals, "gf_audit_entries__g2"), "the half-built generation stayed"
    assert dump(goals, "audit") == kept_inline


def _stop_after(batches: int) -> Callable[[int, int], None]:
    calls = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == batches:
            raise Interrupted(f"stopped at {done} of {total}")

    return progress


@pytest.mark.usefixtures("small_batches")
def test_a_rebuild_while_commands_are_recorded_misses_none_of_them(
    goals: goalflow.Goals, clock: ClinicClock, store_url: str
) -> None:
    run_clinic(goals, clock, seed=5, commands=40, max_goals=6)
    rebuilding = threading.Event()
    failures: list[BaseException] = []

    def rebuild_everything() -> None:
        try:
            with goalflow.open(store_url) as operator:
                for name in ("plans", "audit", "reviews"):
                    operator.projections.rebuild(
                        name, progress=lambda done, total: rebuilding.set())
        except BaseException as e:  # reported below
            failures.append(e)
        finally:
            rebuilding.set()

    rebuilder = threading.Thread(target=rebuild_everything)
    rebuilder.start()
    rebuilding.wait(timeout=30)
    RandomClinic(goals, clock, seed=6).run(commands=60, max_goals=10)
    rebuilder.join(timeout=60)
    assert not failures, repr(failures[0])

    head = goals.projections.head()
    for name in ("plans", "audit", "reviews"):
        state = goals.projections.tracking()[name]
        assert (state.generation, state.position, state.building_generation) == (2, head, None)
        after_the_race = dump(goals, name)
        assert rebuilt(goals, name) == after_the_race, name


def test_one_pass_rebuilds_read_models_that_were_interrupted_at_different_points(
    goals: goalflow.Goals, month: MayasMonth, small_batches: int
) -> None:
    before = dump_all(goals)
    with pytest.raises(Interrupted):
        goals.projections.rebuild("audit", progress=interrupt)
    calls = iter(range(100))
    with pytest.raises(Interrupted):  # plans gets three batches further than audit
        goals.projections.rebuild(
            "plans", progress=lambda done, total: None if next(calls) < 2 else interrupt(
                done, total))
    building = goals.projections.tracking()
    assert building["audit"].building_position == small_batches
    assert building["plans"].building_position == 3 * small_batches
    assert building["reviews"].building_position is None

    decoded = counting_decodes(goals)
    built = goals.projections.rebuild_many(["audit", "plans", "reviews"])

    assert dump_all(goals) == before
    assert set(built.values()) == {len(positions(goals))}
    assert len(decoded) == len(positions(goals)), "each event read and decoded once"
    assert all(t.building_generation is None for t in goals.projections.tracking().values())


def counting_decodes(goals: goalflow.Goals) -> list[int]:
    decoded: list[int] = []
    real_decode = goals.store.decode

    def decode(notification: Any) -> Any:
        decoded.append(notification.id)
        return real_decode(notification)

    goals.store.decode = decode  # type: ignore[method-assign]
    return decoded
