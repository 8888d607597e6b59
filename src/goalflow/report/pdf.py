"""Printing a report to PDF with a headless Chromium, where one is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from goalflow.errors import GoalflowError
from goalflow.private_files import open_private

CHROMIUM_ENV = "GOALFLOW_CHROMIUM"


class NoBrowser(GoalflowError, LookupError):
    """No headless Chromium to print with, or it failed."""


def find_chromium() -> str | None:
    """$GOALFLOW_CHROMIUM, else ``chromium`` or ``chromium-browser`` on PATH."""
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        return named if shutil.which(named) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def write_pdf(html: str, target: Path, *, timeout: float = 120) -> None:
    """Print ``html`` to the PDF file ``target`` (its print stylesheet, its page headers)."""
    browser = find_chromium()
    if browser is None:
        raise NoBrowser(f"--pdf needs a headless Chromium: install chromium (Debian: apt-get"
                        f" install chromium) or set {CHROMIUM_ENV} to its path")
    with tempfile.TemporaryDirectory(prefix="goalflow-report-") as work:
        page = Path(work) / "report.html"
        page.write_text(html, encoding="utf-8")
        out = Path(work) / "report.pdf"
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu",
                   "--no-pdf-header-footer", f"--user-data-dir={work}/profile",
                   f"--print-to-pdf={out}", page.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise NoBrowser(f"{browser} could not print the report: {e}") from None
        if done.returncode != 0 or not out.exists():
            last = (done.stderr.decode(errors="replace").strip().splitlines() or ["?"])[-1]
            raise NoBrowser(f"{browser} could not print the report (exit"
                            f" {done.returncode}): {last[:200]}")
        try:
            with out.open("rb") as source, open_private(target) as sink:
                shutil.copyfileobj(source, sink)
        except OSError as e:
            raise NoBrowser(f"cannot write {target}: {e.strerror}") from None
