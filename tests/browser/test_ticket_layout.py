"""The Desk's ticket in real Chromium: its dropdowns show their longest option at desk width,
it is one column on a phone, and submitting it (save, save as strategy, load, activate, cancel)
reports no CSP violation and no console error, even with its fields styled by an extension."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.accounts.factories import PASSWORD, UserFactory
from tests.browser.conftest import log_in
from tests.browser.layout import (
    NARROW_SELECTS,
    OVERFLOWING,
    screenshot,
    watch_console,
    watch_csp,
)
from tests.browser.test_desk_ticket import build_rule, fill_market, funded_paper_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The ticket's fields and rule cells that share a line with another one.
SIDE_BY_SIDE = """() => [
  ...document.querySelectorAll('#ticket .ticket-grid > .field, #ticket .rule-cell')]
  .filter((cell) => cell.getClientRects().length)
  .filter((cell) => [...cell.parentElement.children].some((other) => other !== cell
    && other.getClientRects().length
    && Math.abs(other.getBoundingClientRect().top - cell.getBoundingClientRect().top) < 4))
  .map((cell) => cell.id || cell.className)"""


def every_rule_built(page: Page, account) -> None:
    """A ticket whose rule rows show their most cells: an EMA entry (period, timeframe, value
    and unit), a fixed stop, a trailing stop and a take profit."""
    fill_market(page, account, "1000")
    build_rule(page, "entry", "last", "crosses_above", "ema")
    build_rule(page, "initial_stop", "last", "at_or_below", "entry_price")
    build_rule(page, "trailing_stop", "last", "retraces_from", "highest")
    build_rule(page, "take_profit", "pnl_pct", "at_or_above", "fixed")


def test_the_ticket_dropdowns_show_their_longest_option_at_desk_width(page, live_server_url):
    trader = UserFactory()
    account = funded_paper_account(trader)
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, live_server_url, trader.username, PASSWORD)
    assert page.evaluate(NARROW_SELECTS, "#ticket select") == []  # the blank rows

    every_rule_built(page, account)

    expect(page.locator('select[name="entry-secondary_timeframe"]')).to_be_visible()
    screenshot(page, "ticket-rules-1440")
    assert page.evaluate(NARROW_SELECTS, "#ticket select") == []
    assert page.evaluate(OVERFLOWING) == []


def test_the_ticket_is_one_column_on_a_phone(page, live_server_url):
    trader = UserFactory()
    account = funded_paper_account(trader)
    errors = watch_console(page)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server_url, trader.username, PASSWORD)

    every_rule_built(page, account)

    screenshot(page, "ticket-390")
    assert page.evaluate(SIDE_BY_SIDE) == []
    assert page.evaluate(NARROW_SELECTS, "#ticket select") == []
    assert page.evaluate(OVERFLOWING) == []
    assert errors == [] and page.csp_violations == []


# What a password manager or an autofill extension does to the fields it decorates: an inline
# style, set through the CSSOM (which the CSP allows). htmx used to copy it onto each swapped-in
# element with setAttribute("style"), which the CSP refuses: one violation per field, per submit.
DECORATE_FIELDS = """() => document.querySelectorAll('#ticket input[id], #ticket select[id]')
  .forEach((field) => { field.style.backgroundPosition = '98% 50%'; })"""


@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)])
def test_submitting_the_ticket_reports_no_csp_violation_nor_console_error(
    page, live_server_url, width, height
):
    trader = UserFactory()
    account = funded_paper_account(trader)
    violations = watch_csp(page)
    errors = watch_console(page)
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server_url, trader.username, PASSWORD)
    every_rule_built(page, account)
    page.fill('input[name="entry-secondary_period"]', "21")
    page.select_option('select[name="entry-secondary_timeframe"]', "15m")
    page.fill('input[name="entry-value"]', "0.2")
    page.select_option('select[name="entry-unit"]', "percent")
    page.fill('input[name="initial_stop-value"]', "-2")
    page.select_option('select[name="initial_stop-unit"]', "percent")
    page.fill('input[name="trailing_stop-value"]', "1.5")
    page.select_option('select[name="trailing_stop-unit"]', "percent")
    page.fill('input[name="take_profit-value"]', "3")
    notice = page.locator("#ticket-notice")
    found = {}

    def submit(step: str, button: str, expected: str) -> None:
        page.evaluate(DECORATE_FIELDS)
        page.click(button)
        expect(notice).to_contain_text(expected)
        found[step] = list(violations) + list(errors)
        violations.clear()
        errors.clear()

    submit("save", "button[name=action][value=save]", "saved")
    page.fill("#id_strategy_name", "EMA cross, 2 % stop")
    submit("save as strategy", "button[name=action][value=save_strategy]", "EMA cross, 2 % stop")
    page.evaluate(DECORATE_FIELDS)
    page.select_option("#strategy-picker", label="EMA cross, 2 % stop")
    page.click("#strategy-load-button")
    expect(notice).to_contain_text("loaded into the ticket")
    expect(page.locator('input[name="entry-value"]')).to_have_value("0.2")
    found["load strategy"] = list(violations) + list(errors)
    violations.clear()
    submit("activate", "button[name=action][value=activate]", "activated")
    submit("cancel", "button[name=action][value=cancel]", "ancel")

    screenshot(page, f"ticket-submitted-{width}")
    assert {step: problems for step, problems in found.items() if problems} == {}
    assert page.csp_violations == []
