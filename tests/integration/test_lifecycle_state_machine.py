"""Random command sequences through the Goals service, checked against a tiny model.

Hypothesis drives valid and invalid commands (stale and current terms, the client, her
guardian, a clinician, a client who is not hers) at one goal. The model says which commands
the lifecycle accepts and what they change. Every refused command must be a GoalflowError
and record nothing; every accepted one must leave the goal as the model says; a fresh load
(and, on a file, a newly opened store) must always give back the same goal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar
from uuid import UUID, uuid4

import attrs
import pytest
from anxiety_goal import (
    BREATHING,
    DR_LEE,
    DR_OKAFOR,
    EXPRESSING,
    GAD7,
    MAYA,
    MAYAS_MOTHER,
    MEDITATION,
    STATEMENT,
    YOGA,
    replay,
)
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import goalflow
from goalflow import (
    Actor,
    ConcurrencyError,
    GoalflowError,
    InvalidCommand,
    InvalidTransition,
    NotPermitted,
    Subject,
)

ACTORS = {
    "clinician": DR_LEE,
    "supervisor": DR_OKAFOR,
    "client": MAYA,
    "guardian": MAYAS_MOTHER,
    # Maya's fellow group member: a party to the group goal, a stranger to Maya's own.
    "group member": Actor("client-8", "client"),
    "another client": Actor("client-9", "client"),
}
REFUSALS = (InvalidCommand, InvalidTransition, NotPermitted)



def mostly(who: str) -> st.SearchStrategy[str]:
    """The actor who may run the command at least half the time, else anyone."""
    return st.sampled_from([who] * len(ACTORS) + sorted(ACTORS))


step_ids = st.integers(min_value=1, max_value=6).map(lambda n: f"s{n}")
expectations = st.sampled_from(["none"] * 4 + ["current", "stale"])


@attrs.define
class Expected:
    """The reference model: what the goal should be after the commands so far."""

    required: frozenset[str]
    status: str = "proposed"
    terms_version: int = 1
    version: int = 1
    statement: str = STATEMENT
    steps: dict[str, str] = attrs.Factory(
        lambda: {"s1": "open", "s2": "open", "s3": "open"})
    steps_added: int = 3
    agreed: set[str] = attrs.Factory(set)
    ever_agreed: bool = False

    def is_party(self, actor: Actor) -> bool:
        return actor.role in ("client", "guardian") and actor.acts_for in self.required

    def terms_changed(self) -> None:
        self.terms_version += 1
        self.agreed.clear()
        self.status = "proposed"


class GoalLifecycle(RuleBasedStateMachine):
    """One goal, driven by random commands; subclasses say which store it lives in."""

    reopen_every: ClassVar[int | None] = None

    def new_url(self) -> str:
        return "memory://"

    def __init__(self) -> None:
        super().__init__()
        self.now = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
        self.url = self.new_url()
        self.goals = goalflow.open(self.url, clock=lambda: self.now)
        self.goal_id: UUID | None = None
        self.expected: Expected | None = None
        self.commands = 0
        self.checks = 0
        self.last_accepted: tuple[Callable[[], int], int] | None = None

    def teardown(self) -> None:
        self.goals.close()

    # -- the goal -------------------------------------------------------------

    @initialize(group=st.booleans())
    def draft_the_anxiety_goal(self, group: bool) -> None:
        subject = (Subject.group("anxiety-group-2", ["client-7", "client-8"]) if group
                   else Subject.client("client-7"))
        self.goal_id = self.goals.draft(
            subject, STATEMENT, by=DR_LEE, target_date=self.now.date() + timedelta(days=90),
            measures=[GAD7], steps=[BREATHING, MEDITATION, EXPRESSING],
            addresses=["generalised anxiety disorder"],
        )
        self.expected = Expected(required=frozenset(subject.required_parties))

    def _attempt(self, valid: bool, command: Callable[..., int], expectation: str = "none",
                 effect: Callable[[], None] = lambda: None) -> None:
        """Run one command; check it was accepted or refused as the model says."""
        e = self.expected
        assert e is not None
        assert self.goal_id is not None
        self.now += timedelta(hours=1)
        self.commands += 1
        options: dict[str, Any] = {"command_id": f"ehr-{self.commands}"}
        if expectation == "current":
            options["expected_version"] = e.version
        elif expectation == "stale" and e.version > 1:
            options["expected_version"] = e.version - 1
            with pytest.raises(ConcurrencyError):
                command(self.goal_id, **options)
            return
        if valid:
            assert command(self.goal_id, **options) == e.version + 1
            e.version += 1
            effect()
            self.last_accepted = (partial(command, self.goal_id, **options), e.version)
        else:
            with pytest.raises(GoalflowError) as refused:
                command(self.goal_id, **options)
            assert isinstance(refused.value, REFUSALS), repr(refused.value)

    @property
    def e(self) -> Expected:
        assert self.expected is not None
        return self.expected

    # -- commands -------------------------------------------------------------

    @rule(who=st.sampled_from(["client", "guardian", "group member"]) | mostly("client"),
          terms=st.sampled_from(["current"] * 4 + ["stale", "next"]),
          method=st.sampled_from(["signature", "portal", "verbal"] * 2 + ["verbal unwitnessed"]),
          expectation=expectations)
    def agree(self, who: str, terms: str, method: str, expectation: str) -> None:
        by, e = ACTORS[who], self.e
        terms_version = {"current": e.terms_version, "stale": e.terms_version - 1,
                         "next": e.terms_version + 1}[terms]
        valid = (e.status == "proposed" and e.is_party(by) and terms == "current"
                 and by.acts_for not in e.agreed and bool(e.steps)
                 and method != "verbal unwitnessed")

        def effect() -> None:
            e.agreed.add(by.acts_for)
            if e.agreed >= e.required:
                e.status = "active"
                e.ever_agreed = True

        self._attempt(valid, partial(
            self.goals.agree, by=by, terms_version=terms_version, method=method.split()[0],
            witnessed_by=DR_LEE if method == "verbal" else None,
        ), expectation, effect)

    def agree_as(self, by: Actor, method: str) -> None:
        e = self.e
        valid = e.status == "proposed" and bool(e.steps)

        def effect() -> None:
            e.agreed.add(by.acts_for)
            if e.agreed >= e.required:
                e.status = "active"
                e.ever_agreed = True

        self._attempt(valid, partial(
            self.goals.agree, by=by, terms_version=e.terms_version, method=method,
            witnessed_by=DR_OKAFOR if method == "verbal" else None,
        ), "none", effect)

    @rule(who=mostly("client"), expectation=expectations)
    def disagree(self, who: str, expectation: str) -> None:
        by, e = ACTORS[who], self.e
        self._attempt(
            e.status == "proposed" and e.is_party(by),
            partial(self.goals.disagree, by=by, reason="Meditation makes me feel worse",
                    alternative="Something that gets me moving"),
            expectation, lambda: e.agreed.discard(by.acts_for),
        )

    @rule(who=mostly("clinician"), expectation=expectations)
    def add_step(self, who: str, expectation: str) -> None:
        by, e = ACTORS[who], self.e
        step_id = f"s{e.steps_added + 1}"

        def effect() -> None:
            e.steps[step_id] = "open"
            e.steps_added += 1
            e.terms_changed()

        self._attempt(
            e.status == "proposed" and by.is_clinical and not e.ever_agreed,
            partial(self.goals.add_step, by=by, description=YOGA), expectation, effect,
        )

    @rule(who=mostly("client"), step_id=step_ids, expectation=expectations)
    def complete_step(self, who: str, step_id: str, expectation: str) -> None:
        by, e = ACTORS[who], self.e
        self._attempt(
            e.status == "active" and (by.is_clinical or e.is_party(by))
            and e.steps.get(step_id) == "open",
            partial(self.goals.complete_step, by=by, step_id=step_id),
            expectation, lambda: e.steps.__setitem__(step_id, "completed"),
        )

    @rule(who=mostly("clinician"), step_id=step_ids, expectation=expectations)
    def reopen_step(self, who: str, step_id: str, expectation: str) -> None:
        by, e = ACTORS[who], self.e
        self._attempt(
            e.status == "active" and by.is_clinical and e.steps.get(step_id) == "completed",
            partial(self.goals.reopen_step, by=by, step_id=step_id,
                    reason="She stopped after a week"),
            expectation, lambda: e.steps.__setitem__(step_id, "open"),
        )

    @rule(who=mostly("guardian"), measure=st.sampled_from(["GAD-7", "PHQ-9"]),
          value=st.integers(min_value=0, max_value=21), expectation=expectations)
    def record_progress(self, who: str, measure: str, value: int, expectation: str) -> None:
        by, e = ACTORS[who], self.e
        self._attempt(
            e.status in ("active", "on-hold") and (by.is_clinical or e.is_party(by))
            and measure == "GAD-7",
            partial(self.goals.record_progress, by=by, measure=measure, value=value),
            expectation,
        )

    @rule(who=mostly("clinician"),
          change=st.sampled_from(["statement", "add", "remove", "reword", "nothing"]),
          step_id=step_ids, expectation=expectations)
    def revise(self, who: str, change: str, step_id: str, expectation: str) -> None:
        by, e = ACTORS[who], self.e
        valid = e.status in ("proposed", "active", "on-hold") and by.is_clinical
        new_statement = f"{STATEMENT} (revision {self.commands + 1})"
        arguments: dict[str, Any] = {}
        if change == "statement":
            arguments["statement"] = new_statement
        elif change == "add":
            arguments["add_steps"] = [YOGA]
        elif change == "remove":
            arguments["remove_steps"] = [step_id]
            valid = valid and e.steps.get(step_id) == "open"
        elif change == "reword":
            arguments["reword_steps"] = {step_id: f"Reworded in revision {self.commands + 1}"}
            valid = valid and step_id in e.steps
        else:
            arguments["statement"] = e.statement
            valid = False

        def effect() -> None:
            if change == "statement":
                e.statement = new_statement
            elif change == "add":
                e.steps_added += 1
                e.steps[f"s{e.steps_added}"] = "open"
            elif change == "remove":
                del e.steps[step_id]
            e.terms_changed()

        self._attempt(valid, partial(self.goals.revise, by=by,
                                     reason="Meditation made Maya feel worse", **arguments),
                      expectation, effect)

    @rule(who=mostly("clinician"),
          outcome=st.sampled_from(["continue", "revise", "achieve", "discontinue"]),
          expectation=expectations)
    def review(self, who: str, outcome: str, expectation: str) -> None:
        by, e = ACTORS[who], self.e
        self._attempt(
            e.status in ("active", "on-hold") and by.is_clinical,
            partial(self.goals.review, by=by, outcome=outcome, notes="Sleeping better",
                    next_review_on=self.now.date() + timedelta(days=30)),
            expectation,
        )

    def _status_change(self, command: Callable[..., int], by: Actor, allowed: tuple[str, ...],
                       to: str, expectation: str) -> None:
        e = self.e
        self._attempt(e.status in allowed and by.is_clinical, command, expectation,
                      lambda: setattr(e, "status", to))

    @rule(who=mostly("clinician"), expectation=expectations)
    def hold(self, who: str, expectation: str) -> None:
        by = ACTORS[who]
        self._status_change(partial(self.goals.hold, by=by, reason="In hospital"), by,
                            ("active",), "on-hold", expectation)

    @rule(who=mostly("clinician"), expectation=expectations)
    def resume(self, who: str, expectation: str) -> None:
        by = ACTORS[who]
        self._status_change(partial(self.goals.resume, by=by), by, ("on-hold",), "active",
                            expectation)

    @rule(who=mostly("clinician"), how=st.sampled_from(
              ["achieve", "discontinue", "withdraw", "enter_in_error"]),
          expectation=expectations)
    def close(self, who: str, how: str, expectation: str) -> None:
        """End the goal one of the four ways (one rule, so that goals live a while)."""
        by = ACTORS[who]
        command, allowed, to = {
            "achieve": (partial(self.goals.achieve, by=by, evidence="GAD-7 at 6"),
                        ("active",), "completed"),
            "discontinue": (partial(self.goals.discontinue, by=by, reason="Maya moved away"),
                            ("active", "on-hold"), "cancelled"),
            "withdraw": (partial(self.goals.withdraw, by=by, reason="Maya changed her mind"),
                         ("proposed",), "rejected"),
            "enter_in_error": (
                partial(self.goals.enter_in_error, by=by,
                        reason="Recorded for the wrong client"),
                ("proposed", "active", "on-hold", "completed", "cancelled", "rejected"),
                "entered-in-error",
            ),
        }[how]
        self._status_change(command, by, allowed, to, expectation)

    # Two rules that steer towards an active goal, where most of the lifecycle happens;
    # the random rules above still try everything everywhere.

    @precondition(lambda self: self.expected is not None and self.e.status == "proposed")
    @rule(method=st.sampled_from(["signature", "portal", "verbal"]))
    def every_party_agrees_to_the_current_terms(self, method: str) -> None:
        e = self.e
        for party in sorted(e.required - e.agreed):
            self.agree_as(Actor(party, "client"), method)

    @precondition(lambda self: self.expected is not None and "open" in self.e.steps.values())
    @rule(data=st.data(), who=st.sampled_from(["client", "guardian", "clinician"]))
    def an_open_step_is_completed(self, data: st.DataObject, who: str) -> None:
        e = self.e
        step_id = data.draw(st.sampled_from(sorted(s for s, v in e.steps.items() if v == "open")))
        self.complete_step(who, step_id, "none")

    @rule()
    def retry_the_last_accepted_command(self) -> None:
        if self.last_accepted is None:
            return
        command, version = self.last_accepted
        self.now += timedelta(minutes=5)
        assert command() == version

    @rule()
    def ask_for_a_goal_that_was_never_drafted(self) -> None:
        with pytest.raises(goalflow.GoalNotFound):
            self.goals.hold(uuid4(), by=DR_LEE, reason="In hospital")

    # -- what must always hold -------------------------------------------------

    @invariant()
    def a_fresh_load_matches_the_model(self) -> None:
        if self.goal_id is None:
            return
        e = self.e
        goal = self.goals.get(self.goal_id)
        assert goal.version == e.version
        assert goal.status == e.status
        assert goal.terms_version == e.terms_version
        assert goal.statement == e.statement
        assert [(s.step_id, s.status) for s in goal.steps] == list(e.steps.items())
        assert set(goal.awaiting_agreement_from) == set(e.required - e.agreed)
        history = self.goals.history(self.goal_id)
        assert len(history) == e.version
        assert goal == replay(history)

        self.checks += 1
        if self.reopen_every and self.checks % self.reopen_every == 0:
            with goalflow.open(self.url) as reopened:
                assert reopened.get(self.goal_id) == goal


@pytest.mark.slow
def test_random_command_sequences_keep_the_goal_as_the_model_says():
    run_state_machine_as_test(
        GoalLifecycle,
        settings=settings(max_examples=150, stateful_step_count=50, deadline=None,
                          database=None),
    )


def test_random_command_sequences_on_a_sqlite_file_reload_as_an_equal_goal(tmp_path):
    class OnASqliteFile(GoalLifecycle):
        reopen_every = 5

        def new_url(self) -> str:
            return f"sqlite:///{tmp_path}/goals-{uuid4().hex}.db"

    run_state_machine_as_test(
        OnASqliteFile,
        settings=settings(max_examples=20, stateful_step_count=40, deadline=None,
                          database=None),
    )
