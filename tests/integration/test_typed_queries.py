"""The read-model queries give typed values, filter and page in SQL, and refuse bad filters.

``plan``, ``audit`` (and ``audit_entries``), ``reviews`` and ``goal_index`` return frozen
attrs values with ``UUID``, ``date``, ``datetime`` and ``int`` fields; ``to_dict()`` is the
JSON the command line prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import attrs
import orjson
import pytest
from anxiety_goal import DR_LEE, GAD7, MAYA, draft_anxiety_goal
from click.testing import CliRunner

import goalflow
from goalflow import (
    Actor,
    AuditEntry,
    GoalIndexEntry,
    InvalidCommand,
    PlanEntry,
    ReviewDue,
    Subject,
)
from goalflow.cli import cli
from goalflow.rows import Reader

CLIENT_8 = Actor("client-8", "client")
CLIENT_9 = Actor("client-9", "client")
DR_ADEBAYO = Actor("dr-adebayo", "clinician")
FIRST_DAY = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # the clock fixture's start
LATER = date(2026, 3, 1)


def day(n: float) -> datetime:
    return FIRST_DAY + timedelta(days=n)


@attrs.frozen
class Caseload:
    anxiety: UUID       # Maya's, by Dr Lee, agreed on day 0
    sleep: UUID         # Maya's, by Dr Adebayo (a minute later), still awaiting her agreement
    walking: UUID       # Maya's, by Dr Adebayo (a minute later again), agreed on day 2,
    #                     reviewed on day 5: "see her on 1 April"
    group: UUID         # the Tuesday group's (Maya and client-8), by Dr Lee, agreed on day 3
    on_hold: UUID       # client-9's, by Dr Lee, agreed on day 1, on hold from day 4
    finished: UUID      # client-9's, by Dr Adebayo, agreed on day 1, achieved on day 6


def drafted(goals: goalflow.Goals, subject: Subject, statement: str, by: Actor,
            steps: tuple[str, ...] = ("Plan the first week",)) -> UUID:
    """A SMART-complete goal (so that it can be agreed)."""
    return goals.draft(subject, statement, by=by, target_date=LATER, measures=[GAD7],
                       steps=list(steps), addresses=["generalised anxiety disorder"])


@pytest.fixture
def caseload(goals: goalflow.Goals, clock: Any) -> Caseload:
    clock.now = day(0)
    anxiety = draft_anxiety_goal(goals)
    goals.agree(anxiety, by=MAYA, terms_version=1, method="signature")
    clock.now = day(0) + timedelta(minutes=1)
    sleep = drafted(goals, Subject.client("client-7"), "Sleep seven hours a night",
                    DR_ADEBAYO)
    clock.now = day(0) + timedelta(minutes=2)
    walking = drafted(goals, Subject.client("client-7"), "Walk to work twice a week",
                      DR_ADEBAYO, steps=("Plan the route",))
    clock.now = day(1)
    on_hold = drafted(goals, Subject.client("client-9"), "Cook a meal each weekend", DR_LEE)
    goals.agree(on_hold, by=CLIENT_9, terms_version=1, method="signature")
    finished = drafted(goals, Subject.client("client-9"), "Join the library", DR_ADEBAYO)
    goals.agree(finished, by=CLIENT_9, terms_version=1, method="signature")
    clock.now = day(2)
    goals.agree(walking, by=MAYA, terms_version=1, method="signature")
    clock.now = day(3)
    group = drafted(goals, Subject.group("tuesday-group", ["client-7", "client-8"]),
                    "Practise calming techniques together", DR_LEE)
    goals.agree(group, by=MAYA, terms_version=1, method="signature")
    goals.agree(group, by=CLIENT_8, terms_version=1, method="signature")
    clock.now = day(4)
    goals.hold(on_hold, by=DR_LEE, reason="In hospital for a fortnight")
    clock.now = day(5)
    goals.review(walking, by=DR_ADEBAYO, outcome="continue", next_review_on=date(2025, 4, 1))
    clock.now = day(6)
    goals.complete_step(walking, by=MAYA, step_id="s1")
    goals.achieve(finished, by=DR_ADEBAYO, evidence="Joined on Saturday")
    return Caseload(anxiety, sleep, walking, group, on_hold, finished)


@pytest.fixture
def rows_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows each read-model query sent back (to see where paging was done)."""
    counts: list[int] = []
    real = Reader.rows

    def counted(self: Reader, statement: str, params: Any = ()) -> list[dict[str, Any]]:
        found = real(self, statement, params)
        counts.append(len(found))
        return found

    monkeypatch.setattr(Reader, "rows", counted)
    return counts


# -- typed values ---------------------------------------------------------------------


def test_a_plan_entry_has_ids_dates_moments_and_numbers_not_strings(
    goals: goalflow.Goals, caseload: Caseload
) -> None:
    walking = next(e for e in goals.plan("client-7") if e.goal_id == caseload.walking)

    assert isinstance(walking, PlanEntry)
    assert walking.goal_id == caseload.walking
    assert walking.target_date == LATER
    assert walking.next_review_on == date(2025, 4, 1)
    assert walking.drafted_at == day(0) + timedelta(minutes=2)
    assert walking.updated_at == day(6)
    assert (walking.version, walking.terms_version) == (4, 1)
    assert walking.drafted_by == "dr-adebayo"
    assert walking.awaiting_agreement is False
    assert walking.awaiting_agreement_from == ()
    [step] = walking.steps
    assert (step.step_id, step.status, step.completed_at) == ("s1", "completed", day(6))
    [measure] = walking.measures
    assert (measure.name, measure.baseline, measure.target) == ("GAD-7", 15, 7)
    assert walking.next_review_on - walking.drafted_at.date() == timedelta(days=29)


def test_a_goal_index_entry_and_a_review_due_are_typed(
    goals: goalflow.Goals, caseload: Caseload
) -> None:
    [cooking] = goals.goal_index(subject="client-9", status="on-hold")
    assert isinstance(cooking, GoalIndexEntry)
    assert (cooking.goal_id, cooking.version, cooking.drafted_at, cooking.updated_at) == (
        caseload.on_hold, 3, day(1), day(4))

    [due] = goals.reviews(as_of=date(2025, 4, 2), subject="client-7", due_before=date(2025, 4, 2))
    assert isinstance(due, ReviewDue)
    assert (due.goal_id, due.due_on, due.basis) == (
        caseload.walking, date(2025, 4, 1), "set at last review")
    assert (due.overdue, due.days_overdue) == (True, 1)
    assert (due.activated_at, due.last_review_at, due.next_review_on) == (
        day(2), day(5), date(2025, 4, 1))


def test_an_audit_entry_is_typed_and_a_revision_has_its_changes_and_agreement(
    goals: goalflow.Goals, caseload: Caseload, clock: Any
) -> None:
    clock.now = day(7)
    goals.revise(caseload.anxiety, by=DR_LEE, reason="Later date", target_date=LATER)

    *_, revised = goals.audit(caseload.anxiety)
    assert isinstance(revised, AuditEntry)
    assert (revised.goal_id, revised.version, revised.event_type) == (
        caseload.anxiety, 3, "Revised")
    assert (revised.recorded_at, revised.occurred_at, revised.late_seconds) == (
        day(7), day(7), 0)
    assert revised.date_only is True
    [change] = revised.changes or ()
    assert (change.change, change.field, change.after) == ("changed", "target_date",
                                                           LATER.isoformat())
    assert revised.agreement is not None
    assert (revised.agreement.terms_version, revised.agreement.agreement,
            revised.agreement.previously_agreed) == (2, "pending", True)
    assert revised.agreement.required_parties == ("client-7",)
    drafted = goals.audit(caseload.anxiety, limit=1)[0]
    assert (drafted.event_type, drafted.changes, drafted.agreement, drafted.date_only) == (
        "Drafted", None, None, None)
    assert "changes" not in drafted.to_dict()


@pytest.mark.parametrize(("command", "query"), [
    (["plan", "client-7", "--all"], lambda g: g.plan("client-7", include_closed=True)),
    (["goals"], lambda g: g.goal_index()),
    (["reviews", "--as-of", "2025-04-02"], lambda g: g.reviews(as_of=date(2025, 4, 2))),
    (["audit"], lambda g: g.audit()),
], ids=["plan", "goals", "reviews", "audit"])
def test_to_dict_is_what_the_command_line_prints(
    goals: goalflow.Goals, caseload: Caseload, store_url: str, command: list[str],
    query: Callable[[goalflow.Goals], list[Any]]
) -> None:
    result = CliRunner().invoke(cli, ["--db", store_url, *command, "--json"])

    assert result.exit_code == 0, result.output
    printed = [orjson.loads(line) for line in result.output.splitlines()]
    assert printed == [entry.to_dict() for entry in query(goals)]
    assert all(isinstance(e["goal_id"], str) for e in printed)


# -- filters ------------------------------------------------------------------------


def test_the_plan_filters_by_status_clinician_and_awaiting_agreement(
    goals: goalflow.Goals, caseload: Caseload
) -> None:
    def ids(**filters: Any) -> list[UUID]:
        return [e.goal_id for e in goals.plan("client-7", **filters)]

    assert ids() == [caseload.anxiety, caseload.sleep, caseload.walking, caseload.group]
    assert ids(status="proposed") == [caseload.sleep]
    assert ids(clinician="dr-adebayo") == [caseload.sleep, caseload.walking]
    assert ids(clinician="dr-lee", status="active") == [caseload.anxiety, caseload.group]
    assert ids(awaiting_agreement=True) == [caseload.sleep]
    assert ids(awaiting_agreement=False) == [caseload.anxiety, caseload.walking,
                                             caseload.group]
    assert ids(clinician="dr-nobody") == []
    assert [e.goal_id for e in goals.plan("client-9", status="completed",
                                          include_closed=True)] == [caseload.finished]


def test_the_goal_index_filters_by_subject_status_clinician_and_awaiting_agreement(
    goals: goalflow.Goals, caseload: Caseload
) -> None:
    def ids(**filters: Any) -> set[UUID]:
        return {e.goal_id for e in goals.goal_index(**filters)}

    assert ids(clinician="dr-adebayo") == {caseload.sleep, caseload.walking,
                                           caseload.finished}
    assert ids(clinician="dr-adebayo", status="completed") == {caseload.finished}
    assert ids(awaiting_agreement=True) == {caseload.sleep}
    assert ids(subject="client-8") == {caseload.group}
    assert ids(subject="client-9", awaiting_agreement=False) == {caseload.on_hold,
                                                                 caseload.finished}


def test_the_reviews_worklist_filters_by_subject_status_clinician_and_due_date(
    goals: goalflow.Goals, caseload: Caseload
) -> None:
    as_of = date(2025, 4, 2)

    def ids(**filters: Any) -> list[UUID]:
        return [e.goal_id for e in goals.reviews(as_of=as_of, **filters)]

    # Due: walking 1 April (set at review); 90 days after agreement: anxiety 1 June, on_hold
    # 2 June, group 4 June.
    assert ids() == [caseload.walking, caseload.anxiety, caseload.on_hold, caseload.group]
    assert ids(subject="client-9") == [caseload.on_hold]
    assert ids(status="on-hold") == [caseload.on_hold]
    assert ids(status="active") == [caseload.walking, caseload.anxiety, caseload.group]
    assert ids(clinician="dr-adebayo") == [caseload.walking]
    assert ids(due_before=date(2025, 6, 2)) == [caseload.walking, caseload.anxiety]
    assert ids(due_before=date(2025, 6, 1)) == [caseload.walking]
    assert ids(due_before=date(2025, 4, 1)) == []
    assert ids(overdue=True) == [caseload.walking]
    assert ids(overdue=True, due_before=date(2025, 6, 5)) == [caseload.walking]
    assert ids(clinician="dr-lee", due_before=date(2025, 6, 4)) == [
        caseload.anxiety, caseload.on_hold]


def test_a_review_due_date_follows_the_clinic_time_zone_in_the_query(
    goals: goalflow.Goals, clock: Any
) -> None:
    clock.now = datetime(2025, 3, 4, 2, 0, tzinfo=UTC)  # 3 March, 20:00 in Chicago
    goal_id = draft_anxiety_goal(goals, target_date=LATER)
    goals.agree(goal_id, by=MAYA, terms_version=1, method="signature")

    [utc] = goals.reviews(as_of=date(2025, 6, 1))
    goals.set_timezone("America/Chicago", force=True)
    [chicago] = goals.reviews(as_of=date(2025, 6, 1))

    assert (utc.due_on, chicago.due_on) == (date(2025, 6, 2), date(2025, 6, 1))
    assert [r.goal_id for r in goals.reviews(as_of=date(2025, 6, 1),
                                             due_before=date(2025, 6, 2))] == [goal_id]


# -- paging ---------------------------------------------------------------------------


@pytest.mark.parametrize("query", [
    lambda g, **p: g.plan("client-7", **p),
    lambda g, **p: g.goal_index(**p),
    lambda g, **p: g.reviews(as_of=date(2025, 4, 2), **p),
    lambda g, **p: g.audit(**p),
], ids=["plan", "goal_index", "reviews", "audit"])
def test_limit_and_offset_page_the_ordered_results_in_the_database(
    goals: goalflow.Goals, caseload: Caseload, rows_read: list[int],
    query: Callable[..., list[Any]]
) -> None:
    everything = query(goals)
    assert len(everything) >= 4

    for offset in range(len(everything) + 1):
        for limit in (0, 1, 2, 3):
            rows_read.clear()
            page = query(goals, limit=limit, offset=offset)
            assert page == everything[offset:offset + limit]
            # The first query is the page itself: the database sent no more than the page.
            assert rows_read[0] == len(page)
    assert query(goals, offset=2) == everything[2:]


def test_paging_comes_after_the_filters(goals: goalflow.Goals, caseload: Caseload) -> None:
    assert [e.goal_id for e in goals.plan("client-7", clinician="dr-lee", limit=1,
                                          offset=1)] == [caseload.group]
    assert [e.goal_id for e in goals.reviews(as_of=date(2025, 4, 2), clinician="dr-lee",
                                             limit=2, offset=1)] == [
        caseload.on_hold, caseload.group]
    assert [e.goal_id for e in goals.goal_index(clinician="dr-adebayo", limit=1,
                                                offset=2)] == [caseload.sleep]


def test_audit_entries_streams_typed_entries_a_page_at_a_time(
    goals: goalflow.Goals, caseload: Caseload, rows_read: list[int]
) -> None:
    whole = goals.audit()
    rows_read.clear()

    streamed = goals.audit_entries(page=3)
    assert isinstance(streamed, Iterator)
    first = next(streamed)
    assert rows_read == [3]  # one page read, not the trail
    assert [first, *streamed] == whole
    assert all(isinstance(e, AuditEntry) for e in whole)
    assert max(rows_read) == 3
    assert list(goals.audit_entries(page=2, newest_first=True)) == whole[::-1]


# -- bad filters ----------------------------------------------------------------------


BAD_FILTERS = [
    ("plan", "status", "finished"), ("plan", "status", 3), ("plan", "clinician", 7),
    ("plan", "clinician", ""), ("plan", "awaiting_agreement", "yes"),
    ("plan", "awaiting_agreement", 1), ("plan", "limit", -1), ("plan", "limit", "10"),
    ("plan", "limit", True), ("plan", "offset", -1), ("plan", "offset", None),
    ("plan", "include_closed", "no"),
    ("goal_index", "status", "done"), ("goal_index", "clinician", 7),
    ("goal_index", "awaiting_agreement", "no"), ("goal_index", "limit", 2.5),
    ("goal_index", "offset", -3),
    ("reviews", "status", "proposed"), ("reviews", "subject", 9), ("reviews", "clinician", ""),
    ("reviews", "due_before", "2025-04-01"), ("reviews", "due_before", datetime(2025, 4, 1)),
    ("reviews", "due_before", date(1800, 1, 1)), ("reviews", "limit", -1),
    ("reviews", "offset", "1"), ("reviews", "overdue", "yes"),
    ("audit", "offset", -1), ("audit", "offset", 1.5), ("audit", "newest_first", "yes"),
]


@pytest.mark.parametrize(("method", "name", "value"), BAD_FILTERS,
                         ids=[f"{m}-{n}-{v!r}" for m, n, v in BAD_FILTERS])
def test_a_bad_filter_is_refused_with_one_line_naming_it(
    goals: goalflow.Goals, caseload: Caseload, method: str, name: str, value: object
) -> None:
    args = ("client-7",) if method == "plan" else ()

    with pytest.raises(InvalidCommand) as refused:
        getattr(goals, method)(*args, **{name: value})

    assert refused.value.field == name
    assert name in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_plan_refuses_a_closed_status_without_closed_goals_and_entered_in_error(
    goals: goalflow.Goals, caseload: Caseload
) -> None:
    with pytest.raises(InvalidCommand, match="include_closed") as closed:
        goals.plan("client-9", status="completed")
    with pytest.raises(InvalidCommand, match="never shows") as erroneous:
        goals.plan("client-9", status="entered-in-error", include_closed=True)

    assert closed.value.field == erroneous.value.field == "status"
