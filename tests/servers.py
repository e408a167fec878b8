"""Start the desk as real processes for end-to-end tests, and stop them the way a user would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_of_tests() -> str:
    """The URL of pytest-django's test database, for processes that must see its rows."""
    params = connection.settings_dict
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{params['USER']}{password}@{host}:{port}/{params['NAME']}"


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Server:
    def __init__(self, process: subprocess.Popen, base_url: str, log: Path) -> None:
        self.process, self.base_url, self.log = process, base_url, log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until(self, predicate, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited ({self.process.returncode}):\n{self.output()}")
            try:
                if predicate():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}:\n{self.output()[-4000:]}")

    def interrupt(self, seconds: float = 20.0) -> int:
        """Ctrl-C: SIGINT to the whole process group, then wait for a clean exit."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=seconds)

    def descendants(self) -> list[int]:
        return descendants_of(self.process.pid)


def descendants_of(pid: int) -> list[int]:
    """Every live process below `pid` (honcho starts its children in sessions of their own,
    so a signal to its process group does not reach them)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def running(pids: list[int], *, within: float = 0.0) -> list[int]:
    """The processes of `pids` still running (not exited, not zombies) after up to `within` s."""
    deadline = time.monotonic() + within
    while True:
        alive = []
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive.append(pid)
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.2)


def kill_tree(pid: int) -> None:
    for process_id in [pid, *descendants_of(pid)]:
        with suppress(ProcessLookupError):
            os.kill(process_id, signal.SIGKILL)


@contextmanager
def serve(command: list[str], *, port: int, env: dict[str, str]) -> Iterator[Server]:
    log = Path(tempfile.mkstemp(prefix="desk-server-", suffix=".log")[1])
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    with log.open("w") as sink:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=full_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            # Its own process group, with SIGINT at its default: Ctrl-C works as in a terminal.
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        server.wait_until(lambda: get(f"{server.base_url}/healthz")[0] == 200, 60, "/healthz")
        yield server
    finally:
        # Whatever happened, nothing the server started may outlive the test (an orphaned
        # worker would keep writing to the test database).
        kill_tree(process.pid)
        process.wait()
        log.unlink(missing_ok=True)


def run_manage(*args: str, env: dict[str, str]) -> str:
    """Run a management command as a newcomer would; what it printed, warnings included."""
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr
