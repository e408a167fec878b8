"""Kill a signal's processing for real: run it in another process, SIGKILL it at a step.

The process runs the desk's own code unchanged (`process_signal`) against the test database
and Redis. Where it is when it dies is chosen with the paper exchange's latency setting (every
adapter call first sleeps that long, a product feature of the paper exchange) and by watching
the rows: once the step's rows are committed, the process is asleep in its next exchange call
and is killed there, exactly as a worker killed with -9 would be. Nothing of the desk's is
patched in that process except the lane lease's length, shortened so the test need not wait.
"""

from __future__ import annotations

import os
import signal as signals
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from tests.servers import ROOT, database_url_of_tests

PROCESS = r"""
import sys
import django

django.setup()
from tradedesk.celery import app

app.conf.task_always_eager = True  # no worker: what it enqueues runs inline, as under pytest
from apps.webhooks.services import processing

processing.LANE_LEASE_SECONDS = int(sys.argv[2])
processing.process_signal(signal_id=int(sys.argv[1]))
"""

HOLD = r"""
import sys
import time
import django

django.setup()
from apps.core.locks import lease

with lease(sys.argv[1], seconds=int(sys.argv[2]), max_hold_seconds=600) as held:
    print("held" if held else "busy", flush=True)
    time.sleep(600)
"""


def _start(script: str, *args: str) -> subprocess.Popen:
    env = os.environ | {
        "DATABASE_URL": database_url_of_tests(),
        "DJANGO_SETTINGS_MODULE": "tradedesk.settings",
    }
    # Output to a file, not a pipe nobody reads while it runs (a full pipe would stall it).
    log = tempfile.NamedTemporaryFile("w+", prefix="crash-", suffix=".log")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    process.log = log  # type: ignore[attr-defined]
    return process


def output(process: subprocess.Popen) -> str:
    process.log.seek(0)  # type: ignore[attr-defined]
    return process.log.read()  # type: ignore[attr-defined]


def kill_processing_when(
    signal_id: int, reached: Callable[[], bool], *, lease_seconds: int = 1, seconds: float = 60
) -> None:
    """Process signal `signal_id` in another process and SIGKILL it as soon as `reached()`."""
    process = _start(PROCESS, str(signal_id), str(lease_seconds))
    deadline = time.monotonic() + seconds
    try:
        while not reached():
            if process.poll() is not None:
                raise AssertionError(f"it finished before the step:\n{output(process)}")
            if time.monotonic() > deadline:
                raise AssertionError("the step was never reached")
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signals.SIGKILL)
        process.wait(timeout=10)


def hold_in_another_process(name: str, *, lease_seconds: int) -> subprocess.Popen:
    """Another process that takes lease `name` and then only sleeps, until it is killed."""
    process = _start(HOLD, name, str(lease_seconds))
    deadline = time.monotonic() + 30
    while "held" not in output(process):
        assert process.poll() is None and time.monotonic() < deadline, output(process)
        time.sleep(0.02)
    return process


def kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signals.SIGKILL)
    process.wait(timeout=10)
