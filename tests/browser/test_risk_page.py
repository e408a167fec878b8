"""The Risk page in real Chromium: Preview shows what the engine would do, Run now does it, and
the table and the actions update live over the WebSocket once the orders fill."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD
from tests.browser.conftest import as_worker, log_in, wait_for_live_socket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def book():
    """A paper account with a losing ETH group and a winning BTC group, the engine on."""
    from apps.exchanges.paper.services import open_paper_account, set_price
    from apps.exchanges.services import refresh_balances, refresh_markets
    from apps.positions.models import PositionGroup
    from apps.positions.services import act_on_signal, take_profit
    from apps.risk.models import RiskSettings
    from tests.exchanges.factories import ExchangeAccountFactory
    from tests.positions.grouping import grid_strategy, signal

    account = ExchangeAccountFactory(kind="paper", label="Paper")
    open_paper_account(account=account, initial_balance=Decimal("10000"))
    set_price(symbol="BTC/USDT", price=Decimal("65000.00"))
    set_price(symbol="ETH/USDT", price=Decimal("3200.00"))
    refresh_markets(account=account, now=timezone.now())
    refresh_balances(account=account, now=timezone.now())
    strategy = grid_strategy(account.owner, legs=[], pyramid_limit=1, group_tp_pct="50")
    ids = {}
    for symbol in ("ETH/USDT", "BTC/USDT"):
        outcome = act_on_signal(
            account=account,
            strategy=strategy,
            order=signal(symbol=symbol),
            signal_id=None,
            now=timezone.now(),
        )
        ids[symbol] = outcome.group_id
    set_price(symbol="ETH/USDT", price=Decimal("2944.00"))
    set_price(symbol="BTC/USDT", price=Decimal("71500.00"))
    take_profit(now=timezone.now())  # writes the last prices the page shows
    RiskSettings.objects.create(account=account, enabled=False, wait_minutes=0)
    return account, PositionGroup.objects.get(pk=ids["ETH/USDT"]), ids["BTC/USDT"]


def worker_sends_and_ticks():
    """What the worker and beat do next: send the orders Run now wrote, then a risk tick."""
    from apps.positions.models import Order
    from apps.positions.services.orders import send_order
    from apps.risk.services import risk_tick

    for order_id in Order.objects.filter(status="pending").values_list("pk", flat=True):
        send_order(order_id=order_id, now=timezone.now())
    risk_tick(now=timezone.now())


def test_preview_then_run_now_and_the_table_updates_live(page, live_server_url):
    account, loser, winner_id = as_worker(book)
    log_in(page, live_server_url, account.owner.username, PASSWORD)
    page.click("nav[aria-label=Main] >> text=Risk")
    expect(page.locator("h1")).to_have_text("Risk")
    wait_for_live_socket(page)
    loser_row = page.locator(f"#risk-group-{loser.pk}")
    expect(loser_row).to_contain_text("\u22128.05 %")  # bought at the ask, 3201.6
    expect(loser_row).to_contain_text("eligible")
    page.evaluate("window.notReloaded = true")

    page.click("#risk-preview-button")
    preview = page.locator("#risk-preview")
    expect(preview).to_contain_text("Would act:")
    expect(preview).to_contain_text(f"ETH/USDT 15m long #{loser.pk}")
    expect(preview.locator("#risk-preview-winners")).to_contain_text(f"#{winner_id}")
    expect(loser_row).to_be_visible()  # a preview does nothing

    page.click("#risk-run-confirm .confirm-yes")
    expect(page.locator("#risk-run-result")).to_contain_text("executed")

    as_worker(worker_sends_and_ticks)

    expect(loser_row).to_have_count(0)  # closed: it leaves the table without a reload
    actions = page.locator(f"#risk-actions-{account.pk}")
    expect(actions).to_contain_text("Executed")
    expect(actions).to_contain_text(f"#{loser.pk}")
    expect(page.locator(f"#risk-group-{winner_id}")).to_be_visible()  # partly closed
    assert page.evaluate("window.notReloaded") is True
    assert page.csp_violations == []
