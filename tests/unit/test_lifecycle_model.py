"""Random command sequences against a tiny reference model of the lifecycle.

The model knows only the table of issue 2: where each command may start, where it leads, and
which commands change the terms. After every command, the goal must agree with the model, and
its history, stored and read back, must rebuild exactly the goal that was lived.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from goalflow.domain import Goal
from goalflow.errors import GoalflowError
from goalflow.persistence.codec import GoalflowMapper

from .builders import (
    ANXIETY_GOAL,
    DR_OKAFOR,
    DRAFTED_AT,
    MAYA,
    MAYAS_SUBJECT,
    When,
    assert_identical,
)

step_numbers = st.integers(min_value=1, max_value=12)


class GoalLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = DRAFTED_AT
        self.goal = Goal.draft(
            goal_id=UUID("0c6a3b8e-2d7f-4f55-8a0e-7f3c1b9d2e64"),
            subject=MAYAS_SUBJECT,
            by=DR_OKAFOR,
            occurred_at=self.now,
            recorded_at=self.now,
            **{**ANXIETY_GOAL, "target_date": date(2025, 3, 4)},
        )
        self.history: list[Goal.Event] = list(self.goal.collect_events())
        self.mapper = GoalflowMapper()
        # The reference model.
        self.status = "proposed"
        self.terms_version = 1
        self.steps: dict[str, str] = {"s1": "open", "s2": "open", "s3": "open"}
        self.steps_ever = 3
        self.ever_agreed = False

    # -- plumbing ----------------------------------------------------------------------------

    def when(self) -> When:
        self.now += timedelta(hours=1)
        return {"occurred_at": self.now, "recorded_at": self.now}

    def attempt(self, allowed: bool, command: Callable[[], None], then: Callable[[], None]) -> None:
        version = self.goal.version
        if allowed:
            command()
            then()
        else:
            try:
                command()
            except GoalflowError:
                pass
            else:
                raise AssertionError("the goal accepted a command the table refuses")
        events = self.goal.collect_events()
        assert len(events) == (1 if allowed else 0)
        assert self.goal.version == version + len(events)
        self.history.extend(events)

    def change_terms(self) -> None:
        self.terms_version += 1
        self.status = "proposed"

    def in_status(self, *statuses: str) -> bool:
        return self.status in statuses

    # -- rules --------------------------------------------------------------------------------

    @rule(stale=st.sampled_from([False, False, False, True]))
    def agree(self, stale: bool) -> None:
        terms = self.terms_version - 1 if stale else self.terms_version

        def then() -> None:
            self.status = "active"
            self.ever_agreed = True

        self.attempt(
            self.in_status("proposed") and not stale and bool(self.steps),
            lambda: self.goal.agree(by=MAYA, terms_version=terms, method="portal", **self.when()),
            then,
        )

    @rule()
    def disagree(self) -> None:
        self.attempt(
            self.in_status("proposed"),
            lambda: self.goal.disagree(by=MAYA, reason="Too much at once", **self.when()),
            lambda: None,
        )

    @rule()
    def add_step(self) -> None:
        def then() -> None:
            self.steps_ever += 1
            self.steps[f"s{self.steps_ever}"] = "open"
            self.change_terms()

        self.attempt(
            self.in_status("proposed") and not self.ever_agreed,
            lambda: self.goal.add_step(
                by=DR_OKAFOR, description="Keep a worry diary", **self.when()
            ),
            then,
        )

    @rule(n=step_numbers)
    def complete_step(self, n: int) -> None:
        step_id = f"s{n}"
        self.attempt(
            self.in_status("active") and self.steps.get(step_id) == "open",
            lambda: self.goal.complete_step(by=MAYA, step_id=step_id, **self.when()),
            lambda: self.steps.update({step_id: "completed"}),
        )

    @rule(n=step_numbers)
    def reopen_step(self, n: int) -> None:
        step_id = f"s{n}"
        self.attempt(
            self.in_status("active") and self.steps.get(step_id) == "completed",
            lambda: self.goal.reopen_step(
                by=DR_OKAFOR, step_id=step_id, reason="Lapsed", **self.when()
            ),
            lambda: self.steps.update({step_id: "open"}),
        )

    @rule(value=st.integers(0, 21) | st.floats(0, 21))
    def record_progress(self, value: float) -> None:
        self.attempt(
            self.in_status("active", "on-hold"),
            lambda: self.goal.record_progress(by=MAYA, measure="GAD-7", value=value, **self.when()),
            lambda: None,
        )

    @rule(kind=st.sampled_from(["add", "remove", "reword"]), n=step_numbers)
    def revise(self, kind: str, n: int) -> None:
        step_id = f"s{n}"
        revisable = self.in_status("proposed", "active", "on-hold")
        if kind == "add":

            def then() -> None:
                self.steps_ever += 1
                self.steps[f"s{self.steps_ever}"] = "open"
                self.change_terms()

            self.attempt(
                revisable,
                lambda: self.goal.revise(
                    by=DR_OKAFOR,
                    reason="Try walking too",
                    add_steps=["Walk the dog"],
                    **self.when(),
                ),
                then,
            )
        elif kind == "remove":

            def then() -> None:
                del self.steps[step_id]
                self.change_terms()

            self.attempt(
                revisable and self.steps.get(step_id) == "open",
                lambda: self.goal.revise(
                    by=DR_OKAFOR,
                    reason="It made things worse",
                    remove_steps=[step_id],
                    **self.when(),
                ),
                then,
            )
        else:
            words = f"Reworded at {self.now.isoformat()}"  # always new words
            self.attempt(
                revisable and step_id in self.steps,
                lambda: self.goal.revise(
                    by=DR_OKAFOR,
                    reason="Clearer words",
                    reword_steps={step_id: words},
                    **self.when(),
                ),
                self.change_terms,
            )

    @rule()
    def review(self) -> None:
        self.attempt(
            self.in_status("active", "on-hold"),
            lambda: self.goal.review(by=DR_OKAFOR, outcome="continue", **self.when()),
            lambda: None,
        )

    @rule()
    def hold(self) -> None:
        self.attempt(
            self.in_status("active"),
            lambda: self.goal.hold(by=DR_OKAFOR, reason="Away", **self.when()),
            lambda: setattr(self, "status", "on-hold"),
        )

    @rule()
    def resume(self) -> None:
        self.attempt(
            self.in_status("on-hold"),
            lambda: self.goal.resume(by=DR_OKAFOR, **self.when()),
            lambda: setattr(self, "status", "active"),
        )

    @rule(kind=st.sampled_from(["achieve", "discontinue", "withdraw", "enter_in_error"]))
    def close(self, kind: str) -> None:
        # One rule for the four ways a goal ends, so that most sequences live long enough
        # to reach the states in between.
        allowed_from, leads_to, command = {
            "achieve": (
                ("active",),
                "completed",
                lambda: self.goal.achieve(by=DR_OKAFOR, **self.when()),
            ),
            "discontinue": (
                ("active", "on-hold"),
                "cancelled",
                lambda: self.goal.discontinue(by=DR_OKAFOR, reason="Ended", **self.when()),
            ),
            "withdraw": (
                ("proposed",),
                "rejected",
                lambda: self.goal.withdraw(by=DR_OKAFOR, reason="Not now", **self.when()),
            ),
            "enter_in_error": (
                ("proposed", "active", "on-hold", "completed", "cancelled", "rejected"),
                "entered-in-error",
                lambda: self.goal.enter_in_error(by=DR_OKAFOR, reason="Wrong chart", **self.when()),
            ),
        }[kind]
        self.attempt(
            self.in_status(*allowed_from), command, lambda: setattr(self, "status", leads_to)
        )

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def the_goal_agrees_with_the_model(self) -> None:
        assert self.goal.status == self.status
        assert self.goal.terms_version == self.terms_version
        assert self.goal.version == len(self.history)
        assert {s.step_id: s.status for s in self.goal.steps} == self.steps
        assert [s.step_id for s in self.goal.steps] == list(self.steps)

    @invariant()
    def the_stored_history_rebuilds_the_live_goal(self) -> None:
        rebuilt: Any = None
        for event in self.history:
            rebuilt = self.mapper.to_domain_event(self.mapper.to_stored_event(event)).mutate(
                rebuilt
            )
        assert rebuilt == self.goal
        assert_identical(vars(rebuilt), vars(self.goal), "goal")

    @invariant()
    def a_stored_snapshot_rebuilds_the_live_goal(self) -> None:
        snapshot = self.mapper.to_domain_event(
            self.mapper.to_stored_event(Goal.Snapshot.take(self.goal))
        )
        assert_identical(vars(snapshot.mutate(None)), vars(self.goal), "goal")


GoalLifecycle.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
)
test_random_command_sequences_follow_the_lifecycle_table = GoalLifecycle.TestCase
