"""The Signals page in real Chromium: signals arrive and are decided live; the demo's curl."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import urllib.request
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD
from tests.browser.conftest import as_worker, log_in, wait_for_live_socket
from tests.browser.test_run_modes import ready_with_a_loop_tick
from tests.servers import PYTHON, free_port, run_manage, serve

pytestmark = pytest.mark.browser


def post_signal(url: str, body: str) -> dict:
    request = urllib.request.Request(  # noqa: S310 (loopback)
        url, data=body.encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def paper_route():
    """A trader with a funded paper account (BTC/USDT at 65000) and an open route."""
    from apps.exchanges.paper.services import open_paper_account, set_price
    from apps.exchanges.services import refresh_balances, refresh_markets
    from apps.webhooks.services import create_route
    from tests.exchanges.factories import ExchangeAccountFactory
    from tests.tickets.factories import StrategyFactory

    account = ExchangeAccountFactory(kind="paper", label="Paper")
    open_paper_account(account=account, initial_balance=Decimal("10000"))
    set_price(symbol="BTC/USDT", price=Decimal("65000.00"))
    refresh_markets(account=account, now=timezone.now())
    refresh_balances(account=account, now=timezone.now())
    return create_route(
        owner=account.owner,
        label="TV main",
        account=account,
        strategy=StrategyFactory(owner=account.owner),
        ip_allowlist="",
    )


@pytest.mark.django_db(transaction=True)
def test_a_signal_appears_live_when_received_and_again_when_decided(page, live_server_url):
    from apps.webhooks.services import process_signal

    route = as_worker(paper_route)
    log_in(page, live_server_url, route.owner.username, PASSWORD)
    page.goto(f"{live_server_url}/signals/")
    wait_for_live_socket(page)
    expect(page.locator("tbody.signal-empty")).to_be_visible()
    page.evaluate("window.notReloaded = true")

    # The web process records it and pushes the row; no worker runs here, so it waits.
    answer = post_signal(
        f"{live_server_url}/webhooks/tv/{route.token}/",
        '{"action": "entry", "symbol": "BINANCE:BTCUSDT", "timeframe": "15"}',
    )
    row = page.locator(f"#signal-{answer['signal_id']}")
    expect(row).to_contain_text("Received")
    expect(row).to_contain_text("BTC/USDT")
    expect(page.locator("tbody.signal-empty")).to_be_hidden()

    as_worker(process_signal, signal_id=answer["signal_id"])  # what the worker does

    expect(row).to_contain_text("Executed")
    expect(row).to_contain_text("Opened BTC/USDT 15m long position #")
    row.get_by_role("link", name="details").click()
    details = page.locator(f"#signal-{answer['signal_id']}-detail")
    expect(details).to_contain_text('"symbol": "BINANCE:BTCUSDT"')
    expect(details).to_contain_text("Filled")
    assert page.evaluate("window.notReloaded") is True
    assert page.csp_violations == []


def test_the_curl_make_run_prints_opens_a_paper_position_on_the_embedded_desk(page, tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'desk.sqlite3'}",
        "REDIS_URL": "",
        "HEARTBEAT_SECONDS": "1",
    }
    run_manage("migrate", "--noinput", env=env)
    password = re.search(r"\bdemo / (\S+)", run_manage("seed_demo", env=env)).group(1)
    port = free_port()

    with serve([PYTHON, "manage.py", "rundesk", "--port", str(port)], port=port, env=env) as desk:
        desk.wait_until(lambda: ready_with_a_loop_tick(desk.base_url), 30, "a loop tick")
        curl = re.search(r"Send a signal:\s+(curl .+)$", desk.output(), re.MULTILINE).group(1)
        log_in(page, desk.base_url, "demo", password)
        page.goto(f"{desk.base_url}/signals/")
        wait_for_live_socket(page)

        # Exactly what a newcomer pastes into a terminal.
        answer = json.loads(
            subprocess.run(shlex.split(curl), capture_output=True, text=True, check=True).stdout
        )

        assert answer["status"] == "accepted", answer
        row = page.locator(f"#signal-{answer['signal_id']}")
        expect(row).to_contain_text("Executed", timeout=15_000)
        expect(row).to_contain_text("Opened BTC/USDT 15m long position #")
        assert page.csp_violations == []
        assert desk.interrupt() == 0
        assert "database is locked" not in desk.output()
