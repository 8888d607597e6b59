"""Commands refused by the goal's status or by who gives them; a refusal records nothing."""

from __future__ import annotations

from uuid import uuid4

import pytest

from goalflow.domain import Actor, Goal
from goalflow.errors import GoalflowError, InvalidTransition, NotPermitted

from .builders import (
    ALLOWED_FROM,
    ANXIETY_GOAL,
    CLIENT_ONLY,
    CLIENT_OR_CLINICAL,
    CLINICAL_ONLY,
    COMMANDS,
    DR_LINDQVIST,
    DR_OKAFOR,
    FINAL,
    JONAH,
    JONAHS_FATHER,
    LATER,
    MAYA,
    MAYAS_SUBJECT,
    ROSA,
    STATUSES,
    TUESDAY_GROUP,
    at,
    draft_anxiety_goal,
    first_allowed_status,
    goal_in,
    refused,
    run,
)

NOT_ALLOWED = [
    (command, status)
    for command, statuses in ALLOWED_FROM.items()
    for status in STATUSES
    if status not in statuses
]


@pytest.mark.parametrize(("command", "status"), NOT_ALLOWED)
def test_a_command_from_a_status_the_table_does_not_allow_is_refused(
    command: str, status: str
) -> None:
    goal = goal_in(status)

    with refused(goal, InvalidTransition, match=f"is {status}; {command} needs it to be") as e:
        run(command, goal)

    assert e.value.status == status
    assert e.value.goal_id == goal.id


@pytest.mark.parametrize("status", FINAL[:-1])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_final_goal_accepts_only_entered_in_error(status: str, command: str) -> None:
    goal = goal_in(status)
    if command == "enter_in_error":
        run(command, goal)
        assert goal.status == "entered-in-error"
    else:
        with refused(goal, InvalidTransition):
            run(command, goal)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_goal_entered_in_error_accepts_nothing_at_all(command: str) -> None:
    goal = goal_in("entered-in-error")
    with refused(goal, InvalidTransition, match="is entered-in-error"):
        run(command, goal)


def test_refusal_errors_are_goalflow_errors_a_caller_can_catch_as_builtins() -> None:
    assert issubclass(InvalidTransition, GoalflowError)
    assert issubclass(InvalidTransition, ValueError)
    assert issubclass(NotPermitted, GoalflowError)
    assert issubclass(NotPermitted, PermissionError)


# -- who may do what ---------------------------------------------------------------------------

OUTSIDERS = [JONAH, JONAHS_FATHER]  # a client of another goal, and a guardian of one
CLINICIANS = [DR_OKAFOR, DR_LINDQVIST]
MAYAS_SIDE = [MAYA, ROSA]

NOT_PERMITTED = (
    [(c, a) for c in sorted(CLIENT_ONLY) for a in CLINICIANS + OUTSIDERS]
    + [(c, a) for c in sorted(CLIENT_OR_CLINICAL) for a in OUTSIDERS]
    + [(c, a) for c in sorted(CLINICAL_ONLY) for a in MAYAS_SIDE + OUTSIDERS]
)
PERMITTED = (
    [(c, a) for c in sorted(CLIENT_ONLY) for a in MAYAS_SIDE]
    + [(c, a) for c in sorted(CLIENT_OR_CLINICAL) for a in MAYAS_SIDE + CLINICIANS]
    + [(c, a) for c in sorted(CLINICAL_ONLY) for a in CLINICIANS]
)


def _ids(value: object) -> str:
    return value.describe() if isinstance(value, Actor) else str(value)


@pytest.mark.parametrize(("command", "by"), NOT_PERMITTED, ids=_ids)
def test_a_command_from_someone_not_entitled_to_it_is_refused_naming_them(
    command: str, by: Actor
) -> None:
    goal = goal_in(first_allowed_status(command))

    with refused(goal, NotPermitted) as e:
        run(command, goal, by)

    assert by.id in str(e.value)
    assert by.role in str(e.value)
    assert command in str(e.value)
    assert (e.value.actor_id, e.value.role, e.value.command) == (by.id, by.role, command)


@pytest.mark.parametrize(("command", "by"), PERMITTED, ids=_ids)
def test_a_command_from_someone_entitled_to_it_is_recorded(command: str, by: Actor) -> None:
    goal = goal_in(first_allowed_status(command))
    run(command, goal, by)
    [event] = goal.collect_events()
    assert event.actor == by


@pytest.mark.parametrize("by", [MAYA, ROSA], ids=_ids)
def test_only_a_clinician_or_supervisor_may_draft_a_goal(by: Actor) -> None:
    with pytest.raises(NotPermitted, match=f"{by.role} {by.id}.* may not draft") as e:
        Goal.draft(goal_id=uuid4(), subject=MAYAS_SUBJECT, by=by, **at(), **ANXIETY_GOAL)
    assert e.value.command == "draft"
    assert draft_anxiety_goal().drafted_by == DR_OKAFOR


def test_a_guardian_for_the_right_client_may_agree_for_her(anxiety_goal: Goal) -> None:
    anxiety_goal.agree(by=ROSA, terms_version=1, method="signature", **LATER)
    assert anxiety_goal.status == "active"


def test_a_guardian_for_another_client_may_not_agree(anxiety_goal: Goal) -> None:
    with refused(anxiety_goal, NotPermitted, match="guardian jonahs-father \\(for jonah\\)"):
        anxiety_goal.agree(by=JONAHS_FATHER, terms_version=1, method="signature", **LATER)


def test_a_client_who_is_not_in_the_group_may_not_agree_for_it(group_goal: Goal) -> None:
    outsider = Actor("sam", "client")
    with refused(group_goal, NotPermitted, match="client sam.*the group's members") as e:
        group_goal.agree(by=outsider, terms_version=1, method="signature", **LATER)
    assert TUESDAY_GROUP.id not in str(e.value)  # whose goal it is is not theirs to know


def test_refusing_another_client_does_not_say_whose_goal_it_is(anxiety_goal: Goal) -> None:
    with refused(anxiety_goal, NotPermitted, match="only its client") as e:
        anxiety_goal.agree(by=JONAHS_FATHER, terms_version=1, method="signature", **LATER)
    assert anxiety_goal.subject.id not in str(e.value)


def test_the_group_itself_is_not_a_member_who_can_agree(group_goal: Goal) -> None:
    with refused(group_goal, NotPermitted):
        group_goal.agree(
            by=Actor(TUESDAY_GROUP.id, "client"), terms_version=1, method="signature", **LATER
        )


def test_a_group_member_may_report_progress_on_the_group_goal() -> None:
    goal = goal_in("active", subject=TUESDAY_GROUP)
    goal.record_progress(by=Actor("priya", "client"), measure="GAD-7", value=12, **LATER)
    assert goal.readings["GAD-7"].value == 12


def test_a_client_of_another_goal_may_not_report_progress_on_a_group_goal() -> None:
    goal = goal_in("active", subject=TUESDAY_GROUP)
    with refused(goal, NotPermitted, match="client sam"):
        goal.record_progress(by=Actor("sam", "client"), measure="GAD-7", value=12, **LATER)


def test_a_clinician_may_not_agree_on_the_clients_behalf(anxiety_goal: Goal) -> None:
    with refused(anxiety_goal, NotPermitted, match="clinician dr-okafor may not agree"):
        anxiety_goal.agree(by=DR_OKAFOR, terms_version=1, method="signature", **LATER)
