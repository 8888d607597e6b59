"""An EHR's own code, type-checked with ``mypy --strict`` against goalflow as installed in
this environment (by ``scripts/_venv.sh``, the README's editable install): goalflow must be
visible to mypy, and a misspelt keyword, a wrong type or an unknown command must fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EHR_CODE = '''\
from datetime import datetime, timezone

import goalflow
from goalflow import Actor, Subject

goals = goalflow.open("sqlite:///:memory:")
lee = Actor(id="dr-lee", role="clinician")
goal_id = goals.draft(Subject.client("client-7"), "Walk to the shop alone", by=lee,
                      occurred_at=datetime(2026, 1, 5, tzinfo=timezone.utc))
goals.agree(goal_id, by=lee, terms_version=1, method="verbal", {mistake})
'''


def mypy(tmp_path: Path, mistake: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "ehr.py").write_text(EHR_CODE.format(mistake=mistake))
    # From a directory of its own, so that goalflow is found where it is installed (not in
    # this repository's src/) and this repository's mypy settings do not apply.
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
         "ehr.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)


def test_correct_ehr_code_passes_mypy_strict(tmp_path: Path) -> None:
    result = mypy(tmp_path, "command_id='ehr-1'")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


@pytest.mark.parametrize(("mistake", "complaint"), [
    ("occured_at=None", 'Unexpected keyword argument "occured_at"'),
    ("expected_version='2'", 'Argument "expected_version" to "agree" of "Goals" has'
                             ' incompatible type "str"'),
])
def test_a_misspelt_or_mistyped_option_fails_mypy_strict(tmp_path: Path, mistake: str,
                                                         complaint: str) -> None:
    result = mypy(tmp_path, mistake)
    assert result.returncode == 1, result.stdout + result.stderr
    assert complaint in result.stdout
    assert "import-not-found" not in result.stdout
