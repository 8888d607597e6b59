"""Value objects are valid from birth: Actor, Subject, Measure, and the limits on free text."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from goalflow.domain import Actor, Goal, Measure, Subject
from goalflow.errors import InvalidCommand

from .builders import ANXIETY_GOAL, DR_OKAFOR, MAYAS_SUBJECT, at, draft_anxiety_goal

# -- Actor ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["clinician", "supervisor", "client"])
def test_everyone_but_a_guardian_acts_for_themself(role: str) -> None:
    actor = Actor("maya", role)  # type: ignore[arg-type]
    assert actor.acts_for == "maya"


def test_a_guardian_acts_for_the_client_they_speak_for() -> None:
    rosa = Actor("rosa", "guardian", on_behalf_of="maya")
    assert rosa.acts_for == "maya"
    assert not rosa.is_clinical


def test_a_guardian_must_say_whom_they_act_for() -> None:
    with pytest.raises(InvalidCommand, match="on_behalf_of") as excinfo:
        Actor("rosa", "guardian")
    assert excinfo.value.field == "by.on_behalf_of"


@pytest.mark.parametrize("role", ["clinician", "supervisor", "client"])
def test_only_a_guardian_may_act_on_behalf_of_someone(role: str) -> None:
    with pytest.raises(InvalidCommand, match="only for guardians") as excinfo:
        Actor("dr-okafor", role, on_behalf_of="maya")  # type: ignore[arg-type]
    assert excinfo.value.field == "by.on_behalf_of"


def test_a_role_outside_the_four_is_refused() -> None:
    with pytest.raises(InvalidCommand, match=r"by\.role must be one of") as excinfo:
        Actor("nurse-ana", "nurse")  # type: ignore[arg-type]
    assert excinfo.value.field == "by.role"


@pytest.mark.parametrize("actor_id", ["", "   ", "x" * 201, "dr\x00okafor", 42])
def test_an_actor_needs_a_plain_id_of_reasonable_length(actor_id: object) -> None:
    with pytest.raises(InvalidCommand) as excinfo:
        Actor(actor_id, "clinician")  # type: ignore[arg-type]
    assert excinfo.value.field == "by.id"


def test_an_actor_id_of_exactly_the_limit_is_accepted() -> None:
    assert Actor("x" * 200, "clinician").id == "x" * 200


# -- Subject -------------------------------------------------------------------------------


def test_a_group_lists_the_people_who_must_agree() -> None:
    group = Subject.group("tuesday-anxiety-group", ["maya", "jonah"])
    assert group.members == ("maya", "jonah")
    assert group.required_parties == ("maya", "jonah")


def test_a_client_goal_needs_only_the_clients_agreement() -> None:
    assert Subject.client("maya").required_parties == ("maya",)


def test_a_client_subject_has_no_members() -> None:
    with pytest.raises(InvalidCommand, match="only for groups") as excinfo:
        Subject(kind="client", id="maya", members=("jonah",))
    assert excinfo.value.field == "subject.members"


def test_a_group_without_members_is_refused() -> None:
    with pytest.raises(InvalidCommand, match="at least one member") as excinfo:
        Subject.group("tuesday-anxiety-group", [])
    assert excinfo.value.field == "subject.members"


def test_a_group_listing_someone_twice_is_refused() -> None:
    with pytest.raises(InvalidCommand, match="twice") as excinfo:
        Subject.group("tuesday-anxiety-group", ["maya", "jonah", "maya"])
    assert excinfo.value.field == "subject.members"


def test_group_members_given_as_one_string_are_refused_not_split_into_letters() -> None:
    with pytest.raises(InvalidCommand, match="not the string"):
        Subject(kind="group", id="tuesday-anxiety-group", members="maya")


@pytest.mark.parametrize("member", ["", "  ", "priya\x1b[31m"])
def test_a_group_member_needs_a_plain_id(member: str) -> None:
    with pytest.raises(InvalidCommand):
        Subject.group("tuesday-anxiety-group", ["maya", member])


def test_a_subject_is_a_client_or_a_group() -> None:
    with pytest.raises(InvalidCommand, match=r"subject\.kind"):
        Subject(kind="family", id="the-okonkwos")  # type: ignore[arg-type]


# -- Measure -------------------------------------------------------------------------------


def test_a_measure_decreases_towards_its_target_unless_told_otherwise() -> None:
    gad7 = Measure("GAD-7", baseline=15, target=7)
    assert gad7.direction == "decrease"
    assert Measure("self-rated calm", 3, 7, "increase").direction == "increase"


def test_a_measure_may_be_named_before_its_baseline_and_target_are_known() -> None:
    phq9 = Measure("PHQ-9")
    assert (phq9.baseline, phq9.target) == (None, None)


@pytest.mark.parametrize("name", ["", "   ", "GAD\n\x00-7", 7])
def test_a_measure_needs_a_name(name: object) -> None:
    with pytest.raises(InvalidCommand, match=r"measure\.name"):
        Measure(name)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, True, False, "15", [15]])
@pytest.mark.parametrize("which", ["baseline", "target"])
def test_a_measure_baseline_or_target_must_be_a_finite_number(which: str, value: object) -> None:
    with pytest.raises(InvalidCommand, match=which):
        Measure("GAD-7", **{which: value})  # type: ignore[arg-type]


def test_a_measure_direction_is_decrease_or_increase() -> None:
    with pytest.raises(InvalidCommand, match=r"measure\.direction"):
        Measure("GAD-7", 15, 7, "sideways")  # type: ignore[arg-type]


def test_measure_names_are_unique_within_a_goal() -> None:
    with pytest.raises(InvalidCommand, match="unique within a goal: GAD-7") as excinfo:
        draft_anxiety_goal(measures=[Measure("GAD-7", 15, 7), Measure("GAD-7", 14, 5)])
    assert excinfo.value.field == "measures"


def test_a_measure_must_be_a_measure_not_a_bare_name() -> None:
    with pytest.raises(InvalidCommand, match="Measure"):
        draft_anxiety_goal(measures=["GAD-7"])


# -- free text -----------------------------------------------------------------------------


def test_a_statement_of_exactly_five_thousand_characters_is_accepted() -> None:
    assert draft_anxiety_goal(statement="a" * 5_000).statement == "a" * 5_000


def test_a_statement_over_five_thousand_characters_is_refused() -> None:
    with pytest.raises(InvalidCommand, match="5001 characters long; the limit is 5000"):
        draft_anxiety_goal(statement="a" * 5_001)


def test_a_problem_addressed_is_one_line_of_at_most_five_hundred_characters() -> None:
    assert draft_anxiety_goal(addresses=["a" * 500]).addresses == ("a" * 500,)
    with pytest.raises(InvalidCommand, match="addresses is 501 characters long"):
        draft_anxiety_goal(addresses=["a" * 501])


def test_a_goal_lists_at_most_a_hundred_strengths() -> None:
    assert len(draft_anxiety_goal(strengths=["Kind"] * 100).strengths) == 100
    with pytest.raises(InvalidCommand, match="more than 100"):
        draft_anxiety_goal(strengths=["Kind"] * 101)


def test_a_goal_starts_with_at_most_a_hundred_steps() -> None:
    with pytest.raises(InvalidCommand, match="more than 100"):
        draft_anxiety_goal(steps=["Breathe"] * 101)


@pytest.mark.parametrize(
    "control", ["\x00", "\x07", "\x1b", "\r", "\x7f"], ids=["nul", "bell", "escape", "cr", "del"]
)
def test_text_with_a_control_character_is_refused(control: str) -> None:
    with pytest.raises(InvalidCommand, match="statement contains a control character"):
        draft_anxiety_goal(statement=f"Manage anxiety{control}")


@pytest.mark.parametrize("control", ["\x85", "\x9b"], ids=["next-line", "csi"])
def test_text_with_a_c1_control_character_is_refused(control: str) -> None:
    # U+0080..U+009F are control characters too (Unicode category Cc); U+009B opens a
    # terminal escape sequence just as ESC [ does.
    with pytest.raises(InvalidCommand, match="control character"):
        draft_anxiety_goal(statement=f"Manage anxiety{control}2J")


def test_newlines_and_tabs_are_welcome_in_clinical_prose() -> None:
    words = "Monday mornings:\n\tthe dread starts on Sunday night"
    assert draft_anxiety_goal(client_words=words).client_words == words


@pytest.mark.parametrize("blank", ["", " ", "\n\t"])
def test_a_blank_statement_is_refused(blank: str) -> None:
    with pytest.raises(InvalidCommand, match="statement must not be empty"):
        draft_anxiety_goal(statement=blank)


def test_a_target_date_is_a_date_not_a_moment() -> None:
    with pytest.raises(InvalidCommand, match="target_date must be a date, not datetime"):
        draft_anxiety_goal(target_date=datetime(2024, 4, 4, 17, tzinfo=UTC))


def test_a_list_given_as_a_single_string_is_refused() -> None:
    with pytest.raises(InvalidCommand, match="steps: expected a list"):
        draft_anxiety_goal(steps="Learn two breathing exercises")


def test_a_draft_needs_a_subject_and_an_actor_not_bare_ids() -> None:
    with pytest.raises(InvalidCommand, match="subject must be a Subject"):
        Goal.draft(
            goal_id=uuid4(),
            subject="maya",  # type: ignore[arg-type]
            by=DR_OKAFOR,
            **at(),
            **ANXIETY_GOAL,
        )
    with pytest.raises(InvalidCommand, match="by must be a"):
        Goal.draft(
            goal_id=uuid4(),
            subject=MAYAS_SUBJECT,
            by="dr-okafor",  # type: ignore[arg-type]
            **at(),
            **ANXIETY_GOAL,
        )
