"""The strategy grid editor in real Chromium: legs added and removed without a save, the
preview of the legs a first pyramid would place following each edit, and the saved grid
being exactly the one shown; at desk and phone widths, under the strict CSP."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import pytest
from playwright.sync_api import Page, expect

from apps.strategies.models import Strategy
from tests.accounts.factories import PASSWORD, UserFactory
from tests.browser.conftest import log_in
from tests.browser.layout import ARTIFACTS, OVERFLOWING, watch_console
from tests.browser.test_desk_ticket import funded_paper_account
from tests.tickets.factories import StrategyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TYPED_PRICE = Decimal("64999.99")


def leg_price(gap: str) -> str:
    """By hand: the typed price less the gap, half-up to binance's 0.01 tick."""
    price = (TYPED_PRICE * (1 - Decimal(gap) / 100)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"{price:,}"  # as the page writes it: the tick's places, separators


def leg_amount(gap: str, weight: str) -> str:
    """100 USDT × weight at the leg's price, down to the 0.00001 BTC step."""
    amount = Decimal(100) * Decimal(weight) / 100 / Decimal(leg_price(gap).replace(",", ""))
    return f"{amount.quantize(Decimal('0.00001'), ROUND_DOWN)} BTC"


def fill_leg(page: Page, index: int, gap: str, weight: str, tp: str) -> None:
    page.fill(f'input[name="legs-{index}-gap_pct"]', gap)
    page.fill(f'input[name="legs-{index}-weight_pct"]', weight)
    page.fill(f'input[name="legs-{index}-tp_pct"]', tp)


def preview_cell(page: Page, leg: int, column: int):
    return page.locator(f"#preview-leg-{leg} td:nth-child({column})")


@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)])
def test_adding_and_removing_legs_updates_the_preview_and_saves_what_it_shows(
    page, live_server_url, width, height
):
    trader = UserFactory()
    funded_paper_account(trader)
    strategy = StrategyFactory(
        owner=trader,
        name="Dip buyer",
        sizing_value=Decimal("100"),
        dca_legs=[{"gap_pct": "0", "weight_pct": "100", "tp_pct": "1"}],
    )
    errors = watch_console(page)
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server_url, trader.username, PASSWORD)
    page.goto(f"{live_server_url}/settings/strategies/{strategy.pk}/")
    page.evaluate("window.notReloaded = true")

    # The script drops the spare blank rows and offers Add leg instead.
    rows = page.locator("#grid-legs tbody tr")
    expect(rows).to_have_count(1)
    expect(page.locator("#preview-legs tbody tr")).to_have_count(1)
    page.fill("#id_preview_price", str(TYPED_PRICE))
    fill_leg(page, 0, "0", "40", "1")
    page.click("[data-grid-add]")
    fill_leg(page, 1, "1.5", "30", "2")
    page.click("[data-grid-add]")
    fill_leg(page, 2, "3.333", "30", "2.5")
    expect(rows).to_have_count(3)
    expect(page.locator("#preview-legs tbody tr")).to_have_count(3)
    expect(preview_cell(page, 2, 2)).to_have_text(leg_price("3.333"))

    page.locator("#leg-row-1 [data-grid-remove]").click()
    expect(rows).to_have_count(2)
    expect(page.locator('input[name="legs-1-gap_pct"]')).to_have_value("3.333")
    assert page.input_value("#id_legs-TOTAL_FORMS") == "2"
    expect(page.locator("#preview-errors")).to_contain_text(
        "The weights add up to 70 %; they must add up to exactly 100 %."
    )
    expect(page.locator("#preview-legs")).to_have_count(0)

    page.fill('input[name="legs-1-weight_pct"]', "60")
    expect(page.locator("#preview-legs tbody tr")).to_have_count(2)
    expect(page.locator("#preview-errors")).to_have_count(0)
    expect(preview_cell(page, 0, 2)).to_have_text(leg_price("0"))
    expect(preview_cell(page, 1, 2)).to_have_text(leg_price("3.333"))  # 62833.54
    expect(preview_cell(page, 1, 3)).to_have_text(leg_amount("3.333", "60"))
    expect(page.locator("#preview-summary")).to_contain_text("At your price of 64,999.99 USDT")
    assert page.evaluate("window.notReloaded") is True  # no save round trip so far
    assert Strategy.objects.get(pk=strategy.pk).dca_legs == strategy.dca_legs

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"strategy-grid-{width}.png"), full_page=True)
    assert page.evaluate(OVERFLOWING) == []

    page.click("button[name=action][value=save]")
    expect(page.locator(".messages")).to_contain_text("Strategy Dip buyer saved.")
    assert Strategy.objects.get(pk=strategy.pk).dca_legs == [
        {"gap_pct": "0", "weight_pct": "40", "tp_pct": "1"},
        {"gap_pct": "3.333", "weight_pct": "60", "tp_pct": "2.5"},
    ]
    expect(rows).to_have_count(2)

    # Every leg removed: no headers over nothing, but what an empty grid does and what to do.
    expect(page.locator("#grid-empty")).to_be_hidden()
    page.locator("#leg-row-1 [data-grid-remove]").click()
    page.locator("#leg-row-0 [data-grid-remove]").click()
    expect(page.locator("#grid-empty")).to_be_visible()
    expect(page.locator("#grid-empty")).to_contain_text("No legs: each pyramid buys at market")
    expect(page.locator("#grid-legs")).to_be_hidden()
    page.click("[data-grid-add]")
    expect(page.locator("#grid-empty")).to_be_hidden()
    expect(page.locator("#grid-legs")).to_be_visible()
    assert errors == [], "\n".join(errors)
    assert page.csp_violations == []


def test_without_javascript_the_spare_rows_check_and_save_the_grid(browser, live_server_url):
    trader = UserFactory()
    funded_paper_account(trader)
    strategy = StrategyFactory(owner=trader, name="Dip buyer", sizing_value=Decimal("100"))
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_server_url, trader.username, PASSWORD)
        page.goto(f"{live_server_url}/settings/strategies/{strategy.pk}/")
        expect(page.locator("#grid-legs tbody tr")).to_have_count(3)  # the spare rows
        expect(page.locator("[data-grid-add]")).to_be_hidden()
        fill_leg(page, 0, "0", "50", "1")
        fill_leg(page, 1, "2", "50", "1.5")
        page.click("button[name=action][value=preview]")
        expect(page.locator("#preview-leg-1 td:nth-child(2)")).to_have_text("63,700.00")
        assert Strategy.objects.get(pk=strategy.pk).dca_legs == []
        page.click("button[name=action][value=save]")
        expect(page.locator(".messages")).to_contain_text("Strategy Dip buyer saved.")
        assert Strategy.objects.get(pk=strategy.pk).dca_legs == [
            {"gap_pct": "0", "weight_pct": "50", "tp_pct": "1"},
            {"gap_pct": "2", "weight_pct": "50", "tp_pct": "1.5"},
        ]
    finally:
        context.close()
