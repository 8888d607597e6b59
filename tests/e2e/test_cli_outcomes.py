"""``goalflow outcomes`` as a user runs it: a subject's results and the service's rates,
from commands given as JSON Lines (``goalflow apply``), on both stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result

from goalflow.cli import cli

MOOD = "6f1d2c3b-4a59-4e8d-9c7b-a6f5e4d3c2b1"
DR = {"id": "dr-okafor", "role": "clinician"}
MAYA = {"id": "client-7", "role": "client"}
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=60)


def at(days: int) -> str:
    return (START + timedelta(days=days)).isoformat()


def run(db: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", db, *args], input=input)


def ok(db: str, *args: str, input: str | None = None) -> Result:
    result = run(db, *args, input=input)
    assert result.exit_code == 0, result.output
    return result


def apply(db: str, *commands: dict[str, Any]) -> Result:
    return run(db, "apply", "-", input="".join(json.dumps(c) + "\n" for c in commands))


@pytest.fixture
def clinic(store_url: str) -> str:
    ok(store_url, "apply", "-", input="".join(json.dumps(c) + "\n" for c in [
        {"command": "draft", "goal_id": MOOD, "by": DR, "occurred_at": at(0),
         "subject": {"kind": "client", "id": "client-7"},
         "statement": "By June I manage low mood and worry, measured by PHQ-9 and GAD-7",
         "client_words": "I want to enjoy things again", "addresses": ["Depression"],
         "strengths": ["loves her allotment"], "steps": ["Walk 20 minutes a day"],
         "target_date": (START + timedelta(days=120)).date().isoformat(),
         "measures": [{"name": "PHQ-9", "baseline": 18, "target": 9, "instrument": "PHQ-9"},
                      {"name": "GAD-7", "baseline": 15, "target": 7, "instrument": "GAD-7"}]},
        {"command": "agree", "goal_id": MOOD, "by": MAYA, "terms_version": 1,
         "method": "signature", "occurred_at": at(0)},
        {"command": "set_gas_scale", "goal_id": MOOD, "by": DR, "occurred_at": at(1),
         "levels": ["In bed most days", "Up most days, nothing planned",
                    "One planned activity a week", "Three a week", "One every day"],
         "weight": 2},
        {"command": "record_progress", "goal_id": MOOD, "by": MAYA, "measure": "PHQ-9",
         "value": 13, "occurred_at": at(14)},
        {"command": "record_progress", "goal_id": MOOD, "by": MAYA, "measure": "GAD-7",
         "value": 14, "occurred_at": at(14)},
        {"command": "record_progress", "goal_id": MOOD, "by": MAYA, "measure": "PHQ-9",
         "value": 8, "occurred_at": at(28)},
        {"command": "record_progress", "goal_id": MOOD, "by": MAYA, "measure": "GAD-7",
         "value": 6, "occurred_at": at(28)},
        {"command": "rate_attainment", "goal_id": MOOD, "by": MAYA, "level": 1,
         "occurred_at": at(28)},
        {"command": "achieve", "goal_id": MOOD, "by": DR, "occurred_at": at(30),
         "evidence": "PHQ-9 8, GAD-7 6"},
    ]))
    return store_url


def test_outcomes_prints_each_measure_with_the_rule_behind_each_judgement(clinic: str) -> None:
    text = ok(clinic, "outcomes", "client-7").stdout
    assert "achievementStatus: achieved (the goal is completed)" in text
    assert "PHQ-9: baseline 18 (measure), latest 8" in text
    assert "change -10 (2 readings)" in text
    assert "reliable:             improved  [NHS Talking Therapies: PHQ-9 >= 6 points]" in text
    assert "clinical now:         no  [NHS Talking Therapies caseness: GAD-7 >= 8]" in text
    assert "paired: reliable improved, recovered yes, reliably recovered yes  [NHS Talking" \
        " Therapies paired rules: PHQ-9 and GAD-7]" in text
    # One goal of weight 2 at +1: T = 50 + 10 * 2 / sqrt(0.7*4 + 0.3*4) = 60, whatever
    # the weight; at its baseline -1, 40.
    assert "GAS T-score 60.0 (baseline 40.0) over 1 goals" in text


def test_outcomes_json_gives_a_line_per_goal_then_the_gas(clinic: str) -> None:
    lines = [json.loads(line) for line in ok(clinic, "outcomes", "client-7",
                                             "--json").stdout.splitlines()]
    assert [next(iter(line)) for line in lines] == ["goal", "gas"]
    goal = lines[0]["goal"]
    assert goal["achievement_status"] == {"code": "achieved",
                                          "explanation": "the goal is completed"}
    phq9 = goal["measures"][0]
    assert (phq9["change"], phq9["reliable"]["value"], phq9["recovered"]["value"]) == \
        (-10, "improved", True)
    assert lines[1]["gas"]["t_score"] == pytest.approx(60)


def test_outcomes_as_of_a_date_shows_the_goal_as_it_stood_then(clinic: str) -> None:
    then = (START + timedelta(days=20)).date().isoformat()
    lines = [json.loads(line) for line in ok(clinic, "outcomes", "client-7", "--as-of",
                                             then, "--json").stdout.splitlines()]
    # Recorded now, all of it: as recorded at that date the store held nothing yet.
    assert [next(iter(line)) for line in lines] == ["gas"]


def test_outcomes_service_gives_the_rates_with_their_counts(clinic: str) -> None:
    figures = json.loads(ok(clinic, "outcomes", "--service", "--json").stdout)
    assert figures["ended"] == 1
    assert figures["reliable_recovery"] == {"rate": 1.0, "count": 1, "of": 1}
    text = ok(clinic, "outcomes", "--service").stdout
    assert "  recovery:                100.0%  (1 of 1)\n" in text
    later = (START + timedelta(days=31)).date().isoformat()
    assert json.loads(ok(clinic, "outcomes", "--service", "--since", later,
                         "--json").stdout)["ended"] == 0


@pytest.mark.parametrize(("args", "message"), [
    ((), "give a SUBJECT_ID or --service"),
    (("client-7", "--service"), "give a SUBJECT_ID or --service"),
    (("client-7", "--since", "2026-01-01"), "--since goes with --service"),
    (("--service", "--as-of", "2026-01-01"), "--as-of goes with a SUBJECT_ID"),
])
def test_outcomes_refuses_options_that_do_not_go_together(clinic: str, args: tuple[str, ...],
                                                          message: str) -> None:
    result = run(clinic, "outcomes", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_outcomes_refuses_a_bad_date_through_the_shared_error_path(clinic: str) -> None:
    result = run(clinic, "outcomes", "--service", "--since", "March")
    assert result.exit_code == 1
    assert result.stderr == "Error: --since: 'March' is not a date; use 2026-03-01\n"


def test_a_reading_outside_the_instrument_s_range_is_refused_by_line(clinic: str) -> None:
    result = apply(clinic, {"command": "draft", "by": DR, "statement": "Sleep",
                            "subject": {"kind": "client", "id": "client-7"},
                            "measures": [{"name": "PHQ-9", "instrument": "PHQ-9",
                                          "baseline": 30}]})
    assert result.exit_code == 1
    assert "line 1: measure 'PHQ-9' baseline 30 is outside its range 0 to 27" in result.stderr


def test_show_gives_the_achievement_status_and_the_gas_scale(clinic: str) -> None:
    text = ok(clinic, "show", MOOD).stdout
    assert "\nAchievement     achieved (the goal is completed)\n" in text
    assert "\nGAS             weight 2, baseline -1; client +1 on" in text
    shown = json.loads(ok(clinic, "show", MOOD, "--json").stdout)
    assert shown["achievement_status"]["code"] == "achieved"
    assert shown["gas_scale"]["weight"] == 2


def test_the_log_says_what_a_gas_scale_and_a_rating_are(clinic: str) -> None:
    text = ok(clinic, "audit", MOOD, "--event", "GasScaleSet").stdout
    assert "GAS scale, weight 2, baseline -1; expected (0): One planned activity a week" in text
    text = ok(clinic, "audit", MOOD, "--event", "AttainmentRated").stdout
    assert "attainment +1 (client's rating)" in text


def test_the_plan_shows_the_achievement_status_with_why(clinic: str) -> None:
    text = ok(clinic, "plan", "client-7", "--all").stdout
    assert "  achievement: achieved (the goal is completed)" in text
    [goal] = [json.loads(line) for line in ok(clinic, "plan", "client-7", "--all",
                                              "--json").stdout.splitlines()]
    assert goal["achievement_status"] == {"code": "achieved",
                                          "explanation": "the goal is completed"}
