"""The auditor's commands as a user runs them: digest, verify, prove, check-proof and
grant-auditor, through the installed executable, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from goalflow import demo as demo_scenario

GOALFLOW = str(Path(sys.executable).parent / "goalflow")
GOAL = str(demo_scenario.DEMO_GOAL_ID)


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GOALFLOW_DB"}
    return subprocess.run([GOALFLOW, *args], capture_output=True, text=True, timeout=120,
                          check=False, env=env, cwd=cwd)


def ok(*args: str, cwd: Path | None = None) -> str:
    result = run(*args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def one_error(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = (f"sqlite:///{tmp_path}/demo.db" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    demo_scenario.run(url, date.today()).close()
    return url


def test_digest_verify_prove_and_check_proof_from_the_readme(demo: str, tmp_path: Path
                                                             ) -> None:
    text = ok("--db", demo, "digest")
    assert text.startswith("size 15  root ")
    assert " at " in text
    kept = tmp_path / "digest.json"
    kept.write_text(ok("--db", demo, "digest", "--json"))
    digest = json.loads(kept.read_text())
    assert digest["size"] == 15
    assert len(digest["root"]) == 64

    verified = ok("--db", demo, "verify", "--digest", str(kept)).splitlines()
    assert verified[0] == f"intact: 15 events, root {digest['root']}"
    assert verified[1].startswith("chained from the store's creation")
    assert verified[2].startswith("the log begins with the 15 events digested at")
    report = json.loads(ok("--db", demo, "verify", "--json", "--digest", json.dumps(digest)))
    assert report["intact"] is True
    assert report["damage"] == []

    proof = tmp_path / "goal.proof.json"
    result = run("--db", demo, "prove", GOAL[:8], "--digest", str(kept), "-o", str(proof))
    assert result.returncode == 0, result.stderr
    assert f"proved 15 events of goal {GOAL}" in result.stderr
    # No store at all: not --db, not $GOALFLOW_DB, in a directory without one.
    elsewhere = tmp_path / "auditor"
    elsewhere.mkdir()
    history = ok("check-proof", str(proof), "--digest", str(kept), cwd=elsewhere).splitlines()
    assert history[0].startswith(f"proof {proof}: 15 events of goal {GOAL}")
    assert len(history) == 16
    assert "Drafted" in history[1]
    assert list(elsewhere.iterdir()) == []
    records = [json.loads(line) for line in ok(
        "check-proof", str(proof), "--digest", str(kept), "--json").splitlines()]
    assert [r["version"] for r in records] == list(range(1, 16))


def test_verify_exits_1_naming_the_damage_and_its_first_position(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/demo.db"
    demo_scenario.run(url, date.today()).close()
    with sqlite3.connect(tmp_path / "demo.db") as conn:
        conn.execute("UPDATE stored_events SET state = CAST(REPLACE(state, 'dr-okafor',"
                     " 'dr-okafoR') AS BLOB) WHERE rowid = 3")
    result = run("--db", url, "verify")
    assert result.returncode == 1
    assert result.stdout.splitlines()[:2] == [
        "DAMAGED: 15 events checked, 1 kind(s) of damage",
        "  changed: an event's stored bytes changed, first at position 3"]
    report = json.loads(run("--db", url, "verify", "--json").stdout)
    assert report["intact"] is False
    assert [(d["kind"], d["position"]) for d in report["damage"]] == [("changed", 3)]


def test_a_proof_changed_anywhere_is_refused_naming_the_event(demo: str, tmp_path: Path
                                                              ) -> None:
    kept = tmp_path / "digest.json"
    kept.write_text(ok("--db", demo, "digest", "--json"))
    proof_path = tmp_path / "p.json"
    ok("--db", demo, "prove", GOAL, "--digest", str(kept), "-o", str(proof_path))
    proof: dict[str, Any] = json.loads(proof_path.read_text())
    proof["events"][4]["event"]["data"]["reason"] = "edited"
    proof["checksum"] = _recomputed(proof)
    proof_path.write_text(json.dumps(proof))
    line = one_error(run("check-proof", str(proof_path), "--digest", str(kept)))
    assert "event 5 (position 5): the event shown is not the one its leaf_input holds" in line
    assert line.startswith(f"Error: proof {proof_path} is refused: ")


def _recomputed(proof: dict[str, Any]) -> str:
    """What a forger would do: recompute the checksum after an edit."""
    from goalflow.integrity.proofs import _checksum

    return _checksum({k: v for k, v in proof.items() if k != "checksum"})


def test_the_auditors_commands_say_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/demo.db"
    demo_scenario.run(url, date.today()).close()
    assert "root must be 64 hex digits" in one_error(
        run("--db", url, "verify", "--digest", '{"size": 3, "root": "abc"}'))
    assert f"cannot read digest {tmp_path}/none.json" in one_error(
        run("--db", url, "verify", "--digest", str(tmp_path / "none.json")))
    assert "prove needs --digest" in one_error(run("--db", url, "prove", GOAL), code=2)
    assert "check-proof needs --digest" in one_error(
        run("check-proof", str(tmp_path / "p.json")), code=2)
    (tmp_path / "p.json").write_text("{not json")
    assert "is not JSON" in one_error(run("check-proof", str(tmp_path / "p.json"),
                                          "--digest", '{"size": 1, "root": "' + "0" * 64
                                          + '"}'))
    digest = ok("--db", url, "digest", "--json")
    assert "do not hash to the digest's root" in one_error(run(
        "--db", url, "prove", GOAL, "--digest", digest.replace(json.loads(digest)["root"],
                                                               "0" * 64)))
    assert "for PostgreSQL stores" in one_error(run("--db", url, "grant-auditor", "auditor"))
    assert f"cannot read a password from {tmp_path}/no-pw" in one_error(run(
        "--db", url, "grant-auditor", "auditor", "--password-file", str(tmp_path / "no-pw")))
    assert f"cannot read proof {tmp_path}/none.proof.json" in one_error(run(
        "check-proof", str(tmp_path / "none.proof.json"), "--digest", digest))
    out = tmp_path / "missing-dir" / "out.json"
    assert f"cannot write {out}" in one_error(run(
        "--db", url, "prove", GOAL, "--digest", digest, "-o", str(out)))
    assert not out.parent.exists()
    assert not (tmp_path / "out.json").exists()


def test_an_older_store_is_chained_by_migrate_and_verifies(tmp_path: Path) -> None:
    old = Path(__file__).parents[1] / "fixtures" / "stores" / "v1" / "goalflow.sqlite"
    copy = tmp_path / "old.db"
    copy.write_bytes(old.read_bytes())
    assert "has no chain yet" in one_error(run("--db", f"sqlite:///{copy}", "verify"))
    target = f"sqlite:///{tmp_path}/new.db"
    ok("--db", f"sqlite:///{copy}", "migrate", "--to", target)
    assert ok("--db", target, "verify").startswith("intact: ")
    # migrate only reads its source: that is chained by its first writer.
    assert "has no chain yet" in one_error(run("--db", f"sqlite:///{copy}", "verify"))


@pytest.mark.postgres
def test_grant_auditor_makes_a_role_that_reads_and_cannot_write(
        postgres_url: str, tmp_path: Path) -> None:
    import uuid

    import psycopg

    demo_scenario.run(postgres_url, date.today()).close()
    role = f"gf_auditor_{uuid.uuid4().hex[:8]}"
    (tmp_path / "pw").write_text("read-only-pw\n")
    (tmp_path / "empty").write_text("\n")
    assert "holds an empty password" in one_error(run(
        "--db", postgres_url, "grant-auditor", role, "--password-file", str(tmp_path / "empty")))
    try:
        done = ok("--db", postgres_url, "grant-auditor", role, "--password-file",
                  str(tmp_path / "pw"))
        assert done.startswith(f"role {role} can read ")
        assert "password was set" in done
        as_auditor = postgres_url.replace("postgres@", f"{role}:read-only-pw@", 1)
        assert ok("--db", as_auditor, "verify").startswith("intact: 15 events")
        assert len(ok("--db", as_auditor, "events").splitlines()) == 15
        line = one_error(run("--db", as_auditor, "apply", "-"))
        assert "permission denied" in line
        assert "read-only-pw" not in line
    finally:
        server = postgres_url.split("?")[0]
        with psycopg.connect(server, autocommit=True) as conn:
            schema = postgres_url.rpartition("schema=")[2]
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'DROP OWNED BY "{role}"')
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')
