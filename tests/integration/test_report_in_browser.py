"""The HTML report rendered in a real headless Chromium (Debian's), on both stores.

One browser per module. What is checked is what a reader sees: no console errors and no
network requests; every event in the timeline, in order; one chart point per reading at
the right height order; late entries marked; a person's markup shown, never run; the
print layout keeps timeline rows whole; a PDF comes out. Without a Chromium these skip,
unless ``GOALFLOW_REQUIRE_BROWSER=1`` (as on CI), when they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import goalflow
from goalflow import Actor, Measure, Subject, demo
from goalflow.report.pdf import find_chromium

REQUIRE_ENV = "GOALFLOW_REQUIRE_BROWSER"
DR = Actor("dr-okafor", "clinician")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = find_chromium()
    if chromium is None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"no chromium on PATH (or $GOALFLOW_CHROMIUM) but {REQUIRE_ENV}=1")
        pytest.skip("no chromium on PATH (or $GOALFLOW_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


class Rendered:
    """A report opened in the browser, with what the page did while loading."""

    def __init__(self, browser: Any, html: str, path: Path) -> None:
        path.write_text(html, encoding="utf-8")
        self.url = path.as_uri()
        self.context = browser.new_context(viewport={"width": 1100, "height": 900})
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(
            m.text))
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(self.url)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_report(browser: Any, tmp_path: Path) -> Iterator[Any]:
    opened: list[Rendered] = []

    def open_(html: str, name: str = "report.html") -> Rendered:
        opened.append(Rendered(browser, html, tmp_path / name))
        return opened[-1]

    yield open_
    for r in opened:
        r.close()


def test_the_demo_goals_report_shows_its_whole_life(open_report: Any, store_url: str,
                                                     tmp_path: Path) -> None:
    goals = demo.run(store_url, date.today())
    try:
        html = goals.report(demo.DEMO_GOAL_ID)
        history = goals.history(demo.DEMO_GOAL_ID)
    finally:
        goals.close()
    shown = open_report(html)
    page = shown.page
    assert shown.console_errors == []
    assert shown.requests == [shown.url]  # the page itself, and nothing else
    events = page.locator("li.event")
    assert [int(v) for v in events.evaluate_all("els => els.map(e => e.dataset.version)")] \
        == [e.originator_version for e in history]
    assert events.evaluate_all("els => els.map(e => e.dataset.type)") \
        == [type(e).__name__ for e in history]
    late = page.locator("li.event.late")
    assert late.count() == 1  # the step entered five days late; the others within minutes
    assert late.get_attribute("data-version") == "11"
    assert "LATE ENTRY: recorded 5 days after it occurred" in late.inner_text()
    points = page.locator("figure.chart[data-measure='GAD-7'] g.point")
    readings = [e.value for e in history if type(e).__name__ == "ProgressRecorded"]
    assert points.count() == len(readings) == 2
    values = [float(v) for v in points.evaluate_all("ps => ps.map(p => p.dataset.value)")]
    heights = points.locator("circle").evaluate_all(
        "cs => cs.map(c => c.getBoundingClientRect().top)")
    assert values == readings
    # Higher values sit higher on the page (a smaller top), in the same order.
    assert sorted(range(2), key=lambda i: -values[i]) == sorted(range(2), key=lambda i: heights[i])
    assert page.get_by_text("Verified intact").is_visible()
    assert page.locator(".verification").inner_text().count("15 events") == 1
    page.screenshot(path=str(tmp_path / "demo-report.png"), full_page=True)
    assert (tmp_path / "demo-report.png").stat().st_size > 10_000

    page.emulate_media(media="print")
    breaks = events.evaluate_all("els => els.map(e => getComputedStyle(e).breakInside)")
    assert set(breaks) == {"avoid"}
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 10_000


def test_a_persons_markup_is_shown_never_run(open_report: Any, store_url: str) -> None:
    goals = goalflow.open(store_url)
    try:
        statement = "<script>window.pwned = 1</script> Manage <b>anxiety</b>"
        goal_id = goals.draft(Subject.client('client-7"</style><script>x=1</script>'),
                              statement, by=DR, client_words="<img src=x onerror=alert(1)>")
        html = goals.report(goal_id)
    finally:
        goals.close()
    shown = open_report(html)
    assert shown.console_errors == []
    assert shown.requests == [shown.url]  # the <img> was never made: no request for x
    assert shown.page.evaluate("typeof window.pwned") == "undefined"
    assert shown.page.locator("p.statement").inner_text() == statement
    assert shown.page.locator("script").count() == 0
    assert "<img src=x onerror=alert(1)>" in shown.page.locator("article").inner_text()


def test_a_clients_report_holds_their_goals_and_their_groups(open_report: Any,
                                                               store_url: str) -> None:
    clock_now = datetime.now(UTC)
    goals = goalflow.open(store_url)
    try:
        group = Subject.group("group-3", members=["client-7", "client-8"])
        group_goal = goals.draft(group, "Share one coping skill each week", by=DR,
                                 measures=[Measure("attendance", baseline=0, target=8,
                                                   direction="increase", sd=2,
                                                   reliability=0.8, cutoff=5)],
                                 steps=["Attend eight sessions"],
                                 target_date=date.today() + timedelta(days=60),
                                 addresses=["social anxiety"],
                                 occurred_at=clock_now - timedelta(days=20))
        for member in ("client-7", "client-8"):
            goals.agree(group_goal, by=Actor(member, "client"), terms_version=1,
                        method="portal", occurred_at=clock_now - timedelta(days=19))
        for n, value in enumerate([2, 6, 4]):
            goals.record_progress(group_goal, by=DR, measure="attendance", value=value,
                                  occurred_at=clock_now - timedelta(days=15 - 5 * n))
        own = goals.draft(Subject.client("client-7"), "Sleep seven hours", by=DR)
        goals.draft(Subject.client("client-9"), "Not client-7's goal", by=DR)
        html = goals.report(subject="client-7")
    finally:
        goals.close()
    shown = open_report(html)
    page = shown.page
    assert shown.console_errors == []
    assert shown.requests == [shown.url]
    articles = page.locator("article.goal")
    assert articles.evaluate_all("as => as.map(a => a.dataset.goalId)") \
        == [str(group_goal), str(own)]
    group_article = articles.nth(0)
    assert group_article.locator("li.event").count() == 6
    assert "members: client-7, client-8" in group_article.inner_text()
    circles = group_article.locator("g.point circle").evaluate_all(
        "cs => cs.map(c => c.getBoundingClientRect().top)")
    assert circles[1] < circles[2] < circles[0]  # 6 above 4 above 2
    assert group_article.locator("rect.band").count() == 1  # sd and reliability given
    assert group_article.locator("line.ref-cut-off").count() == 1
    assert "proposed" in articles.nth(1).locator(".status").inner_text()
    assert "agreement from client-7" in articles.nth(1).inner_text()
