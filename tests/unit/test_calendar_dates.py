"""Calendar dates are the clinic's: taken in the clinic's time zone, given to the domain as
data, never in the offset a moment happened to be sent with (an EHR may send UTC).

Around midnight and across the clock changes of America/Chicago and Europe/London.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from goalflow.domain import Goal
from goalflow.domain.values import calendar_date
from goalflow.errors import InvalidCommand, NotSmart

from .builders import ANXIETY_GOAL, DR_OKAFOR, MAYA, MAYAS_SUBJECT

CHICAGO = ZoneInfo("America/Chicago")
LONDON = ZoneInfo("Europe/London")

# Monday 2 June 2025, 20:00 in Chicago (CDT, UTC-05:00): 01:00 on Tuesday in UTC.
MONDAY_EVENING = datetime(2025, 6, 2, 20, 0, tzinfo=CHICAGO)
MONDAY = date(2025, 6, 2)


def drafted(at: datetime, *, target_date: date) -> Goal:
    goal = Goal.draft(goal_id=uuid4(), subject=MAYAS_SUBJECT, by=DR_OKAFOR, occurred_at=at,
                      recorded_at=at, **{**ANXIETY_GOAL, "target_date": target_date})
    goal.collect_events()
    return goal


def agreed(at: datetime, zone: ZoneInfo) -> Goal:
    goal = drafted(at - timedelta(days=7), target_date=at.date() + timedelta(days=30))
    goal.agree(by=MAYA, terms_version=1, method="signature", occurred_at=at, recorded_at=at,
               zone=zone)
    goal.collect_events()
    return goal


# -- the date of a moment ---------------------------------------------------------------------

# (zone, the moment in UTC, its date on the clinic's calendar)
AROUND_CLOCK_CHANGES = [
    pytest.param(CHICAGO, datetime(2025, 6, 3, 1, 0, tzinfo=UTC), date(2025, 6, 2),
                 id="chicago-20:00-CDT-is-still-monday"),
    pytest.param(CHICAGO, datetime(2025, 3, 9, 5, 30, tzinfo=UTC), date(2025, 3, 8),
                 id="chicago-23:30-CST-the-night-before-spring-forward"),
    pytest.param(CHICAGO, datetime(2025, 3, 9, 7, 59, tzinfo=UTC), date(2025, 3, 9),
                 id="chicago-01:59-CST-just-before-the-gap"),
    pytest.param(CHICAGO, datetime(2025, 3, 9, 8, 0, tzinfo=UTC), date(2025, 3, 9),
                 id="chicago-03:00-CDT-just-after-the-gap"),
    pytest.param(CHICAGO, datetime(2025, 3, 10, 4, 30, tzinfo=UTC), date(2025, 3, 9),
                 id="chicago-23:30-CDT-the-night-after-spring-forward"),
    pytest.param(CHICAGO, datetime(2025, 11, 2, 4, 30, tzinfo=UTC), date(2025, 11, 1),
                 id="chicago-23:30-CDT-the-night-before-fall-back"),
    pytest.param(CHICAGO, datetime(2025, 11, 2, 6, 30, tzinfo=UTC), date(2025, 11, 2),
                 id="chicago-the-first-01:30"),
    pytest.param(CHICAGO, datetime(2025, 11, 2, 7, 30, tzinfo=UTC), date(2025, 11, 2),
                 id="chicago-the-second-01:30"),
    pytest.param(CHICAGO, datetime(2025, 11, 3, 5, 30, tzinfo=UTC), date(2025, 11, 2),
                 id="chicago-23:30-CST-the-night-after-fall-back"),
    pytest.param(LONDON, datetime(2025, 3, 30, 0, 30, tzinfo=UTC), date(2025, 3, 30),
                 id="london-00:30-GMT-before-spring-forward"),
    pytest.param(LONDON, datetime(2025, 3, 30, 22, 30, tzinfo=UTC), date(2025, 3, 30),
                 id="london-23:30-BST-the-night-after-spring-forward"),
    pytest.param(LONDON, datetime(2025, 3, 30, 23, 30, tzinfo=UTC), date(2025, 3, 31),
                 id="london-00:30-BST-the-next-morning"),
    pytest.param(LONDON, datetime(2025, 10, 25, 23, 30, tzinfo=UTC), date(2025, 10, 26),
                 id="london-00:30-BST-the-night-of-fall-back"),
    pytest.param(LONDON, datetime(2025, 10, 26, 0, 30, tzinfo=UTC), date(2025, 10, 26),
                 id="london-the-first-01:30"),
    pytest.param(LONDON, datetime(2025, 10, 26, 1, 30, tzinfo=UTC), date(2025, 10, 26),
                 id="london-the-second-01:30"),
    pytest.param(LONDON, datetime(2025, 10, 26, 23, 30, tzinfo=UTC), date(2025, 10, 26),
                 id="london-23:30-GMT-the-night-after-fall-back"),
]


@pytest.mark.parametrize(("zone", "moment", "day"), AROUND_CLOCK_CHANGES)
def test_a_moment_falls_on_the_clinics_day_whatever_offset_it_was_given_in(
        zone: ZoneInfo, moment: datetime, day: date) -> None:
    assert calendar_date(moment, zone) == day
    assert calendar_date(moment.astimezone(ZoneInfo("Asia/Tokyo")), zone) == day
    assert calendar_date(moment.astimezone(zone), zone) == day


# -- agreeing: has the target date passed? ------------------------------------------------------


def test_an_agreement_on_the_evening_of_the_target_date_is_in_time_in_the_clinics_zone(
) -> None:
    goal = drafted(MONDAY_EVENING - timedelta(days=20), target_date=MONDAY)
    sent_in_utc = MONDAY_EVENING.astimezone(UTC)  # 2025-06-03T01:00:00+00:00

    goal.agree(by=MAYA, terms_version=1, method="signature", occurred_at=sent_in_utc,
               recorded_at=sent_in_utc, zone=CHICAGO)

    assert goal.status == "active"


def test_the_same_agreement_in_a_utc_clinic_comes_after_the_target_date() -> None:
    goal = drafted(MONDAY_EVENING - timedelta(days=20), target_date=MONDAY)
    with pytest.raises(NotSmart, match="target date 2025-06-02 has passed"):
        goal.agree(by=MAYA, terms_version=1, method="signature", occurred_at=MONDAY_EVENING,
                   recorded_at=MONDAY_EVENING, zone=UTC)


def test_the_day_a_goal_was_drafted_is_the_clinics_day() -> None:
    # Drafted on Sunday evening in Chicago, sent as 01:00 on Monday UTC, due on Monday.
    sunday_evening = (MONDAY_EVENING - timedelta(days=1)).astimezone(UTC)
    goal = drafted(sunday_evening, target_date=MONDAY)

    assert goal.smart_check(on=MONDAY - timedelta(days=1), zone=CHICAGO).complete
    assert goal.smart_check(on=MONDAY, zone=UTC).missing == {
        "time-bound": "target date 2025-06-02 is not after the date drafted (2025-06-02)"}


# -- reviews: the next one must come after the day of this one -------------------------------


def test_a_review_at_23_30_may_set_the_next_for_the_clinics_tomorrow() -> None:
    late_evening = datetime(2025, 6, 2, 23, 30, tzinfo=CHICAGO)
    goal = agreed(late_evening - timedelta(days=10), CHICAGO)
    sent_from_tokyo = late_evening.astimezone(ZoneInfo("Asia/Tokyo"))  # Tuesday 13:30

    goal.review(by=DR_OKAFOR, outcome="continue", next_review_on=date(2025, 6, 3),
                occurred_at=sent_from_tokyo, recorded_at=sent_from_tokyo, zone=CHICAGO)

    assert goal.next_review_on == date(2025, 6, 3)


def test_a_review_at_00_30_may_not_set_the_next_for_that_same_clinic_day() -> None:
    just_after_midnight = datetime(2025, 6, 3, 0, 30, tzinfo=CHICAGO)
    goal = agreed(just_after_midnight - timedelta(days=10), CHICAGO)
    with pytest.raises(InvalidCommand, match=r"must be after the review \(2025-06-03\)") as e:
        goal.review(by=DR_OKAFOR, outcome="continue", next_review_on=date(2025, 6, 3),
                    occurred_at=just_after_midnight.astimezone(UTC),
                    recorded_at=just_after_midnight.astimezone(UTC), zone=CHICAGO)
    assert e.value.field == "next_review_on"


@pytest.mark.parametrize(("zone", "moment", "day"), AROUND_CLOCK_CHANGES)
def test_around_a_clock_change_a_review_may_set_the_next_for_the_following_day(
        zone: ZoneInfo, moment: datetime, day: date) -> None:
    goal = agreed(moment - timedelta(days=10), zone)

    with pytest.raises(InvalidCommand, match=f"must be after the review \\({day}\\)"):
        goal.review(by=DR_OKAFOR, outcome="continue", next_review_on=day, occurred_at=moment,
                    recorded_at=moment, zone=zone)
    goal.review(by=DR_OKAFOR, outcome="continue", next_review_on=day + timedelta(days=1),
                occurred_at=moment, recorded_at=moment, zone=zone)

    assert goal.next_review_on == day + timedelta(days=1)


# -- the zone is data, and must be a zone -------------------------------------------------------


@pytest.mark.parametrize("zone", ["America/Chicago", None, -5])
def test_a_zone_that_is_not_a_tzinfo_is_refused_by_name(zone: object) -> None:
    goal = drafted(MONDAY_EVENING, target_date=MONDAY + timedelta(days=30))
    with pytest.raises(InvalidCommand, match="zone must be a time zone") as e:
        goal.agree(by=MAYA, terms_version=1, method="signature", occurred_at=MONDAY_EVENING,
                   recorded_at=MONDAY_EVENING, zone=zone)  # type: ignore[arg-type]
    assert e.value.field == "zone"
    assert not goal.collect_events()
    with pytest.raises(InvalidCommand, match="zone must be a time zone"):
        goal.smart_check(on=MONDAY, zone=zone)  # type: ignore[arg-type]


def test_a_zone_refused_in_a_review_records_nothing() -> None:
    goal = agreed(MONDAY_EVENING, CHICAGO)
    with pytest.raises(InvalidCommand, match="zone must be a time zone"):
        goal.review(by=DR_OKAFOR, outcome="continue", occurred_at=MONDAY_EVENING,
                    recorded_at=MONDAY_EVENING, zone="UTC")  # type: ignore[arg-type]
    assert not goal.collect_events()
