"""goalflow fhir and goalflow import-fhir as a user runs them (through click's CliRunner), on
SQLite and PostgreSQL: the options, the output and every error path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import goalflow
from fixtures.fhir_checks import EXAMPLES, assert_valid
from goalflow.cli import cli
from integration.fhir_goals import client_goal, full_history_goal

Clock = Any  # the clock fixture (tests/conftest.py): its now is what the service reads


def run(url: str, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", url, *args], input=stdin)


@pytest.fixture
def filled(store_url: str, clock: Clock) -> tuple[str, str, str]:
    with goalflow.open(store_url, clock=clock) as goals:
        group = full_history_goal(goals, clock)
        own = client_goal(goals)
    return store_url, str(group), str(own)


def test_a_goal_at_a_version_in_each_release(filled: tuple[str, str, str]) -> None:
    url, group, _ = filled
    for release in ("R5", "R4B"):
        result = run(url, "fhir", group[:8], "--version", "5", "--release", release)
        assert result.exit_code == 0, result.output
        resource = json.loads(result.output)
        assert resource["meta"]["versionId"] == "5"
        assert_valid(resource, release)
    assert json.loads(run(url, "fhir", group).output)["lifecycleStatus"] == "entered-in-error"


def test_as_of_history_and_subject(filled: tuple[str, str, str]) -> None:
    url, group, own = filled
    early = json.loads(run(url, "fhir", group, "--as-of", "2025-03-03T09:30:00Z").output)
    assert early["meta"]["versionId"] == "1"
    history = json.loads(run(url, "fhir", group, "--history", "--release", "R4B").output)
    assert history["type"] == "history"
    assert len(history["entry"]) == 24
    assert_valid(history, "R4B")
    subject = json.loads(run(url, "fhir", "--subject", "client-7").output)
    assert [e["resource"]["id"] for e in subject["entry"]] == [own]
    assert_valid(subject, "R5")
    closed = json.loads(run(url, "fhir", "--subject", "client-8", "--all").output)
    assert closed["entry"] == []  # its one goal was entered in error: in no plan


def test_import_fhir_then_again(filled: tuple[str, str, str], tmp_path: Path) -> None:
    url, _, own = filled
    exported = run(url, "fhir", own, "--release", "R4B").output
    target = f"sqlite:///{tmp_path}/target.db"
    first = run(target, "import-fhir", "-", "--by", "dr-lee", stdin=exported)
    assert first.exit_code == 0, first.output
    lines = [json.loads(line) for line in first.output.splitlines()]
    assert [(x["event"], x["replayed"]) for x in lines] == [("Drafted", False),
                                                           ("AgreedByClient", False)]
    again = run(target, "import-fhir", "-", "--by", "dr-lee", stdin=exported)
    assert [json.loads(line)["replayed"] for line in again.output.splitlines()] == [True, True]
    assert json.loads(run(target, "fhir", own, "--release", "R4B").output)["target"] == \
        json.loads(exported)["target"]


@pytest.mark.parametrize(("args", "message"), [
    (["fhir"], "give a GOAL_ID or --subject, one of them"),
    (["fhir", "GOAL", "--version", "1", "--as-of", "2025-03-03"],
     "give --version or --as-of, not both"),
    (["fhir", "--subject", "c", "--history"], "--subject takes no --version"),
    (["fhir", "GOAL", "--all"], "--all goes with --subject"),
    (["fhir", "GOAL", "--history", "--version", "2"], "--history gives every version"),
    (["fhir", "GOAL", "--release", "R4"], "'R4' is not one of 'R5', 'R4B'"),
    (["import-fhir", "-"], "Missing option '--by'"),
])
def test_misuse_of_options(filled: tuple[str, str, str], args: list[str],
                           message: str) -> None:
    url, group, _ = filled
    result = run(url, *[group if a == "GOAL" else a for a in args])
    assert result.exit_code == 2
    assert message in result.output


def test_errors(filled: tuple[str, str, str]) -> None:
    url, group, _ = filled
    result = run(url, "fhir", group, "--version", "99")
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    bad = run(url, "import-fhir", "-", "--by", "dr-lee", stdin="{not json")
    assert bad.exit_code == 1
    assert bad.output.startswith("Error: <stdin>: not JSON")
    example = (EXAMPLES / "r5" / "Goal-example.json").read_text()
    refused = run(url, "import-fhir", "-", "--by", "dr-lee", stdin=example)
    assert refused.exit_code == 1
    assert refused.output == ("Error: FHIR Goal example: target[0].detailRange: goalflow's"
                              " targets are a score (detailQuantity) on a measure by a due"
                              " date\n")
