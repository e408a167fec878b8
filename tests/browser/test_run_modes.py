"""The desk as a newcomer and an operator start it: `make run` and `make stack`, for real."""

import json
import os
import re
from pathlib import Path

import pytest
import redis
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD, UserFactory
from tests.browser.conftest import log_in, wait_for_live_socket
from tests.servers import (
    BIN,
    PYTHON,
    database_url_of_tests,
    free_port,
    get,
    run_manage,
    running,
    serve,
)

pytestmark = pytest.mark.browser


def ready_with_a_loop_tick(base_url: str) -> bool:
    status, body = get(f"{base_url}/readyz")
    return status == 200 and json.loads(body)["loops"]["core.heartbeat"]["age_seconds"] is not None


def expect_live_ticks(page) -> None:
    """The desk clock, pushed by the heartbeat loop, changes twice without a reload."""
    wait_for_live_socket(page)
    page.evaluate("window.notReloaded = true")
    clock = page.locator("#desk-clock")
    for _ in range(2):
        before = clock.inner_text()
        expect(clock).not_to_have_text(before, timeout=10_000)
    expect(page.locator("#loop-core-heartbeat")).to_contain_text("running")
    assert page.evaluate("window.notReloaded") is True


def test_make_run_embedded_desk_works_with_the_printed_demo_login(page, tmp_path):
    # What `make run` does, on SQLite and without Redis: migrate, seed, serve.
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'desk.sqlite3'}",
        "REDIS_URL": "",
        "HEARTBEAT_SECONDS": "1",
    }
    run_manage("migrate", "--noinput", env=env)
    printed = run_manage("seed_demo", env=env)
    password = re.search(r"\bdemo / (\S+)", printed).group(1)
    port = free_port()

    with serve([PYTHON, "manage.py", "rundesk", "--port", str(port)], port=port, env=env) as desk:
        desk.wait_until(lambda: ready_with_a_loop_tick(desk.base_url), 30, "a loop tick")
        log_in(page, desk.base_url, "demo", password)
        expect(page.locator("#figure-health")).to_contain_text("All loops running")
        page.goto(f"{desk.base_url}/status/")
        expect(page.locator("#desk-status")).to_contain_text("embedded (sqlite, in-memory")
        expect_live_ticks(page)
        assert page.csp_violations == []

        assert desk.interrupt() == 0  # Ctrl-C
        assert "TradeDesk stopped." in desk.output()
        assert "database is locked" not in desk.output()


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_make_stack_runs_web_worker_and_beat_and_pushes_ticks_live(page, tmp_path):
    """`make stack` itself: createdb, migrate, then honcho's daphne, worker and beat."""
    trader = UserFactory()
    redis_url = "redis://127.0.0.1:6379/2"  # the stack's own broker and layer
    redis.Redis.from_url(redis_url).flushdb()
    port = free_port()
    env = {
        "DATABASE_URL": database_url_of_tests(),
        "REDIS_URL": redis_url,
        "CHANNEL_PREFIX": "tradedesk-stack-test",
        "WEB_PORT": str(port),
        "HEARTBEAT_SECONDS": "1",
        "BEAT_SCHEDULE_FILE": str(tmp_path / "celerybeat-schedule"),
    }
    # Exactly what an operator types, on a PATH without the virtualenv (as in a fresh shell).
    env["PATH"] = os.pathsep.join(
        entry for entry in os.environ["PATH"].split(os.pathsep) if Path(entry) != BIN
    )
    command = ["make", "stack"]

    with serve(command, port=port, env=env) as stack:
        stack.wait_until(lambda: ready_with_a_loop_tick(stack.base_url), 60, "a loop tick")
        output = stack.output()
        assert re.search(r"worker\.\d+\s+\|.*ready", output), output
        assert re.search(r"beat\.\d+\s+\|.*beat: Starting", output), output
        assert "Task core.heartbeat" in output  # run by the worker, not by the web process

        log_in(page, stack.base_url, trader.username, PASSWORD)
        expect(page.locator("#figure-health")).to_contain_text("loops")
        page.goto(f"{stack.base_url}/status/")
        expect(page.locator("#desk-status")).to_contain_text("stack (postgresql, redis")
        expect_live_ticks(page)

        children = stack.descendants()
        assert len(children) >= 3  # daphne, worker, beat (and their shells)
        stack.interrupt()  # Ctrl-C stops all of them
        assert running(children, within=15) == []
