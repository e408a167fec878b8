"""The suite's own preconditions: a missing part stops the run at once, with one line."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_missing_chromium_stops_the_run_before_any_test_with_one_line():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/browser/test_live_desk.py",
            "tests/core/test_pages.py",
        ],
        cwd=ROOT,
        env={**os.environ, "CHROMIUM_PATH": "/nowhere/chromium"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    assert "the browser tests need Chromium, but there is none at /nowhere/chromium" in output
    # It stopped before running any test, the others included.
    assert " passed" not in output and " error" not in output, output


def test_deselecting_the_browser_tests_runs_without_chromium():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "not browser", "tests/test_docs.py"],
        cwd=ROOT,
        env={**os.environ, "CHROMIUM_PATH": "/nowhere/chromium"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
