"""The Queue & Pool page in real Chromium: when a group closes, the first queued signal is
promoted into its slot and the page shows it live, without a reload."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD
from tests.browser.conftest import as_worker, log_in, wait_for_live_socket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def full_pool_with_a_queue():
    """A paper account with a pool of one: BTC open, SOL queued at a discount (rank 1) and ETH
    without a price (rank 2)."""
    from apps.exchanges.models import PaperSettings
    from apps.exchanges.paper.services import open_paper_account, set_price
    from apps.exchanges.services import refresh_balances, refresh_markets
    from apps.positions.services import act_on_signal
    from tests.exchanges.factories import ExchangeAccountFactory
    from tests.positions.grouping import grid_strategy, signal

    account = ExchangeAccountFactory(kind="paper", label="Paper", max_open_groups=1)
    open_paper_account(account=account, initial_balance=Decimal("10000"))
    PaperSettings.objects.filter(account=account).update(slippage_rate=Decimal(0))
    for symbol, price in [
        ("BTC/USDT", "65000.00"),
        ("ETH/USDT", "3200.00"),
        ("SOL/USDT", "150.00"),
    ]:
        set_price(symbol=symbol, price=Decimal(price))
    refresh_markets(account=account, now=timezone.now())
    refresh_balances(account=account, now=timezone.now())
    strategy = grid_strategy(account.owner, legs=[], sizing_value="100")
    for order in [
        signal(symbol="BTC/USDT"),
        signal(symbol="ETH/USDT"),
        signal(symbol="SOL/USDT", price="153"),
    ]:
        act_on_signal(
            account=account, strategy=strategy, order=order, signal_id=None, now=timezone.now()
        )
    return account, strategy


def exit_btc(account, strategy):
    from apps.positions.services import act_on_signal
    from tests.positions.grouping import signal

    return act_on_signal(
        account=account,
        strategy=strategy,
        order=signal("exit", symbol="BTC/USDT"),
        signal_id=None,
        now=timezone.now(),
    )


def queue_rows(account):
    from apps.trade_queue.models import QueuedSignal

    return {q.symbol: q.pk for q in QueuedSignal.objects.filter(account=account)}


def test_the_queue_page_shows_a_promotion_live_when_a_group_closes(page, live_server_url):
    account, strategy = as_worker(full_pool_with_a_queue)
    rows = as_worker(queue_rows, account)
    log_in(page, live_server_url, account.owner.username, PASSWORD)
    page.click("nav[aria-label=Main] >> text=Queue")
    expect(page.locator("h1")).to_have_text("Queue & Pool")
    wait_for_live_socket(page)
    pool = page.locator(f"#pool-{account.pk}")
    expect(page.locator(f"#pool-{account.pk}-slots")).to_have_text("1 / 1")
    expect(pool.locator("tr.queued")).to_have_count(2)
    expect(page.locator(f"#queued-{rows['SOL/USDT']} td.rank")).to_have_text("1")
    expect(page.locator(f"#queued-{rows['ETH/USDT']} td.rank")).to_have_text("2")
    page.evaluate("window.notReloaded = true")

    as_worker(exit_btc, account, strategy)

    # SOL took the slot BTC freed: it leaves the queue, and ETH moves up to rank 1.
    expect(page.locator(f"#queued-{rows['SOL/USDT']}")).to_have_count(0)
    expect(page.locator(f"#queued-{rows['ETH/USDT']} td.rank")).to_have_text("1")
    expect(page.locator(f"#pool-{account.pk}-slots")).to_have_text("1 / 1")
    assert page.evaluate("window.notReloaded") is True
    assert page.csp_violations == []
