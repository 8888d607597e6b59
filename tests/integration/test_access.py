"""Who may do what: a goal's client acts on it only as a client, and the store's policy (the
EHR's own roles) can refuse any command or read."""

from __future__ import annotations

from typing import Any

import pytest
from anxiety_goal import DR_LEE, MAYA, MAYA_SUBJECT, agreed_anxiety_goal, draft_anxiety_goal
from as_printed import printed

import goalflow
from goalflow import Actor, NotPermitted, Subject
from goalflow.access import Access


@pytest.mark.parametrize("role", ["clinician", "supervisor"])
def test_a_client_may_not_act_on_their_own_goal_in_a_clinical_role(goals, role: str) -> None:
    goal_id = agreed_anxiety_goal(goals)
    herself = Actor(MAYA.id, role)  # type: ignore[arg-type]
    with pytest.raises(NotPermitted, match=f"client-7 is a client of goal {goal_id} and may"
                       f" not withdraw it as {role}"):
        goals.withdraw(goal_id, by=herself, reason="I changed my mind")
    assert goals.get(goal_id).status == "active"


def test_a_client_may_not_draft_a_goal_for_themself_as_a_clinician(goals) -> None:
    with pytest.raises(NotPermitted, match="client-7 is a client of a goal of theirs"):
        draft_anxiety_goal(goals, by=Actor(MAYA.id, "clinician"))


def test_a_group_member_may_not_act_on_the_group_goal_as_a_clinician(goals) -> None:
    group = Subject.group("group-1", ["client-7", "client-9"])
    goal_id = goals.draft(group, "Attend every session of the group", by=DR_LEE)
    with pytest.raises(NotPermitted, match="client-9 is a client"):
        goals.add_step(goal_id, by=Actor("client-9", "clinician"), description="Arrive early")


def test_a_clinician_who_is_not_the_client_may_act(goals) -> None:
    goal_id = agreed_anxiety_goal(goals)
    goals.hold(goal_id, by=DR_LEE, reason="in hospital for two weeks")
    assert goals.get(goal_id).status == "on-hold"


class CareTeam:
    """An EHR's policy: only Dr Lee works with client-7; guardians may not read."""

    def __init__(self) -> None:
        self.asked: list[Access] = []
        self.seen: list[tuple[str, int, str] | None] = []  # the goal as it was when asked

    def __call__(self, access: Access) -> object:
        self.asked.append(access)
        goal = access.goal
        self.seen.append(None if goal is None else (access.action, goal.version, goal.status))
        if access.kind == "read":
            return access.actor is None or access.actor.role != "guardian"
        if access.subject_id == "client-7" and access.actor is not None \
                and access.actor.is_clinical:
            return access.actor.id == DR_LEE.id
        return None


@pytest.fixture
def team() -> CareTeam:
    return CareTeam()


@pytest.fixture
def guarded(store_url: str, clock: Any, team: CareTeam) -> Any:
    with goalflow.open(store_url, clock=clock, policy=team) as goals:
        yield goals


def test_the_policy_refuses_a_command_and_nothing_is_recorded(guarded, team) -> None:
    goal_id = agreed_anxiety_goal(guarded)
    stranger = Actor("dr-who", "clinician")
    with pytest.raises(NotPermitted) as refused:
        guarded.hold(goal_id, by=stranger, reason="covering")
    assert str(refused.value) == (f"clinician dr-who may not hold goal {goal_id}: refused by"
                                  " the store's policy")
    assert refused.value.actor_id == "dr-who"
    assert refused.value.command == "hold"
    assert guarded.get(goal_id).version == 2


def test_the_policy_sees_the_goal_before_the_command(guarded, team) -> None:
    goal_id = agreed_anxiety_goal(guarded)
    guarded.complete_step(goal_id, by=MAYA, step_id="s1")
    commands = [i for i, a in enumerate(team.asked) if a.kind == "command"]
    assert [team.seen[i] for i in commands] == [
        ("draft", 1, "proposed"), ("agree", 1, "proposed"), ("complete_step", 2, "active")]
    drafted, agreed, _ = (team.asked[i] for i in commands)
    assert (drafted.goal_id, drafted.subject_id) == (goal_id, "client-7")
    assert agreed.actor == MAYA


def test_the_policy_refuses_a_draft_before_it_is_recorded(guarded) -> None:
    with pytest.raises(NotPermitted, match="dr-who may not draft"):
        draft_anxiety_goal(guarded, by=Actor("dr-who", "clinician"))
    assert printed(guarded.goal_index()) == []


def test_the_policy_refuses_commands_in_a_batch_and_in_apply_runs(guarded) -> None:
    goal_id = agreed_anxiety_goal(guarded)
    commands = [("review", {"goal_id": goal_id, "by": Actor("dr-who", "clinician"),
                            "outcome": "continue"})]
    with pytest.raises(NotPermitted, match="refused by the store's policy"):
        list(guarded.execute_many(commands))
    with pytest.raises(NotPermitted, match="refused by the store's policy"):
        list(guarded.execute_many(commands, atomic=True))
    assert guarded.get(goal_id).version == 2


def test_the_policy_is_asked_about_every_read(guarded, team) -> None:
    goal_id = agreed_anxiety_goal(guarded)
    carer = Actor("guardian-4", "guardian", on_behalf_of="client-9")
    reads = {
        "get": lambda by: guarded.get(goal_id, by=by),
        "history": lambda by: guarded.history(goal_id, by=by),
        "smart_check": lambda by: guarded.smart_check(goal_id, by=by),
        "plan": lambda by: printed(guarded.plan("client-7", by=by)),
        "audit": lambda by: printed(guarded.audit(goal_id, by=by)),
        "reviews": lambda by: printed(guarded.reviews(by=by)),
        "goal_index": lambda by: printed(guarded.goal_index(subject="client-7", by=by)),
    }
    for action, read in reads.items():
        assert read(DR_LEE)  # allowed: something comes back
        with pytest.raises(NotPermitted, match=rf"guardian-4 \(for client-9\) may not read"
                                               rf" {action} of"):
            read(carer)
    asked = [(a.action, a.subject_id) for a in team.asked if a.kind == "read"]
    assert ("plan", "client-7") in asked
    assert ("reviews", None) in asked
    assert ("get", "client-7") in asked


def test_a_policy_may_raise_its_own_refusal(store_url, clock) -> None:
    def closed_for_audit(access: Access) -> None:
        if access.kind == "command":
            raise NotPermitted("the store is closed for the annual audit", actor_id=None,
                               role=None, command=access.action)

    with goalflow.open(store_url, clock=clock, policy=closed_for_audit) as goals, \
            pytest.raises(NotPermitted, match="closed for the annual audit"):
        draft_anxiety_goal(goals)


def test_without_a_policy_by_on_a_read_changes_nothing(goals) -> None:
    goal_id = agreed_anxiety_goal(goals)
    assert goals.get(goal_id, by=Actor("client-9", "client")).version == 2


def test_a_read_by_something_not_an_actor_is_refused(guarded) -> None:
    goal_id = agreed_anxiety_goal(guarded)
    with pytest.raises(goalflow.InvalidCommand, match="by must be an Actor"):
        guarded.get(goal_id, by="dr-lee")


def test_the_subject_rule_holds_for_the_subjects_guardian_id_too(goals) -> None:
    goal_id = agreed_anxiety_goal(goals)
    assert MAYA_SUBJECT.id == "client-7"
    with pytest.raises(NotPermitted, match="client-7 is a client"):
        goals.review(goal_id, by=Actor("client-7", "guardian", on_behalf_of="client-8"),
                     outcome="continue")
