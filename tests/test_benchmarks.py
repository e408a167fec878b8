"""Every benchmark script starts: its imports resolve and it answers `--help`.

The benchmarks are not run by the suite (they measure, and take minutes), so a renamed module
would otherwise break them unnoticed until someone measures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# A script per benchmark; `_common.py` and the like are what they share, not scripts.
BENCHMARKS = sorted((Path(__file__).resolve().parent.parent / "benchmarks").glob("[!_]*.py"))


def test_there_are_benchmarks_to_check():
    assert {p.name for p in BENCHMARKS} >= {
        "rules_tick.py",
        "webhooks_load.py",
        "logs_filter.py",
        "performance.py",
    }


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.name)
def test_the_benchmark_starts_and_explains_its_options(script: Path):
    done = subprocess.run(
        [sys.executable, str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=script.parent.parent,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"usage: {script.name}")
