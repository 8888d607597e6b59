"""A store's clinic time zone: every calendar date (the day of an agreement or a review,
review due dates, the worklist's today) is taken in it, on SQLite and PostgreSQL alike.

Around midnight and across the clock changes of America/Chicago and Europe/London. The
tests' clock reads UTC, as a server's does: the zone comes from the store, never from the
offset a moment was given in.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson
import pytest
from anxiety_goal import DR_LEE, GAD7, MAYA, MAYA_SUBJECT, YOGA
from as_printed import printed

import goalflow
from goalflow import InvalidCommand, NotSmart, StoreError, transfer
from goalflow.persistence import settings
from goalflow.version import goalflow_version

CHICAGO = ZoneInfo("America/Chicago")
LONDON = ZoneInfo("Europe/London")

# Monday 2 June 2025, 20:00 in Chicago (CDT, UTC-05:00): 01:00 on Tuesday in UTC.
MONDAY_EVENING = datetime(2025, 6, 2, 20, 0, tzinfo=CHICAGO)
Clock = Any  # the clock fixture (tests/conftest.py): its now is what the service reads
MONDAY = date(2025, 6, 2)
NINETY_DAYS = timedelta(days=90)


def local(zone: ZoneInfo, *parts: int, fold: int = 0) -> datetime:
    """A wall-clock time in ``zone`` (``fold=1``: the second of an hour that comes twice),
    as the clock gives it: in UTC."""
    return datetime(*parts, tzinfo=zone, fold=fold).astimezone(UTC)  # type: ignore[misc]


def agreed_at(goals: goalflow.Goals, clock: Clock, moment: datetime, *,
              target_date: date | None = None) -> UUID:
    """Maya's yoga goal, drafted a week before ``moment`` and agreed at it (by the clock)."""
    clock.now = moment - timedelta(days=7)
    goal_id = goals.draft(MAYA_SUBJECT, "Manage anxiety with daily yoga", by=DR_LEE,
                          steps=[YOGA], measures=[GAD7], addresses=["anxiety"],
                          target_date=target_date or moment.date() + timedelta(days=120))
    clock.now = moment
    goals.agree(goal_id, by=MAYA, terms_version=1, method="signature")
    return goal_id


def due_on(goals: goalflow.Goals, goal_id: UUID) -> date:
    [item] = [i for i in printed(goals.reviews(as_of=date(2025, 1, 1)))
              if i["goal_id"] == str(goal_id)]
    return date.fromisoformat(item["due_on"])


@pytest.fixture
def chicago(store_url: str, clock: Clock) -> Iterator[goalflow.Goals]:
    goals = goalflow.open(store_url, clock=clock, timezone="America/Chicago")
    yield goals
    goals.close()


# -- where the zone is kept -------------------------------------------------------------------


def test_a_store_keeps_its_dates_in_utc_until_a_zone_is_set(goals: goalflow.Goals) -> None:
    assert goals.timezone == "UTC"
    assert goals.tzinfo == ZoneInfo("UTC")
    assert goals.timezone_history() == []


def test_a_zone_given_at_creation_is_kept_and_read_back_read_only(store_url: str,
                                                                 clock: Clock) -> None:
    goalflow.open(store_url, clock=clock, timezone="America/Chicago").close()
    with goalflow.open(store_url) as goals:
        assert goals.timezone == "America/Chicago"
    with goalflow.open(store_url, readonly=True) as goals:
        assert goals.tzinfo == CHICAGO
        assert goals.timezone_history() == [
            {"timezone": "America/Chicago", "set_at": clock.now.isoformat(), "position": 0,
             "goalflow": goalflow_version()}]


def test_opening_with_the_zone_a_store_has_records_nothing(chicago: goalflow.Goals,
                                                           store_url: str, clock: Clock
                                                           ) -> None:
    agreed_at(chicago, clock, MONDAY_EVENING)
    with goalflow.open(store_url, timezone="America/Chicago") as again:
        assert len(again.timezone_history()) == 1
    with goalflow.open(store_url, readonly=True, timezone="America/Chicago") as reader:
        assert reader.timezone == "America/Chicago"


# -- the day of a moment is the clinic's ------------------------------------------------------


def test_a_goal_agreed_at_20_00_in_chicago_is_due_ninety_days_after_that_monday(
        chicago: goalflow.Goals, clock: Clock) -> None:
    goal_id = agreed_at(chicago, clock, MONDAY_EVENING)
    assert chicago.get(goal_id).activated_at == MONDAY_EVENING  # 01:00 on Tuesday in UTC
    assert due_on(chicago, goal_id) == MONDAY + NINETY_DAYS == date(2025, 8, 31)


def test_in_a_utc_store_the_same_agreement_falls_on_tuesday(goals: goalflow.Goals,
                                                             clock: Clock) -> None:
    goal_id = agreed_at(goals, clock, MONDAY_EVENING)
    assert due_on(goals, goal_id) == date(2025, 9, 1)


def test_an_agreement_given_as_a_utc_time_on_the_target_dates_evening_is_in_time(
        chicago: goalflow.Goals, clock: Clock) -> None:
    clock.now = MONDAY_EVENING - timedelta(days=20)
    goal_id = chicago.draft(MAYA_SUBJECT, "Manage anxiety with daily yoga", by=DR_LEE,
                            steps=[YOGA], measures=[GAD7], addresses=["anxiety"],
                            target_date=MONDAY)
    clock.now = MONDAY_EVENING.astimezone(UTC) + timedelta(minutes=5)
    assert chicago.smart_check(goal_id).complete  # judged on the clinic's Monday

    chicago.agree(goal_id, by=MAYA, terms_version=1, method="signature",
                  occurred_at=MONDAY_EVENING.astimezone(UTC))

    assert chicago.get(goal_id).status == "active"


def test_in_a_utc_store_that_agreement_comes_after_the_target_date(goals: goalflow.Goals,
                                                                    clock: Clock) -> None:
    clock.now = MONDAY_EVENING - timedelta(days=20)
    goal_id = goals.draft(MAYA_SUBJECT, "Manage anxiety with daily yoga", by=DR_LEE,
                          steps=[YOGA], measures=[GAD7], addresses=["anxiety"],
                          target_date=MONDAY)
    clock.now = MONDAY_EVENING.astimezone(UTC) + timedelta(minutes=5)
    assert goals.smart_check(goal_id).missing == {"time-bound": "target date 2025-06-02 has"
                                                  " passed"}
    with pytest.raises(NotSmart, match="target date 2025-06-02 has passed"):
        goals.agree(goal_id, by=MAYA, terms_version=1, method="signature",
                    occurred_at=MONDAY_EVENING)


def test_the_worklists_today_at_23_30_in_chicago_is_still_that_day(chicago: goalflow.Goals,
                                                                    clock: Clock) -> None:
    goal_id = agreed_at(chicago, clock, MONDAY_EVENING - timedelta(days=30))
    clock.now = MONDAY_EVENING - timedelta(days=20)
    chicago.review(goal_id, by=DR_LEE, outcome="continue", next_review_on=MONDAY)

    clock.now = local(CHICAGO, 2025, 6, 2, 23, 30)  # 04:30 on Tuesday in UTC
    assert chicago.today() == MONDAY
    [item] = printed(chicago.reviews())
    assert (item["due_on"], item["overdue"], item["days_overdue"]) == ("2025-06-02", False, 0)
    assert printed(chicago.reviews(overdue=True)) == []

    clock.advance(hours=1)  # 00:30 on Tuesday in Chicago
    assert chicago.today() == MONDAY + timedelta(days=1)
    [item] = printed(chicago.reviews(overdue=True))
    assert (item["overdue"], item["days_overdue"]) == (True, 1)


def test_a_review_at_23_30_in_chicago_may_set_the_next_for_tomorrow(
        chicago: goalflow.Goals, clock: Clock) -> None:
    goal_id = agreed_at(chicago, clock, MONDAY_EVENING - timedelta(days=30))
    clock.now = local(CHICAGO, 2025, 6, 2, 23, 30)
    with pytest.raises(InvalidCommand, match=r"must be after the review \(2025-06-02\)"):
        chicago.review(goal_id, by=DR_LEE, outcome="continue", next_review_on=MONDAY)

    chicago.review(goal_id, by=DR_LEE, outcome="continue",
                   next_review_on=MONDAY + timedelta(days=1))

    assert chicago.get(goal_id).next_review_on == date(2025, 6, 3)


def test_commands_in_a_batch_take_their_dates_in_the_clinics_zone(chicago: goalflow.Goals,
                                                                  clock: Clock) -> None:
    goal_id = agreed_at(chicago, clock, MONDAY_EVENING - timedelta(days=30))
    clock.now = local(CHICAGO, 2025, 6, 2, 23, 30)
    outcomes = list(chicago.execute_many([
        ("review", {"goal_id": goal_id, "by": DR_LEE, "outcome": "continue",
                    "next_review_on": date(2025, 6, 3)}),
        ("record_progress", {"goal_id": goal_id, "by": MAYA, "measure": "GAD-7", "value": 9}),
    ]))
    assert [o.event for o in outcomes] == ["ReviewHeld", "ProgressRecorded"]


# -- across the clock changes -------------------------------------------------------------------

# (zone, a wall-clock moment of an agreement, the day it falls on in that zone)
CLOCK_CHANGES = [
    pytest.param(CHICAGO, (2025, 3, 8, 23, 30), 0, date(2025, 3, 8),
                 id="chicago-23:30-CST-before-spring-forward"),
    pytest.param(CHICAGO, (2025, 3, 9, 23, 30), 0, date(2025, 3, 9),
                 id="chicago-23:30-CDT-after-spring-forward"),
    pytest.param(CHICAGO, (2025, 11, 1, 23, 30), 0, date(2025, 11, 1),
                 id="chicago-23:30-CDT-before-fall-back"),
    pytest.param(CHICAGO, (2025, 11, 2, 1, 30), 1, date(2025, 11, 2),
                 id="chicago-the-second-01:30"),
    pytest.param(CHICAGO, (2025, 11, 2, 23, 30), 0, date(2025, 11, 2),
                 id="chicago-23:30-CST-after-fall-back"),
    pytest.param(LONDON, (2025, 3, 31, 0, 30), 0, date(2025, 3, 31),
                 id="london-00:30-BST-after-spring-forward"),
    pytest.param(LONDON, (2025, 10, 26, 0, 30), 0, date(2025, 10, 26),
                 id="london-00:30-BST-the-night-of-fall-back"),
    pytest.param(LONDON, (2025, 10, 26, 1, 30), 0, date(2025, 10, 26),
                 id="london-the-first-01:30"),
]


@pytest.mark.parametrize(("zone", "wall_clock", "fold", "day"), CLOCK_CHANGES)
def test_across_a_clock_change_dates_are_the_clinics(
        store_url: str, clock: Clock, zone: ZoneInfo, wall_clock: tuple[int, ...], fold: int,
        day: date) -> None:
    with goalflow.open(store_url, clock=clock, timezone=str(zone)) as goals:
        moment = local(zone, *wall_clock, fold=fold)
        goal_id = agreed_at(goals, clock, moment)

        assert goals.today() == day
        assert due_on(goals, goal_id) == day + NINETY_DAYS
        with pytest.raises(InvalidCommand, match=f"must be after the review \\({day}\\)"):
            goals.review(goal_id, by=DR_LEE, outcome="continue", next_review_on=day)
        goals.review(goal_id, by=DR_LEE, outcome="continue",
                     next_review_on=day + timedelta(days=1))
        clock.advance(minutes=1)
        goals.review(goal_id, by=DR_LEE, outcome="continue")
        assert due_on(goals, goal_id) == (clock.now.astimezone(zone).date() + NINETY_DAYS)


# -- changing the zone -------------------------------------------------------------------------


def test_an_empty_store_takes_a_new_zone_without_force(goals: goalflow.Goals) -> None:
    assert goals.set_timezone("Europe/London") == "UTC"
    assert goals.set_timezone("America/Chicago") == "Europe/London"
    assert [c["timezone"] for c in goals.timezone_history()] == ["Europe/London",
                                                                 "America/Chicago"]


def test_changing_the_zone_of_a_store_with_goals_needs_force(goals: goalflow.Goals,
                                                             clock: Clock) -> None:
    agreed_at(goals, clock, MONDAY_EVENING)
    with pytest.raises(InvalidCommand, match="holds goals, whose review due dates are worked"
                       " out in its time zone UTC: changing it to America/Chicago can move"
                       " them by a day") as refused:
        goals.set_timezone("America/Chicago")
    assert refused.value.field == "timezone"
    assert "--force" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert (goals.timezone, goals.timezone_history()) == ("UTC", [])


def test_a_forced_change_moves_due_dates_at_once_and_a_rebuild_agrees(
        goals: goalflow.Goals, clock: Clock) -> None:
    goal_id = agreed_at(goals, clock, MONDAY_EVENING)
    assert due_on(goals, goal_id) == date(2025, 9, 1)

    assert goals.set_timezone("America/Chicago", force=True) == "UTC"

    assert due_on(goals, goal_id) == date(2025, 8, 31)  # no rebuild needed
    worklist = printed(goals.reviews(as_of=date(2025, 9, 1)))
    goals.projections.rebuild_many(sorted(goals.projections.all))
    assert printed(goals.reviews(as_of=date(2025, 9, 1))) == worklist
    [change] = goals.timezone_history()
    assert change["position"] == 2  # the log's head: the draft and the agreement before it


def test_setting_the_zone_a_store_has_records_nothing_and_needs_no_force(
        chicago: goalflow.Goals, clock: Clock) -> None:
    agreed_at(chicago, clock, MONDAY_EVENING)
    assert chicago.set_timezone("America/Chicago") == "America/Chicago"
    assert len(chicago.timezone_history()) == 1


def test_utc_set_on_a_store_with_goals_in_utc_moves_nothing_and_needs_no_force(
        goals: goalflow.Goals, clock: Clock) -> None:
    agreed_at(goals, clock, MONDAY_EVENING)
    assert goals.set_timezone("UTC") == "UTC"
    assert [c["timezone"] for c in goals.timezone_history()] == ["UTC"]


def test_another_process_changing_the_zone_is_seen_by_the_next_read(
        chicago: goalflow.Goals, store_url: str, clock: Clock) -> None:
    goal_id = agreed_at(chicago, clock, MONDAY_EVENING - timedelta(days=30))
    assert due_on(chicago, goal_id) == date(2025, 8, 1)  # Saturday 3 May in Chicago, plus 90
    with goalflow.open(store_url, clock=clock) as other:
        other.set_timezone("UTC", force=True)
    assert chicago.timezone == "UTC"
    assert due_on(chicago, goal_id) == date(2025, 8, 2)  # Sunday 4 May in UTC, plus 90


def test_a_command_judged_in_a_zone_changed_meanwhile_is_judged_again_in_the_new_one(
        chicago: goalflow.Goals, store_url: str, clock: Clock) -> None:
    goal_id = agreed_at(chicago, clock, MONDAY_EVENING - timedelta(days=30))  # in Chicago's
    with goalflow.open(store_url, clock=clock) as other:
        other.set_timezone("UTC", force=True)
    clock.now = local(CHICAGO, 2025, 6, 2, 23, 30)  # Tuesday in UTC
    with pytest.raises(InvalidCommand, match=r"must be after the review \(2025-06-03\)"):
        chicago.review(goal_id, by=DR_LEE, outcome="continue", next_review_on=date(2025, 6, 3))
    assert chicago.get(goal_id).version == 2  # nothing recorded


def test_a_refusal_in_a_zone_changed_meanwhile_is_judged_again_in_the_new_one(
        goals: goalflow.Goals, store_url: str, clock: Clock) -> None:
    goal_id = agreed_at(goals, clock, MONDAY_EVENING - timedelta(days=30))  # in UTC
    with goalflow.open(store_url, clock=clock) as other:
        other.set_timezone("America/Chicago", force=True)
    clock.now = local(CHICAGO, 2025, 6, 2, 23, 30)  # still Monday in Chicago

    goals.review(goal_id, by=DR_LEE, outcome="continue", next_review_on=date(2025, 6, 3))

    assert goals.get(goal_id).next_review_on == date(2025, 6, 3)


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "said"), [
    ("America/Chicgo", "unknown time zone 'America/Chicgo': not an IANA time zone name this"
                       " machine knows; did you mean America/Chicago?"),
    ("europe/london", "unknown time zone 'europe/london': .*did you mean Europe/London\\?"),
    ("Mars/Olympus", "unknown time zone 'Mars/Olympus': .*IANA names look like"),
    ("", "unknown time zone ''"),
    ("../../etc/passwd", "unknown time zone '../../etc/passwd'"),
    ("localtime", "'localtime' is not a clinic's time zone"),
    (-5, "timezone must be an IANA time zone name such as America/Chicago, not int"),
])
def test_a_name_that_is_not_an_iana_zone_is_refused_by_name_and_records_nothing(
        goals: goalflow.Goals, name: object, said: str) -> None:
    with pytest.raises(InvalidCommand, match=said) as refused:
        goals.set_timezone(name)  # type: ignore[arg-type]
    assert refused.value.field == "timezone"
    assert "\n" not in str(refused.value)
    assert goals.timezone_history() == []


def test_an_unknown_zone_at_creation_creates_no_store(tmp_path: Path) -> None:
    with pytest.raises(InvalidCommand, match="unknown time zone 'America/Chicgo'"):
        goalflow.open(f"sqlite:///{tmp_path}/new.db", timezone="America/Chicgo")
    assert not (tmp_path / "new.db").exists()


def test_force_must_be_true_or_false(goals: goalflow.Goals) -> None:
    with pytest.raises(InvalidCommand, match="force must be true or false, not 'yes'"):
        goals.set_timezone("America/Chicago", force="yes")  # type: ignore[arg-type]


def test_opening_a_store_with_goals_in_another_zone_is_refused(chicago: goalflow.Goals,
                                                               store_url: str, clock: Clock
                                                               ) -> None:
    agreed_at(chicago, clock, MONDAY_EVENING)
    with pytest.raises(InvalidCommand, match="in its time zone America/Chicago: changing it"
                       " to Europe/London"):
        goalflow.open(store_url, timezone="Europe/London")
    with pytest.raises(InvalidCommand, match="keeps its dates in time zone America/Chicago,"
                       " not Europe/London"):
        goalflow.open(store_url, readonly=True, timezone="Europe/London")
    assert chicago.timezone == "America/Chicago"


def test_a_read_only_store_cannot_have_its_zone_set(chicago: goalflow.Goals,
                                                    store_url: str) -> None:
    with goalflow.open(store_url, readonly=True) as reader, \
            pytest.raises(StoreError, match="open read-only; setting timezone refused"):
        reader.set_timezone("Europe/London")
    assert chicago.timezone == "America/Chicago"


def test_a_zone_this_machine_does_not_know_is_said_in_one_line(chicago: goalflow.Goals,
                                                               clock: Clock) -> None:
    agreed_at(chicago, clock, MONDAY_EVENING)
    # As a store set by a machine with a newer time zone database than this one.
    store = chicago.store
    with store.recorder.transaction(commit=True) as tx:
        settings.record(tx, settings.TIMEZONE, "America/Atlantis", set_at=clock.now,
                        position=2)
    assert chicago.timezone == "America/Atlantis"
    goal_id = printed(chicago.goal_index())[0]["goal_id"]
    for read in (chicago.reviews, chicago.today,
                 lambda: chicago.review(goal_id, by=DR_LEE, outcome="continue")):
        with pytest.raises(StoreError, match="keeps its dates in time zone 'America/Atlantis',"
                           " which this machine's time zone database does not have"):
            read()


# -- moving a store ---------------------------------------------------------------------------


def exported(goals: goalflow.Goals) -> io.BytesIO:
    out = io.BytesIO()
    transfer.export(goals, out)
    out.seek(0)
    return out


def test_an_export_takes_the_zone_and_its_changes_to_the_store_it_rebuilds(
        chicago: goalflow.Goals, clock: Clock, tmp_path: Path) -> None:
    goal_id = agreed_at(chicago, clock, MONDAY_EVENING)
    clock.advance(days=1)
    chicago.set_timezone("Europe/London", force=True)
    worklist = printed(chicago.reviews(as_of=date(2025, 9, 1)))

    with goalflow.open(f"sqlite:///{tmp_path}/copy.db", clock=clock) as copy:
        transfer.import_(copy, exported(chicago))

        assert copy.timezone == "Europe/London"
        assert copy.timezone_history() == chicago.timezone_history()
        assert [c["position"] for c in copy.timezone_history()] == [0, 2]
        assert printed(copy.reviews(as_of=date(2025, 9, 1))) == worklist
        assert due_on(copy, goal_id) == date(2025, 9, 1)  # 02:00 on Tuesday in London


def test_an_import_into_a_store_set_to_another_zone_is_refused_and_writes_nothing(
        chicago: goalflow.Goals, clock: Clock, tmp_path: Path) -> None:
    agreed_at(chicago, clock, MONDAY_EVENING)
    with goalflow.open(f"sqlite:///{tmp_path}/copy.db", timezone="Europe/London") as copy:
        with pytest.raises(StoreError, match="is set to time zone Europe/London, but the"
                           " exported store kept its dates in America/Chicago"):
            transfer.import_(copy, exported(chicago))
        assert printed(copy.goal_index()) == []
        assert len(copy.timezone_history()) == 1


def test_an_import_into_a_store_set_to_the_same_zone_keeps_its_own_record_of_it(
        chicago: goalflow.Goals, clock: Clock, tmp_path: Path) -> None:
    agreed_at(chicago, clock, MONDAY_EVENING)
    with goalflow.open(f"sqlite:///{tmp_path}/copy.db", timezone="America/Chicago") as copy:
        transfer.import_(copy, exported(chicago))
        assert len(printed(copy.goal_index())) == 1
        assert len(copy.timezone_history()) == 1


@pytest.mark.parametrize(("header", "said"), [
    ({"timezone": "America/Atlantis"}, "unknown time zone 'America/Atlantis'"),
    ({"timezone": "Europe/London"},
     "the time zone Europe/London is not the last one set \\(America/Chicago\\)"),
    ({"settings": "America/Chicago"}, "settings must be a list"),
    ({"settings": [{"name": "language", "value": "en"}]}, "a setting this goalflow does not"
     " know"),
])
def test_an_export_whose_zone_is_not_sound_is_refused_on_its_first_line(
        chicago: goalflow.Goals, clock: Clock, header: dict[str, Any], said: str) -> None:
    agreed_at(chicago, clock, MONDAY_EVENING)
    first, rest = exported(chicago).getvalue().split(b"\n", 1)
    edited = orjson.dumps({**orjson.loads(first), **header}) + b"\n" + rest
    with pytest.raises(transfer.ExportFileError, match=f"line 1: the store's time zone: {said}"):
        transfer.check(io.BytesIO(edited))


def test_an_export_from_before_time_zones_imports_as_a_store_in_utc(store_url: str) -> None:
    old = Path(__file__).parent.parent / "fixtures" / "stores" / "v1" / "export.jsonl"
    with goalflow.open(store_url) as goals, old.open("rb") as source:
        transfer.import_(goals, source)
        assert (goals.timezone, goals.timezone_history()) == ("UTC", [])
