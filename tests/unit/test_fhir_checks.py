"""The FHIR test helper itself: HL7's examples pass it, broken copies fail it."""

from __future__ import annotations

import copy

import pytest

from fixtures.fhir_checks import ACCEPTANCE, example, problems

EXAMPLES = [("r5/Goal-example.json", "R5"), ("r5/Goal-stop-smoking.json", "R5"),
            ("r4b/Goal-example.json", "R4B"), ("r4b/Goal-stop-smoking.json", "R4B"),
            ("us-core/goal-1.json", "R4B"), ("us-core/goal-sdoh-2.json", "R4B"),
            ("pco/Goal-pcoGoalAnxietyExample.json", "R4B"),
            ("pco/Goal-pcoGoalWalkDogExample.json", "R4B")]


@pytest.mark.parametrize(("path", "release"), EXAMPLES)
def test_the_published_examples_pass(path: str, release: str) -> None:
    assert problems(example(path), release) == []


@pytest.mark.parametrize("release", ["R5", "R4B"])
def test_hl7s_negative_example_fails_gol_1(release: str) -> None:
    goal = example(f"{release.lower()}/Goal-example.json")
    del goal["target"][0]["measure"]
    assert problems(goal, release) == [
        "target[0]: gol-1 fails (a target with a detail needs a measure)"]


def test_a_status_outside_the_required_binding_fails() -> None:
    goal = example("r5/Goal-example.json")
    goal["lifecycleStatus"] = "paused"
    assert problems(goal, "R5") == [
        "lifecycleStatus ['paused'] is not in the goal-status value set"]


def test_an_acceptance_status_outside_its_binding_fails() -> None:
    goal = example("r5/Goal-stop-smoking.json")
    goal["extension"] = [{"url": ACCEPTANCE, "extension": [
        {"url": "individual", "valueReference": {"reference": "Patient/example"}},
        {"url": "status", "valueCode": "maybe"}]}]
    assert problems(goal, "R5") == [
        "goal-acceptance[0]: status 'maybe' is not agree | disagree | pending"]
    good = copy.deepcopy(goal)
    good["extension"][0]["extension"][1]["valueCode"] = "agree"
    assert problems(good, "R5") == []


def test_an_acceptance_without_its_individual_fails() -> None:
    goal = example("r5/Goal-stop-smoking.json")
    goal["extension"] = [{"url": ACCEPTANCE, "extension": [
        {"url": "status", "valueCode": "agree"}]}]
    assert problems(goal, "R5") == ["goal-acceptance[0]: needs one individual, has 0"]


def test_structure_is_checked_by_release() -> None:
    r5 = example("r5/Goal-example.json")  # R5's source is no element of R4B
    assert any("source" in p for p in problems(r5, "R4B"))
    broken = example("r4b/Goal-example.json")
    del broken["subject"]
    assert any("subject" in p for p in problems(broken, "R4B"))
