"""Encryption at rest with a key per subject, forgetting a subject, holds and rotation."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from as_printed import printed

import goalflow
from goalflow import Actor, Subject
from goalflow.crypto import master
from goalflow.crypto.sealing import GOAL_KEYS_TABLE, SPARE_KEYS, key_id_of
from goalflow.errors import GoalErased, InvalidCommand, StoreError, UnreadableEvent
from goalflow.persistence import store as store_module
from goalflow.persistence.urls import parse_url

DR = Actor("dr-lee", "clinician")
SUPERVISOR = Actor("dr-achebe", "supervisor")
# What the clients said: none of it may be found in the store's events, ever.
MAYAS_WORDS = ("Zopiclonefree", "nightmarewalks", "grandmotherdied")
SAMS_WORDS = ("Dogwalkingmornings",)


@pytest.fixture
def key() -> str:
    return master.new_key_text()


@pytest.fixture
def keys_cleanup(store_url: str) -> Iterator[None]:
    """Drop a PostgreSQL store's default key schema (``<schema>_keys``) afterwards."""
    yield
    url = parse_url(store_url)
    if url.kind == "postgresql":
        server = os.environ["GOALFLOW_TEST_POSTGRES"]
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{url.schema}_keys" CASCADE')  # type: ignore[arg-type]


@pytest.fixture
def vault(store_url: str, key: str, clock: Any, keys_cleanup: None) -> Iterator[goalflow.Goals]:
    """An encrypted store."""
    with goalflow.open(store_url, master_key=key, clock=clock) as goals:
        yield goals


def draft_maya(goals: goalflow.Goals) -> UUID:
    goal = goals.draft(Subject.client("maya"), f"Sleep through the night, {MAYAS_WORDS[0]}",
                       by=DR, client_words=f"No more {MAYAS_WORDS[1]}",
                       steps=[f"Talk about how my {MAYAS_WORDS[2]}"])
    goals.add_step(goal, by=DR, description=f"Keep a diary of {MAYAS_WORDS[1]}")
    return goal


def draft_sam(goals: goalflow.Goals) -> UUID:
    return goals.draft(Subject.client("sam"), f"{SAMS_WORDS[0]} with my dad", by=DR)


def raw_contents(goals: goalflow.Goals, *, events_only: bool) -> bytes:
    """Every byte of the store's tables' contents (of only its events and snapshots)."""
    url = goals.store.url
    if url.kind == "sqlite":
        assert url.path is not None
        if not events_only:
            return b"".join(p.read_bytes() for p in url.path.parent.iterdir()
                            if p.name.startswith(url.path.name))
        with sqlite3.connect(url.path) as conn:
            rows = conn.execute(
                "SELECT originator_id, originator_version, topic, state FROM stored_events"
                " UNION ALL SELECT originator_id, originator_version, topic, state FROM"
                " stored_snapshots").fetchall()
        return repr(rows).encode()
    server = os.environ["GOALFLOW_TEST_POSTGRES"]
    with psycopg.connect(server, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (url.schema,))]
        if events_only:
            tables = [t for t in tables if t in ("stored_events", "stored_snapshots",
                                                 "goalflow_events", "goalflow_snapshots")]
            assert tables
        chunks = []
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{url.schema}"."{table}"'):  # type: ignore[arg-type]
                chunks.append(repr(row).encode())
                chunks += [bytes(v) for v in row if isinstance(v, bytes | memoryview)]
        return b"".join(chunks)


def key_store_contents(goals: goalflow.Goals) -> bytes:
    keys = goals.store.sealer.keys  # type: ignore[union-attr]
    if keys.url.kind == "sqlite":
        path = keys.url.path
        assert path is not None
        return b"".join(p.read_bytes() for p in path.parent.iterdir()
                        if p.name.startswith(path.name))
    server = os.environ["GOALFLOW_TEST_POSTGRES"]
    with psycopg.connect(server, autocommit=True) as conn:
        rows = conn.execute(f'SELECT * FROM "{keys.url.schema}".goalflow_data_keys'  # type: ignore[arg-type]
                            ).fetchall()
    return b"".join(repr(r).encode() + b"".join(bytes(v) for v in r if isinstance(v, bytes))
                    for r in rows)


def words_in(data: bytes, words: tuple[str, ...]) -> list[str]:
    return [w for w in words if w.encode() in data or w.encode().hex().encode() in data]


def test_no_client_words_in_the_events_and_after_forget_nowhere_in_the_store(
        vault: goalflow.Goals, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "SNAPSHOT_INTERVAL", 2)  # snapshots are sealed too
    maya, sam = draft_maya(vault), draft_sam(vault)
    assert vault.get(maya).statement.endswith(MAYAS_WORDS[0])
    stored = raw_contents(vault, events_only=True)
    assert b"Goal.Snapshot" in stored
    assert words_in(stored, MAYAS_WORDS + SAMS_WORDS) == []
    assert b"maya" not in stored  # not even the subject's id
    assert words_in(raw_contents(vault, events_only=False), MAYAS_WORDS)  # read models: clear

    vault.forget("maya", by=SUPERVISOR, reason="retention period ended")

    assert words_in(raw_contents(vault, events_only=False), MAYAS_WORDS) == []
    assert vault.get(sam).statement.startswith(SAMS_WORDS[0])  # others untouched
    assert [g["goal_id"] for g in printed(vault.plan("sam"))] == [str(sam)]


def test_forget_destroys_the_key_and_leaves_no_trace_of_it_in_the_key_store(
        vault: goalflow.Goals) -> None:
    maya = draft_maya(vault)
    draft_sam(vault)
    keys = vault.store.sealer.keys  # type: ignore[union-attr]
    key_id = vault.store.subject_key_id("maya")
    assert key_id is not None
    wrapped = keys.wrapped_keys([key_id])[0]["wrapped"]
    before = key_store_contents(vault)
    assert bytes.fromhex(wrapped) in before or wrapped.encode() in before

    vault.forget("maya", by=SUPERVISOR, reason="client asked")

    after = key_store_contents(vault)
    for trace in (bytes.fromhex(wrapped), wrapped.encode(), str(key_id).encode(), b"maya"):
        assert trace not in after
    sams = vault.store.subject_key_id("sam")
    assert sams is not None
    assert keys.key(sams) is not None
    assert vault.store.subject_key_id("maya") is None  # a new goal of hers: a new key
    with pytest.raises(GoalErased, match=rf"goal {maya} was erased on \d{{4}}-\d\d-\d\d by"
                                         r" dr-achebe \(client asked\)"):
        vault.get(maya)


def test_an_erased_goal_says_so_refuses_commands_and_its_events_keep_their_metadata(
        vault: goalflow.Goals) -> None:
    maya, sam = draft_maya(vault), draft_sam(vault)
    done = vault.forget("maya", by=SUPERVISOR, reason="erasure request")
    assert done["goals"] == [str(maya)]
    for call in (lambda: vault.get(maya), lambda: vault.history(maya),
                 lambda: vault.add_step(maya, by=DR, description="more"),
                 lambda: vault.hold(maya, by=DR, reason="x")):
        with pytest.raises(GoalErased, match=r"erased on .* by dr-achebe"):
            call()
    from goalflow import inspection
    records = [inspection.event_record(e.position, e.event, e.schema_version)
               for e in inspection.log(vault)]
    mayas = [r for r in records if r["goal_id"] == str(maya)]
    assert [(r["version"], r["type"], r.get("erased", False)) for r in mayas] == [
        (1, "Drafted", True), (2, "StepAdded", True), (3, "SubjectForgotten", False)]
    assert mayas[-1]["data"] == {"subject_id": "maya", "reason": "erasure request",
                                 "hold_overridden": None}
    assert vault.get(sam).version == 1
    assert printed(vault.plan("maya")) == []
    entries = printed(vault.audit(maya))
    assert [(e["event_type"], e["reason"]) for e in entries] == [
        ("SubjectForgotten", "erasure request")]
    # Forgotten already: said so.
    with pytest.raises(InvalidCommand, match="no data key"):
        vault.forget("maya", by=SUPERVISOR, reason="again")


def test_verify_passes_after_forget_and_against_a_digest_taken_before(
        vault: goalflow.Goals) -> None:
    draft_maya(vault)
    draft_sam(vault)
    digest = vault.digest()
    vault.forget("maya", by=SUPERVISOR, reason="retention period ended")
    result = vault.verify(digest)
    assert result.damage == ()
    assert result.size == digest.size + 1  # ... and the SubjectForgotten event


def test_a_rebuild_after_forget_gives_the_same_rows_and_never_brings_them_back(
        vault: goalflow.Goals) -> None:
    draft_maya(vault)
    draft_sam(vault)
    vault.forget("maya", by=SUPERVISOR, reason="retention period ended")
    before = (vault.audit(), vault.goal_index(), vault.plan("maya"), vault.plan("sam"))
    for name in ("plans", "audit", "reviews", "outcomes"):
        vault.projections.rebuild(name)
    assert (vault.audit(), vault.goal_index(), vault.plan("maya"), vault.plan("sam")) == before
    assert {g["subject_id"] for g in printed(vault.goal_index())} == {"sam"}


def test_forget_takes_the_subjects_outcomes_and_gas_scores_too(vault: goalflow.Goals) -> None:
    maya = vault.draft(Subject.client("maya"), f"Sleep through the night, {MAYAS_WORDS[0]}",
                       by=DR, client_words=f"No more {MAYAS_WORDS[1]}",
                       steps=["Keep a sleep diary"], target_date=date(2025, 6, 1),
                       measures=[goalflow.Measure("ISI", baseline=18, target=7)])
    vault.agree(maya, by=Actor("maya", "client"), terms_version=1, method="signature")
    vault.set_gas_scale(maya, by=DR, levels=[f"{MAYAS_WORDS[1]} every night", "most nights",
                                             "some nights", "one night", "no nights"])
    vault.rate_attainment(maya, by=DR, level=0)
    draft_sam(vault)

    def rows(table: str, subject: str) -> int:
        with vault.store.recorder.transaction(commit=False) as tx:
            return int(tx.execute(f"SELECT count(*) FROM {tx.table(table)} WHERE subject_id"
                                  " = ?", (subject,)).fetchone()[0])

    assert rows("gf_outcome_gas", "maya") > 0
    vault.forget("maya", by=SUPERVISOR, reason="erasure request")
    assert (rows("gf_outcome_gas", "maya"), rows("gf_outcome_goals", "maya")) == (0, 0)
    assert rows("gf_outcome_goals", "sam") == 1
    assert words_in(raw_contents(vault, events_only=False), MAYAS_WORDS) == []
    vault.projections.rebuild("outcomes")
    assert rows("gf_outcome_gas", "maya") == 0


def copy_store(store_url: str, tmp_path: Path) -> str:
    """A copy of the store as it is now: its SQLite file, or its PostgreSQL tables in a
    schema of their own (dropped with the test's own by keys_cleanup's caller)."""
    url = parse_url(store_url)
    if url.kind == "sqlite":
        assert url.path is not None
        copy = tmp_path / "copy"
        copy.mkdir()
        shutil.copy(url.path, copy / "goals.db")
        return f"sqlite:///{copy / 'goals.db'}"
    schema = f"{url.schema}_copy"
    server = os.environ["GOALFLOW_TEST_POSTGRES"]
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')  # type: ignore[arg-type]
        for (table,) in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
                " AND table_type = 'BASE TABLE'", (url.schema,)).fetchall():
            conn.execute(f'CREATE TABLE "{schema}"."{table}" AS'  # type: ignore[arg-type]
                         f' TABLE "{url.schema}"."{table}"')
    return store_url.replace(f"schema={url.schema}", f"schema={schema}")


def test_a_copy_taken_before_forget_stays_unreadable_for_that_subject(
        store_url: str, key: str, clock: Any, tmp_path: Path, keys_cleanup: None) -> None:
    with goalflow.open(store_url, master_key=key, clock=clock) as goals:
        maya, sam = draft_maya(goals), draft_sam(goals)
        live_keys = str(goals.store.sealer.keys.url)  # type: ignore[union-attr]
        if parse_url(store_url).kind == "postgresql":
            live_keys = store_url.replace(f"schema={parse_url(store_url).schema}",
                                          f"schema={parse_url(store_url).schema}_keys")
    copy = copy_store(store_url, tmp_path)
    try:
        with goalflow.open(store_url, master_key=key, clock=clock) as goals:
            goals.forget("maya", by=SUPERVISOR, reason="retention period ended")
        with goalflow.open(copy, master_key=key, keys=live_keys, readonly=True) as old:
            with pytest.raises(GoalErased, match="predates the erasure"):
                old.get(maya)
            assert old.get(sam).statement.startswith(SAMS_WORDS[0])
    finally:
        if copy.startswith("postgresql"):
            with psycopg.connect(os.environ["GOALFLOW_TEST_POSTGRES"], autocommit=True) as c:
                c.execute(f'DROP SCHEMA IF EXISTS "{parse_url(copy).schema}" CASCADE')  # type: ignore[arg-type]


def test_wrong_missing_and_unwanted_master_keys_are_refused_in_one_line(
        store_url: str, key: str, keys_cleanup: None) -> None:
    goalflow.open(store_url, master_key=key).close()
    with pytest.raises(StoreError, match="is encrypted: give its master key"):
        goalflow.open(store_url)
    with pytest.raises(StoreError, match="is encrypted: give its master key"):
        goalflow.open(store_url, readonly=True)
    with pytest.raises(StoreError, match="wrong master key: it does not open key store"):
        goalflow.open(store_url, master_key=master.new_key_text())
    with pytest.raises(InvalidCommand, match="not base64"):
        goalflow.open(store_url, master_key="not a key!")
    with pytest.raises(InvalidCommand, match="holds 16 bytes, not 32"):
        goalflow.open(store_url, master_key=master.base64.b64encode(b"x" * 16).decode())
    goalflow.open(store_url, master_key=key, readonly=True).close()


def test_an_unencrypted_store_stays_unencrypted(store_url: str, key: str) -> None:
    goalflow.open(store_url).close()
    with pytest.raises(StoreError, match=r"is not encrypted .* stays so"):
        goalflow.open(store_url, master_key=key)
    with goalflow.open(store_url) as plain, \
            pytest.raises(StoreError, match="is not encrypted: forgetting"):
        plain.forget("maya", by=SUPERVISOR, reason="x")


def test_the_master_key_comes_from_the_environment(
        store_url: str, key: str, monkeypatch: pytest.MonkeyPatch, keys_cleanup: None) -> None:
    monkeypatch.setenv(master.ENV_VAR, key)
    with goalflow.open(store_url) as goals:
        assert goals.store.encrypted
    monkeypatch.delenv(master.ENV_VAR)
    with pytest.raises(StoreError, match="is encrypted"):
        goalflow.open(store_url)


def test_a_key_store_missing_or_of_another_store_is_refused(
        tmp_path: Path, key: str) -> None:
    url = f"sqlite:///{tmp_path}/goals.db"
    goalflow.open(url, master_key=key).close()
    other = f"sqlite:///{tmp_path}/other.db"
    goalflow.open(other, master_key=key).close()
    with pytest.raises(StoreError, match="is not this store's"):
        goalflow.open(url, master_key=key, keys=f"sqlite:///{tmp_path}/other.keys.db")
    (tmp_path / "goals.keys.db").unlink()
    with pytest.raises(StoreError, match="no key store at"):
        goalflow.open(url, master_key=key)


def test_a_ciphertext_moved_to_another_event_is_refused(vault: goalflow.Goals) -> None:
    maya, sam = draft_maya(vault), draft_sam(vault)
    store = vault.store
    with store.recorder.transaction(commit=True) as tx:
        table = tx.table(store.events_table)
        (state,) = tx.execute(f"SELECT state FROM {table} WHERE originator_id = ? AND"
                              " originator_version = 1", (tx.goal_id(maya),)).fetchone()
        tx.execute(f"UPDATE {table} SET state = ? WHERE originator_id = ? AND"
                   " originator_version = 1", (bytes(state), tx.goal_id(sam)))
    store._recent.clear()
    with pytest.raises(UnreadableEvent, match="does not belong to this event"):
        vault.get(sam)


def test_an_altered_ciphertext_among_a_goals_events_is_named_by_its_version(
        vault: goalflow.Goals) -> None:
    # A goal's states are opened in one go on load; one that does not open is then found
    # and named, as when each is opened alone.
    maya = draft_maya(vault)
    for k in range(3):
        vault.add_step(maya, by=DR, description=f"step {k}")
    store = vault.store
    loaded = vault.get(maya)
    with store.recorder.transaction(commit=True) as tx:
        table = tx.table(store.events_table)
        (state,) = tx.execute(f"SELECT state FROM {table} WHERE originator_id = ? AND"
                              " originator_version = 3", (tx.goal_id(maya),)).fetchone()
        altered = bytearray(state)
        altered[-1] ^= 1
        tx.execute(f"UPDATE {table} SET state = ? WHERE originator_id = ? AND"
                   " originator_version = 3", (bytes(altered), tx.goal_id(maya)))
    store._recent.clear()
    with pytest.raises(UnreadableEvent, match=rf"position \d+: cannot read stored event"
                       rf" \S+ of goal {maya} version 3: its ciphertext does not belong"):
        vault.get(maya)
    with store.recorder.transaction(commit=True) as tx:
        tx.execute(f"UPDATE {table} SET state = ? WHERE originator_id = ? AND"
                   " originator_version = 3", (bytes(state), tx.goal_id(maya)))
    assert vault.get(maya) == loaded


def test_a_retention_hold_stops_forget_unless_overridden_and_the_override_is_recorded(
        vault: goalflow.Goals, clock: Any) -> None:
    maya = draft_maya(vault)
    draft_sam(vault)
    today = vault.today()
    with pytest.raises(InvalidCommand, match="has passed"):
        vault.hold_retention("maya", until=today - timedelta(days=1), by=SUPERVISOR,
                             reason="x")
    vault.hold_retention("maya", until=today + timedelta(days=30), by=SUPERVISOR,
                         reason="subpoena 24-118")
    assert [h["reason"] for h in vault.retention_holds()] == ["subpoena 24-118"]
    with pytest.raises(InvalidCommand, match=r"retention hold until .* \(placed by dr-achebe:"
                                             r" subpoena 24-118\); forget refused"):
        vault.forget("maya", by=SUPERVISOR, reason="client asked")
    vault.get(maya)  # nothing happened
    vault.forget("maya", by=SUPERVISOR, reason="client asked",
                 override_hold="court order 25-3 lifted it")
    forgotten = [e for e in printed(vault.audit(maya)) if e["event_type"] == "SubjectForgotten"]
    assert forgotten[0]["details"]["hold_overridden"] == "court order 25-3 lifted it"


def test_a_released_or_expired_hold_no_longer_stops_forget(vault: goalflow.Goals,
                                                           clock: Any) -> None:
    draft_maya(vault)
    draft_sam(vault)
    with pytest.raises(InvalidCommand, match="no retention hold in force"):
        vault.release_retention("maya", by=SUPERVISOR, reason="x")
    vault.hold_retention("maya", until=vault.today() + timedelta(days=3), by=SUPERVISOR,
                         reason="audit")
    vault.release_retention("maya", by=SUPERVISOR, reason="audit closed")
    assert vault.retention_holds() == []
    vault.hold_retention("sam", until=vault.today() + timedelta(days=3), by=SUPERVISOR,
                         reason="audit")
    clock.advance(days=4)
    assert vault.retention_holds() == []
    vault.forget("maya", by=SUPERVISOR, reason="r")
    vault.forget("sam", by=SUPERVISOR, reason="r")


def test_rotation_rewraps_every_key_touches_no_event_and_only_the_new_key_opens(
        store_url: str, key: str, clock: Any, keys_cleanup: None) -> None:
    with goalflow.open(store_url, master_key=key, clock=clock) as goals:
        maya, sam = draft_maya(goals), draft_sam(goals)
        before = raw_contents(goals, events_only=True)
        new = master.new_key_text()
        # every key: the subjects' two, and the rest of those made ahead with them
        assert goals.rotate_master_key(new) == SPARE_KEYS
        assert raw_contents(goals, events_only=True) == before
        assert goals.get(maya).version == 2
    with pytest.raises(StoreError, match="wrong master key"):
        goalflow.open(store_url, master_key=key)
    with goalflow.open(store_url, master_key=new, clock=clock) as goals:
        assert goals.get(sam).statement.startswith(SAMS_WORDS[0])
        goals.forget("maya", by=SUPERVISOR, reason="r")


def test_each_goal_maps_to_its_subject_key_and_each_event_has_a_fresh_nonce(
        vault: goalflow.Goals) -> None:
    maya = draft_maya(vault)
    other = vault.draft(Subject.client("maya"), "Same words", by=DR)
    draft_sam(vault)
    store = vault.store
    with store.recorder.transaction(commit=False) as tx:
        mapped = dict(tx.execute(f"SELECT goal_id, key_id FROM {tx.table(GOAL_KEYS_TABLE)}"
                                 ).fetchall())
        states = [bytes(r[0]) for r in tx.execute(
            f"SELECT state FROM {tx.table(store.events_table)}").fetchall()]
    keys = {str(UUID(str(g))): k for g, k in mapped.items()}
    assert keys[str(maya)] == keys[str(other)] != keys[next(g for g in keys if g not in
                                                            (str(maya), str(other)))]
    assert len({s[21:33] for s in states}) == len(states)  # nonces
    assert {str(key_id_of(s)) for s in states} == set(keys.values())


def test_new_files_are_owner_only_whatever_the_umask(tmp_path: Path, key: str) -> None:
    old = os.umask(0o022)
    try:
        with goalflow.open(f"sqlite:///{tmp_path}/goals.db", master_key=key) as goals:
            draft_sam(goals)
            files = sorted(p.name for p in tmp_path.iterdir())
            modes = {p.name: oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()}
        with goalflow.open(f"sqlite:///{tmp_path}/plain.db") as goals:
            draft_sam(goals)
            modes.update({p.name: oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()})
    finally:
        os.umask(old)
    assert {"goals.db", "goals.db-wal", "goals.db-shm", "goals.keys.db"} <= set(files)
    assert {"plain.db", "plain.db-wal", "plain.db-shm"} <= set(modes)
    assert set(modes.values()) == {"0o600"}, modes


def test_forget_and_holds_check_their_input(vault: goalflow.Goals) -> None:
    draft_maya(vault)
    with pytest.raises(InvalidCommand, match="reason"):
        vault.forget("maya", by=SUPERVISOR, reason="")
    with pytest.raises(InvalidCommand, match="by must be an Actor"):
        vault.forget("maya", by="dr-lee", reason="x")  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand, match="no data key"):
        vault.forget("nobody", by=SUPERVISOR, reason="x")
    with pytest.raises(InvalidCommand, match="until must be a date"):
        vault.hold_retention("maya", until="2030-01-01", by=SUPERVISOR,  # type: ignore[arg-type]
                             reason="x")
    assert date.today()  # (the holds above judged today on the clinic's calendar)


def test_two_writers_giving_a_new_subject_a_key_at_once_agree_on_one(
        store_url: str, key: str, clock: Any, keys_cleanup: None) -> None:
    with goalflow.open(store_url, master_key=key, clock=clock) as first, \
            goalflow.open(store_url, master_key=key, clock=clock) as second:
        from uuid import uuid4

        second.store.sealer.expect(uuid4(), "maya")  # type: ignore[union-attr]  # a key, unsaved
        mine = draft_maya(first)
        theirs = second.draft(Subject.client("maya"), f"{MAYAS_WORDS[0]} again", by=DR)
        assert first.store.subject_key_id("maya") == second.store.subject_key_id("maya")
        assert second.get(theirs).statement.startswith(MAYAS_WORDS[0])
        assert first.get(theirs).version == second.get(mine).version - 1
        first.forget("maya", by=SUPERVISOR, reason="r")
        assert {str(mine), str(theirs)} == {
            e["goal_id"] for e in printed(first.audit()) if e["event_type"] == "SubjectForgotten"}
