"""A trader adds a paper account, tests it, previews an order and watches the portfolio live."""

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.exchanges import services
from apps.exchanges.adapters.paper import PaperExchange
from apps.exchanges.domain.precision import round_price
from apps.exchanges.domain.types import OrderSide, OrderType
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.paper.services import current_price
from tests.accounts.factories import PASSWORD, UserFactory
from tests.browser.conftest import as_worker, log_in, wait_for_live_socket
from tests.figures import figure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_add_a_paper_account_test_it_and_preview_an_order(page, live_server_url):
    trader = UserFactory()
    log_in(page, live_server_url, trader.username, PASSWORD)
    page.click("text=Settings")
    page.click("text=Manage exchange accounts")
    page.click("text=Add an account")
    page.fill("#id_label", "Paper")
    page.select_option("#id_kind", "paper")
    page.click("button:has-text('Add account')")
    expect(page.locator("h1")).to_contain_text("Paper")

    page.click("button:has-text('Test connection')")
    expect(page.locator("#connection-result")).to_contain_text("Connected:")

    page.fill("#order-preview #id_symbol", "BTC/USDT")
    page.select_option("#order-preview #id_type", "limit")
    page.fill("#order-preview #id_size", "0.0012345")
    page.fill("#order-preview #id_price", "30000.123")
    page.click("button:has-text('Preview')")
    expect(page.locator("#preview-result")).to_have_text(
        "Would send: limit buy 0.00123 BTC (BTC/USDT) at 30,000.12 USDT = 36.90 USDT."
    )
    page.fill("#order-preview #id_size", "0.00001")
    page.click("button:has-text('Preview')")
    expect(page.locator("#preview-result")).to_contain_text("is below the 5 USDT minimum")
    assert page.csp_violations == []


def test_the_desk_portfolio_updates_live_when_funds_are_committed(page, live_server_url):
    trader = UserFactory()
    account = services.create_account(owner=trader, label="Paper", kind="paper")
    services.check_connection(account=account)
    log_in(page, live_server_url, trader.username, PASSWORD)
    portfolio = page.locator(f"#portfolio-{account.pk}")
    expect(portfolio.locator(".buying-power")).to_have_text("10,000.00 USDT")
    wait_for_live_socket(page)
    page.evaluate("window.notReloaded = true")

    def commit_funds_to_a_resting_buy():
        limit = round_price(current_price("BTC/USDT") * Decimal("0.5"), Decimal("0.01"))
        PaperExchange(ExchangeAccount.objects.get(pk=account.pk)).create_order(
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            type=OrderType.LIMIT,
            amount=Decimal("0.01"),
            price=limit,
            client_order_id="browser-1",
        )
        services.refresh_balances(account=account, now=timezone.now())
        return limit

    limit = as_worker(commit_funds_to_a_resting_buy)

    expected = Decimal("10000") - Decimal("0.01") * limit
    expect(portfolio.locator(".buying-power")).to_have_text(figure(expected, 2, "USDT"))
    assert page.evaluate("window.notReloaded") is True
