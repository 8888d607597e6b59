"""A goal's life through the Goals service, and reading it back, on every store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

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
    ONE_MONTH_ON,
    YOGA,
    agreed_anxiety_goal,
    draft_anxiety_goal,
    recorded_event_count,
    replay,
)

import goalflow
from goalflow import (
    Actor,
    Agreement,
    GoalNotFound,
    InvalidCommand,
    InvalidTransition,
    Measure,
    NotSmart,
    Reading,
    Step,
    Subject,
    VersionNotFound,
)


def test_the_anxiety_goal_lives_its_whole_life_through_the_service(goals, clock):
    goal_id = draft_anxiety_goal(goals)
    assert isinstance(goal_id, UUID)
    goal = goals.get(goal_id)
    assert (goal.status, goal.terms_version, goal.version) == ("proposed", 1, 1)
    assert [(s.step_id, s.description) for s in goal.steps] == [
        ("s1", BREATHING), ("s2", MEDITATION), ("s3", EXPRESSING)
    ]

    clock.advance(minutes=20)
    assert goals.disagree(
        goal_id, by=MAYA, reason="Twenty minutes of meditation is more than I can do",
        alternative="I'd rather something that gets me moving",
    ) == 2
    assert goals.get(goal_id).status == "proposed"

    clock.advance(minutes=5)
    assert goals.revise(
        goal_id, by=DR_LEE, reason="Maya asked for something active instead of meditation",
        remove_steps=["s2"], add_steps=[YOGA],
    ) == 3
    goal = goals.get(goal_id)
    assert (goal.status, goal.terms_version) == ("proposed", 2)
    assert [s.step_id for s in goal.steps] == ["s1", "s3", "s4"]

    with pytest.raises(InvalidTransition):
        goals.agree(goal_id, by=MAYA, terms_version=1, method="signature")
    clock.advance(minutes=5)
    assert goals.agree(goal_id, by=MAYA, terms_version=2, method="signature") == 4
    assert goals.get(goal_id).status == "active"

    clock.advance(days=7)
    assert goals.complete_step(goal_id, by=MAYA, step_id="s1") == 5
    assert goals.record_progress(goal_id, by=MAYA, measure="GAD-7", value=12) == 6
    assert goals.complete_step(goal_id, by=DR_LEE, step_id="s4",
                               note="Yoga most mornings this week") == 7
    assert goals.reopen_step(goal_id, by=DR_LEE, step_id="s4",
                             reason="Yoga stopped after the first week") == 8

    clock.advance(days=2)
    assert goals.hold(goal_id, by=DR_LEE, reason="Maya is in hospital for a knee operation") == 9
    assert goals.get(goal_id).status == "on-hold"
    # Her mother reports from the ward, entered a day late.
    assert goals.record_progress(goal_id, by=MAYAS_MOTHER, measure="GAD-7", value=10,
                                 occurred_at=clock.now - timedelta(days=1)) == 10
    clock.advance(days=5)
    assert goals.resume(goal_id, by=DR_LEE) == 11

    clock.advance(days=7)
    assert goals.revise(
        goal_id, by=DR_LEE, reason="Mornings are rushed; evening yoga fits better",
        reword_steps={"s4": "10 minutes of yoga every evening"},
    ) == 12
    assert goals.get(goal_id).status == "proposed"
    assert goals.agree(goal_id, by=MAYA, terms_version=3, method="verbal",
                       witnessed_by=DR_LEE) == 13
    assert goals.complete_step(goal_id, by=MAYA, step_id="s4") == 14
    assert goals.complete_step(goal_id, by=MAYA, step_id="s3") == 15
    assert goals.record_progress(goal_id, by=MAYA, measure="GAD-7", value=6) == 16

    clock.advance(days=7)
    next_review = clock.now.date() + timedelta(days=90)
    assert goals.review(goal_id, by=DR_OKAFOR, outcome="achieve", notes="GAD-7 below target",
                        next_review_on=next_review) == 17
    assert goals.achieve(goal_id, by=DR_LEE, evidence="GAD-7 at 6, all steps done") == 18

    goal = goals.get(goal_id)
    assert goal.version == 18
    assert goal.status == "completed"
    assert goal.terms_version == 3
    assert goal.steps == (
        Step("s1", BREATHING, "completed"),
        Step("s3", EXPRESSING, "completed"),
        Step("s4", "10 minutes of yoga every evening", "completed"),
    )
    assert goal.readings == {"GAD-7": Reading(6, clock.now - timedelta(days=7))}
    assert goal.next_review_on == next_review
    assert [(a.party, a.terms_version, a.method) for a in goal.agreements] == [
        ("client-7", 2, "signature"), ("client-7", 3, "verbal")
    ]
    assert goal.agreements[1].witnessed_by == DR_LEE
    assert [type(e).__name__ for e in goals.history(goal_id)] == [
        "Drafted", "ClientDisagreed", "Revised", "AgreedByClient", "StepCompleted",
        "ProgressRecorded", "StepCompleted", "StepReopened", "PutOnHold", "ProgressRecorded",
        "Resumed", "Revised", "AgreedByClient", "StepCompleted", "StepCompleted",
        "ProgressRecorded", "ReviewHeld", "Achieved",
    ]

    # Completed is final: nothing but entering it in error is accepted any more.
    with pytest.raises(InvalidTransition):
        goals.record_progress(goal_id, by=MAYA, measure="GAD-7", value=5)
    assert goals.enter_in_error(goal_id, by=DR_OKAFOR,
                                reason="Recorded against the wrong client") == 19
    assert goals.get(goal_id).status == "entered-in-error"
    with pytest.raises(InvalidTransition):
        goals.enter_in_error(goal_id, by=DR_OKAFOR, reason="Twice")
    assert goals.get(goal_id).version == 19


def test_a_group_goal_becomes_active_only_when_every_member_has_agreed(goals):
    members = ("client-7", "client-8", "client-11")
    goal_id = goals.draft(Subject.group("anxiety-group-2", members),
                          "The group practises one calming skill a day", by=DR_LEE,
                          target_date=ONE_MONTH_ON, measures=[GAD7],
                          steps=[BREATHING], addresses=["social anxiety"])
    for member in members[:-1]:
        goals.agree(goal_id, by=Actor(member, "client"), terms_version=1, method="portal")
        assert goals.get(goal_id).status == "proposed"
    goals.agree(goal_id, by=Actor("client-11", "client"), terms_version=1, method="portal")
    goal = goals.get(goal_id)
    assert goal.status == "active"
    assert goal.awaiting_agreement_from == ()


def test_the_goal_at_every_version_equals_a_replay_of_its_first_events(goals, clock):
    goal_id = agreed_anxiety_goal(goals)
    for value in (14, 12, 9):
        clock.advance(days=3)
        goals.record_progress(goal_id, by=MAYA, measure="GAD-7", value=value)
    goals.complete_step(goal_id, by=MAYA, step_id="s1")
    goals.revise(goal_id, by=DR_LEE, reason="Meditation made Maya feel worse",
                 remove_steps=["s2"], add_steps=[YOGA])
    goals.agree(goal_id, by=MAYA, terms_version=2, method="portal")

    history = goals.history(goal_id)
    assert len(history) == 8
    for version in range(1, len(history) + 1):
        at_version = goals.get(goal_id, version=version)
        assert at_version.version == version
        assert at_version == replay(history[:version])
    assert goals.get(goal_id) == replay(history)


@pytest.mark.parametrize("past_latest", [1, 2, 1000])
def test_asking_for_a_version_past_the_latest_is_refused(goals, past_latest):
    goal_id = agreed_anxiety_goal(goals)
    with pytest.raises(VersionNotFound) as refused:
        goals.get(goal_id, version=2 + past_latest)
    assert (refused.value.version, refused.value.latest) == (2 + past_latest, 2)


@pytest.mark.parametrize("version", [0, -1, True, 1.0, "2"])
def test_a_version_that_is_not_a_whole_number_from_one_is_refused(goals, version):
    goal_id = agreed_anxiety_goal(goals)
    with pytest.raises(InvalidCommand):
        goals.get(goal_id, version=version)


def test_the_goal_as_of_a_moment_has_every_event_recorded_by_then(goals, clock):
    before_drafting = clock.now - timedelta(seconds=1)
    goal_id = draft_anxiety_goal(goals)
    recorded = [clock.now]
    clock.advance(hours=1)
    goals.agree(goal_id, by=MAYA, terms_version=1, method="signature")
    recorded.append(clock.now)
    for value in (13, 11, 8):
        clock.advance(days=2)
        goals.record_progress(goal_id, by=MAYA, measure="GAD-7", value=value)
        recorded.append(clock.now)
    history = goals.history(goal_id)
    assert [e.recorded_at for e in history] == recorded

    for version, moment in enumerate(recorded, start=1):
        expected = replay(history[:version])
        assert goals.get(goal_id, as_of=moment) == expected
        # Between two events, and in another time zone, it is the same moment in the record.
        assert goals.get(goal_id, as_of=moment + timedelta(minutes=30)) == expected
        sydney = timezone(timedelta(hours=11))
        assert goals.get(goal_id, as_of=moment.astimezone(sydney)) == expected
    assert goals.get(goal_id, as_of=recorded[-1] + timedelta(days=365)) == goals.get(goal_id)

    with pytest.raises(GoalNotFound):
        goals.get(goal_id, as_of=before_drafting)


def test_as_of_follows_when_events_were_recorded_not_when_they_happened(goals, clock):
    goal_id = agreed_anxiety_goal(goals)
    agreed_version_recorded = clock.now
    clock.advance(days=10)
    # Entered today, happened a week ago: it was not in the record a week ago.
    goals.complete_step(goal_id, by=DR_LEE, step_id="s1",
                        occurred_at=clock.now - timedelta(days=7))
    week_ago = clock.now - timedelta(days=7)
    assert goals.get(goal_id, as_of=week_ago).version == 2
    assert goals.get(goal_id, as_of=week_ago) == goals.get(goal_id, version=2)
    assert goals.get(goal_id, as_of=clock.now).version == 3
    assert goals.get(goal_id, as_of=agreed_version_recorded).status == "active"


def test_as_of_must_be_an_aware_datetime_and_not_combined_with_a_version(goals, clock):
    goal_id = agreed_anxiety_goal(goals)
    with pytest.raises(InvalidCommand):
        goals.get(goal_id, as_of=clock.now.replace(tzinfo=None))
    with pytest.raises(InvalidCommand):
        goals.get(goal_id, as_of=clock.now.date())
    with pytest.raises(InvalidCommand):
        goals.get(goal_id, version=1, as_of=clock.now)


def test_history_gives_every_event_decoded_oldest_first_with_both_times(goals, clock):
    goal_id = agreed_anxiety_goal(goals)
    drafted_at = clock.now
    clock.advance(days=8)
    last_tuesday = clock.now - timedelta(days=6)
    goals.complete_step(goal_id, by=MAYAS_MOTHER, step_id="s1", occurred_at=last_tuesday,
                        note="Maya did the box breathing before her exam")

    drafted, agreed, completed = goals.history(goal_id)
    assert [e.originator_version for e in (drafted, agreed, completed)] == [1, 2, 3]
    assert all(e.goal_id == goal_id for e in (drafted, agreed, completed))
    assert drafted.subject == Subject.client("client-7")
    assert drafted.measures == (GAD7,)
    assert drafted.actor == DR_LEE
    assert (drafted.occurred_at, drafted.recorded_at) == (drafted_at, drafted_at)
    assert agreed.party == "client-7"
    assert agreed.method == "signature"
    assert agreed.terms_version == 1
    assert completed.actor == MAYAS_MOTHER
    assert completed.note == "Maya did the box breathing before her exam"
    # A late entry: it happened last Tuesday and was recorded today.
    assert completed.occurred_at == last_tuesday
    assert completed.recorded_at == clock.now
    assert goals.get(goal_id).agreements == (
        Agreement("client-7", MAYA, 1, "signature", None, drafted_at),
    )


def test_smart_check_reports_what_is_missing_and_agreement_waits_for_it(goals, clock):
    goal_id = goals.draft(Subject.client("client-7"), "Feel less anxious", by=DR_LEE)
    report = goals.smart_check(goal_id)
    assert not report.complete
    assert set(report.missing) == {"measurable", "achievable", "relevant", "time-bound"}

    with pytest.raises(NotSmart) as refused:
        goals.agree(goal_id, by=MAYA, terms_version=1, method="signature")
    assert set(refused.value.missing) == set(report.missing)
    assert goals.get(goal_id).version == 1

    goals.revise(goal_id, by=DR_LEE, reason="Made SMART with Maya",
                 measures=[Measure("GAD-7", baseline=15, target=7)], add_steps=[BREATHING],
                 addresses=["generalised anxiety disorder"],
                 target_date=clock.now.date() + timedelta(days=30))
    assert goals.smart_check(goal_id).complete

    # Judged on the service's today: once the target date has passed, it is not time-bound.
    clock.advance(days=31)
    assert set(goals.smart_check(goal_id).missing) == {"time-bound"}


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda goals, goal_id: goals.get(goal_id), id="get"),
        pytest.param(lambda goals, goal_id: goals.get(goal_id, version=1), id="get-version"),
        pytest.param(
            lambda goals, goal_id: goals.get(goal_id, as_of=datetime.now(UTC)),
            id="get-as-of",
        ),
        pytest.param(lambda goals, goal_id: goals.history(goal_id), id="history"),
        pytest.param(lambda goals, goal_id: goals.smart_check(goal_id), id="smart_check"),
        pytest.param(
            lambda goals, goal_id: goals.agree(goal_id, by=MAYA, terms_version=1,
                                               method="signature"),
            id="agree",
        ),
        pytest.param(
            lambda goals, goal_id: goals.hold(goal_id, by=DR_LEE, reason="Holiday"), id="hold"
        ),
    ],
)
def test_a_goal_that_was_never_drafted_is_not_found(goals, read):
    agreed_anxiety_goal(goals)  # another goal exists; this one does not
    unknown = uuid4()
    with pytest.raises(GoalNotFound) as refused:
        read(goals, unknown)
    assert str(unknown) in str(refused.value)
    assert isinstance(refused.value, LookupError)
    assert recorded_event_count(goals) == 2


@pytest.mark.parametrize("bad_id", ["maya-anxiety", "", "1234", str(uuid4())[:-1], "s1"])
@pytest.mark.parametrize("use", ["get", "history", "smart_check", "complete_step"])
def test_a_goal_id_that_is_not_a_uuid_is_an_invalid_command(goals, bad_id, use):
    agreed_anxiety_goal(goals)
    calls = {
        "get": lambda: goals.get(bad_id),
        "history": lambda: goals.history(bad_id),
        "smart_check": lambda: goals.smart_check(bad_id),
        "complete_step": lambda: goals.complete_step(bad_id, by=MAYA, step_id="s1"),
    }
    with pytest.raises(InvalidCommand) as refused:
        calls[use]()
    assert refused.value.field == "goal_id"


def test_a_goal_id_given_as_a_string_finds_the_goal(goals):
    goal_id = agreed_anxiety_goal(goals)
    assert goals.get(str(goal_id)) == goals.get(goal_id)
    assert goals.complete_step(str(goal_id).upper(), by=MAYA, step_id="s1") == 3


def test_drafting_with_a_chosen_goal_id_twice_is_refused_and_records_nothing(goals):
    goal_id = uuid4()
    assert draft_anxiety_goal(goals, goal_id=goal_id) == goal_id
    with pytest.raises(InvalidCommand):
        draft_anxiety_goal(goals, goal_id=goal_id, statement="A different goal")
    assert len(goals.history(goal_id)) == 1
    assert goals.get(goal_id).statement != "A different goal"


def test_a_refused_command_records_nothing(goals):
    goal_id = agreed_anxiety_goal(goals)
    with pytest.raises(goalflow.NotPermitted):
        goals.achieve(goal_id, by=MAYA)
    with pytest.raises(InvalidCommand):
        goals.complete_step(goal_id, by=MAYA, step_id="s9")
    with pytest.raises(InvalidTransition):
        goals.withdraw(goal_id, by=DR_LEE, reason="Maya changed her mind")
    assert len(goals.history(goal_id)) == 2
    assert goals.get(goal_id).version == 2
