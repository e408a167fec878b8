"""The Positions page in real Chromium: a group opened by a signal appears live, its row
expands to the pyramids and legs, and a fill updates the row without a reload."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD
from tests.browser.conftest import as_worker, log_in, wait_for_live_socket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def paper_account():
    from apps.exchanges.paper.services import open_paper_account, set_price
    from apps.exchanges.services import refresh_balances, refresh_markets
    from tests.exchanges.factories import ExchangeAccountFactory

    account = ExchangeAccountFactory(kind="paper", label="Paper")
    open_paper_account(account=account, initial_balance=Decimal("10000"))
    set_price(symbol="BTC/USDT", price=Decimal("65000.00"))
    refresh_markets(account=account, now=timezone.now())
    refresh_balances(account=account, now=timezone.now())
    return account


def entry(account):
    from apps.positions.services import act_on_signal
    from tests.positions.grouping import grid_strategy, signal

    return act_on_signal(
        account=account,
        strategy=grid_strategy(account.owner),
        order=signal(),
        signal_id=None,
        now=timezone.now(),
    )


def dip_and_sync():
    from apps.exchanges.paper.services import set_price
    from apps.positions.services.orders import sync_orders

    set_price(symbol="BTC/USDT", price=Decimal("63700.00"))
    sync_orders(now=timezone.now())


def test_a_new_group_appears_live_expands_to_its_legs_and_updates_on_a_fill(page, live_server_url):
    account = as_worker(paper_account)
    log_in(page, live_server_url, account.owner.username, PASSWORD)
    page.click("nav[aria-label=Main] >> text=Positions")
    expect(page.locator("h1")).to_have_text("Positions")
    wait_for_live_socket(page)
    expect(page.locator("#positions-table tr.empty")).to_be_visible()
    page.evaluate("window.notReloaded = true")

    outcome = as_worker(entry, account)

    row = page.locator(f"#group-{outcome.group_id}")
    expect(row).to_contain_text("BTC/USDT")
    expect(row).to_contain_text("1 / 3")  # leg 0 filled at market, two resting
    expect(page.locator("#positions-table tr.empty")).to_be_hidden()

    row.locator("a.expand").click()
    detail = page.locator(f"#group-{outcome.group_id}-detail")
    expect(detail).to_contain_text("Pyramid 1")
    expect(detail.locator("tr.leg")).to_have_count(3)
    expect(detail.locator("tr.leg.status-working")).to_have_count(2)

    as_worker(dip_and_sync)

    expect(row).to_contain_text("2 / 3")
    expect(row).to_contain_text("0.01083915")  # both legs held, net of their fees in BTC
    assert page.evaluate("window.notReloaded") is True
    assert page.csp_violations == []
