"""``goalflow report`` as a user runs it: HTML to a file or stdout, --as-of, --subject,
--pdf with and without a Chromium, and each error path."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from goalflow import demo
from goalflow.cli import cli
from goalflow.report.pdf import find_chromium

GOAL = str(demo.DEMO_GOAL_ID)


@pytest.fixture
def demo_store(store_url: str) -> str:
    demo.run(store_url, date.today()).close()
    return store_url


def run(url: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--db", url, "report", *args], env=env)
    return result.exit_code, result.output


def test_report_writes_one_self_contained_page(demo_store: str, tmp_path: Path) -> None:
    code, out = run(demo_store, GOAL[:8], "-o", str(tmp_path / "goal.html"))
    assert (code, out) == (0, "")
    html = (tmp_path / "goal.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert html.count('<li class="event') == 15
    for outside in ("http://", "https://", "<link", "<script", "@import", "url("):
        assert outside not in html
    code, out = run(demo_store, GOAL)
    assert code == 0
    assert out.count('<li class="event') == 15


def test_as_of_shows_the_goal_as_recorded_then(demo_store: str) -> None:
    drafted_day = demo.scenario(date.today())[0][0].date().isoformat()
    code, out = run(demo_store, GOAL, "--as-of", drafted_day)
    assert code == 0
    assert out.count('<li class="event') == 2  # drafted and disagreed that day
    assert ">proposed<" in out
    assert "agreement from client-7" in out


def test_a_subject_report_names_the_client(demo_store: str) -> None:
    code, out = run(demo_store, "--subject", "client-7")
    assert code == 0
    assert "<h1>client-7: 1 goal</h1>" in out


@pytest.mark.parametrize("args", [(), (GOAL, "--subject", "client-7")])
def test_a_goal_or_a_subject_is_needed_not_both(demo_store: str, args: tuple[str, ...]
                                                ) -> None:
    code, out = run(demo_store, *args)
    assert code == 2
    assert "give GOAL_ID or --subject, not both nor neither" in out


def test_unknown_goals_and_subjects_are_one_line_errors(demo_store: str) -> None:
    assert run(demo_store, "99999999-9999-4999-8999-999999999999")[0] == 1
    code, out = run(demo_store, "--subject", "client-404")
    assert code == 1
    assert out.startswith("Error: ")
    assert "client-404" in out
    code, out = run(demo_store, GOAL, "--as-of", "yesterday-ish")
    assert code == 1
    assert "--as-of" in out


def test_an_unwritable_output_is_one_line(demo_store: str, tmp_path: Path) -> None:
    code, out = run(demo_store, GOAL, "-o", str(tmp_path / "missing" / "goal.html"))
    assert code == 1
    assert out.startswith("Error: cannot write")


def test_pdf_without_a_chromium_says_it_needs_one(demo_store: str, tmp_path: Path) -> None:
    code, out = run(demo_store, GOAL, "--pdf", str(tmp_path / "goal.pdf"),
                    env={"GOALFLOW_CHROMIUM": str(tmp_path / "no-such-browser")})
    assert code == 1
    assert "--pdf needs a headless Chromium" in out
    assert not (tmp_path / "goal.pdf").exists()


def test_pdf_is_printed_with_chromium(demo_store: str, tmp_path: Path) -> None:
    if find_chromium() is None:
        if os.environ.get("GOALFLOW_REQUIRE_BROWSER") == "1":
            pytest.fail("no chromium on PATH (or $GOALFLOW_CHROMIUM)")
        pytest.skip("no chromium on PATH (or $GOALFLOW_CHROMIUM)")
    code, out = run(demo_store, GOAL, "-o", str(tmp_path / "g.html"), "--pdf",
                    str(tmp_path / "g.pdf"))
    assert (code, out) == (0, "")
    pdf = (tmp_path / "g.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 10_000


def test_reports_are_readable_by_their_owner_only(demo_store: str, tmp_path: Path) -> None:
    """A report holds clients' words: 0600 whatever the umask (the PDF too, when printed)."""
    old = os.umask(0o022)
    try:
        code, _ = run(demo_store, GOAL, "-o", str(tmp_path / "g.html"))
        assert code == 0
        assert (tmp_path / "g.html").stat().st_mode & 0o777 == 0o600
        if find_chromium() is not None:
            code, _ = run(demo_store, GOAL, "--pdf", str(tmp_path / "g.pdf"))
            assert code == 0
            assert (tmp_path / "g.pdf").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)
