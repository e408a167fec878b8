"""A trader builds a rule-based ticket on the Desk, activates it and watches it trade live."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from apps.core.models import Event
from apps.exchanges.models import ExchangeAccount, PaperSettings
from apps.exchanges.paper.services import open_paper_account, set_price
from apps.exchanges.services import refresh_balances, refresh_markets
from apps.positions.models import Order
from apps.tickets.models import CandleValue, Trade
from apps.tickets.services import activate_ticket, evaluate_rules
from tests.accounts.factories import PASSWORD, UserFactory
from tests.browser.conftest import as_worker, log_in, wait_for_live_socket
from tests.exchanges.factories import ExchangeAccountFactory
from tests.figures import figure
from tests.tickets.conftest import BTC, STOP_2_PCT, TAKE_3_PCT, ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEN = Decimal(10)


# --- Setup and the engine, run as a worker would (off Playwright's event loop) ---------------


def funded_paper_account(owner) -> ExchangeAccount:
    """10000 USDT, fresh markets and balances, no slippage, 0.1 % fees, BTC/USDT at 65000."""

    def open_account() -> ExchangeAccount:
        account = ExchangeAccountFactory(owner=owner, label="Paper", kind="paper")
        open_paper_account(account=account, initial_balance=Decimal("10000"))
        PaperSettings.objects.filter(account=account).update(slippage_rate=Decimal(0))
        set_price(symbol=BTC, price=Decimal("65000.00"))
        now = timezone.now()
        refresh_markets(account=account, now=now)
        refresh_balances(account=account, now=now)
        return account

    return as_worker(open_account)


def tick_at(price: Decimal) -> None:
    """Move the paper price, then run one rules tick (an order it places is sent at once)."""

    def move_and_tick() -> None:
        set_price(symbol=BTC, price=price)
        evaluate_rules(now=timezone.now())

    as_worker(move_and_tick)


def to_tens(price: Decimal, rounding: str) -> Decimal:
    return (price / TEN).quantize(Decimal(1), rounding=rounding) * TEN


# --- The ticket, driven through its dropdowns ----------------------------------------------


def pick(page: Page, kind: str, field: str, value: str) -> None:
    """Pick in a narrowing select and wait for htmx to re-render its row with the choices left."""
    page.locator(f"#rule-{kind}").evaluate("row => { row.dataset.picking = 'yes'; }")
    page.select_option(f'select[name="{kind}-{field}"]', value)
    expect(page.locator(f"#rule-{kind}[data-picking]")).to_have_count(0)
    expect(page.locator(f'select[name="{kind}-{field}"]')).to_have_value(value)


def build_rule(page: Page, kind: str, primary: str, condition: str, secondary: str) -> None:
    pick(page, kind, "primary", primary)
    expect(
        page.locator(f'select[name="{kind}-condition"] option[value="{condition}"]')
    ).to_have_count(1)
    pick(page, kind, "condition", condition)
    expect(
        page.locator(f'select[name="{kind}-secondary"] option[value="{secondary}"]')
    ).to_have_count(1)
    pick(page, kind, "secondary", secondary)


def fill_market(page: Page, account: ExchangeAccount, sizing_value: str) -> None:
    page.select_option("#id_account", str(account.pk))
    expect(page.locator(f'#symbol-options option[value="{BTC}"]')).to_have_count(1)
    page.fill("#id_symbol", BTC)
    page.select_option("#id_sizing_kind", "quote")
    page.fill("#id_sizing_value", sizing_value)


def record_csp_violation(page: Page, message) -> None:
    """What the `page` fixture records, for a second tab of the same trader."""
    if "Content Security Policy" in message.text:
        page.csp_violations.append(message.text)


def status_cell(page: Page, trade: Trade):
    return page.locator(f"#trade-{trade.pk} td.trade-status")


def test_a_ticket_built_in_the_browser_enters_and_takes_profit_live(page, live_server_url):
    trader = UserFactory()
    account = funded_paper_account(trader)
    log_in(page, live_server_url, trader.username, PASSWORD)

    fill_market(page, account, "1000")
    build_rule(page, "entry", "last", "crosses_above", "ema")
    page.fill('input[name="entry-secondary_period"]', "21")
    page.select_option('select[name="entry-secondary_timeframe"]', "15m")
    page.fill('input[name="entry-value"]', "0.2")
    page.select_option('select[name="entry-unit"]', "percent")
    build_rule(page, "initial_stop", "last", "at_or_below", "entry_price")
    page.fill('input[name="initial_stop-value"]', "-2")
    page.select_option('select[name="initial_stop-unit"]', "percent")
    build_rule(page, "trailing_stop", "last", "retraces_from", "highest")
    page.fill('input[name="trailing_stop-value"]', "1.5")
    page.select_option('select[name="trailing_stop-unit"]', "percent")
    build_rule(page, "take_profit", "pnl_pct", "at_or_above", "fixed")
    page.fill('input[name="take_profit-value"]', "3")
    page.click("button[name=action][value=activate]")

    expect(page.locator("#ticket-notice")).to_contain_text(
        "activated: every check passed; waiting for the entry rule"
    )
    trade = Trade.objects.get(owner=trader)
    assert trade.status == Trade.Status.PENDING
    assert trade.revision.rules == {
        "entry": {
            "primary": {"source": "last"},
            "condition": "crosses_above",
            "secondary": {"source": "ema", "period": 21, "timeframe": "15m"},
            "value": "0.2",
            "unit": "percent",
        },
        "initial_stop": {
            "primary": {"source": "last"},
            "condition": "at_or_below",
            "secondary": {"source": "entry_price"},
            "value": "-2",
            "unit": "percent",
        },
        "trailing_stop": {
            "primary": {"source": "last"},
            "condition": "retraces_from",
            "secondary": {"source": "highest"},
            "value": "1.5",
            "unit": "percent",
        },
        "take_profit": {
            "primary": {"source": "pnl_pct"},
            "condition": "at_or_above",
            "secondary": {"source": "fixed"},
            "value": "3",
            "unit": "number",
        },
    }
    row = page.locator(f"#trade-{trade.pk}")
    expect(status_cell(page, trade)).to_have_text("Active / Pending")
    expect(page.locator("#ticket-state")).to_contain_text("Revision 1 is running")
    wait_for_live_socket(page)
    page.evaluate("window.notReloaded = true")

    # Activation computed EMA(21, 15m) into the indicator cache; nothing refreshes it during the
    # test (the market-data loop does not run), so the entry threshold stays put.
    ema = CandleValue.objects.get(
        account=account, symbol=BTC, source="ema", period=21, timeframe="15m"
    ).value
    threshold = ema * Decimal("1.002")
    below = to_tens(threshold, ROUND_FLOOR) - 20
    tick_at(below)  # below the threshold: nothing to cross from yet
    last = row.locator(f"#trade-{trade.pk}-last")
    expect(last).to_have_text(figure(below, 2, "USDT"))  # on the tick
    expect(status_cell(page, trade)).to_have_text("Active / Pending")
    entry = to_tens(threshold, ROUND_CEILING) + 10
    tick_at(entry)  # crosses above: the entry fires and the market buy fills at once

    expect(status_cell(page, trade)).to_have_text("Open")
    # The loaded ticket's badge follows its row, live.
    expect(page.locator("#ticket-title [data-trade-status]")).to_have_text("Open")
    trade.refresh_from_db()
    assert trade.position.average_entry == entry
    # The same position is in the Desk's one list of open positions, opened by the ticket, at
    # its average entry on the tick.
    position_row = page.locator(f"#desk-group-{trade.position.pk}")
    expect(position_row).to_contain_text(f"ticket #{trade.pk}")
    expect(position_row).to_contain_text(figure(entry, 2, "USDT"))
    expect(page.locator("#figure-positions .figure-value")).to_have_text("1")  # the header, live

    halfway = entry * Decimal("1.015")  # +1.5 %: take profit not met; exact on a multiple of 10
    tick_at(halfway)
    expect(row.locator(f"#trade-{trade.pk}-last")).to_have_text(figure(halfway, 2, "USDT"))
    expect(row.locator("td.pnl")).to_contain_text("(+1.50 %)")
    expect(status_cell(page, trade)).to_have_text("Open")

    # The trade's page, open in a second tab, receives its timeline live too.
    trade_page = page.context.new_page()
    trade_page.on("console", lambda message: record_csp_violation(page, message))
    trade_page.goto(f"{live_server_url}/trades/{trade.pk}/")
    wait_for_live_socket(trade_page)
    trade_page.evaluate("window.notReloaded = true")
    # The kind in words, its code as the cell's title.
    live_steps = trade_page.locator("#timeline tr.event td:nth-child(3)")
    expect(live_steps.last).to_have_text("Trade rule evaluated")
    expect(live_steps.last).to_have_attribute("title", "trade.rule_evaluated")

    tick_at(entry * Decimal("1.035"))  # +3.5 %: take profit; the market sell fills at once

    expect(status_cell(page, trade)).to_have_text("Closed")
    trade.refresh_from_db()
    position = trade.position
    assert position.exit_reason == Order.Purpose.TAKE_PROFIT
    assert position.realised_pnl > 0
    realised = position.realised_pnl.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    # A closed row shows what was sold and the realised PnL instead of an unrealised one.
    expect(row.locator(".trade-size")).to_have_text(figure(position.exit_quantity, 5, "BTC"))
    expect(row.locator("td.pnl")).to_have_text(f"realised +{realised} USDT")
    expect(row.locator("td.pnl")).to_have_class("num pnl gain")
    assert page.evaluate("window.notReloaded") is True
    expect(live_steps.last).to_have_attribute("title", "position.closed")
    expect(live_steps.nth(-3)).to_have_attribute("title", "trade.take_profit_hit")
    assert trade_page.evaluate("window.notReloaded") is True
    trade_page.close()

    row.locator("a.trade-details").click()
    expect(page.locator("#trade-status")).to_contain_text("Closed")
    expect(page.locator("#trade-facts")).to_contain_text(f"{realised} USDT")
    timeline = page.locator("#timeline tr.event")
    kinds = timeline.locator("td:nth-child(3)").evaluate_all("cells => cells.map(c => c.title)")
    messages = timeline.locator("td:nth-child(4)").all_inner_texts()
    steps = [
        ("trade.saved", "Ticket saved: long BTC/USDT on Paper"),
        # The reference price on the market's 0.01 tick, as every page writes a price.
        ("trade.activated", f"BTC at {figure(threshold, 2)} passes precision and minimums"),
        ("trade.rule_evaluated", "EMA(21, 15m) | +0.2 %: not met"),
        ("trade.entry_triggered", "Entry rule met"),
        ("trade.entry_filled", "Entry filled: 0.01"),
        ("trade.take_profit_hit", "Take profit: Unrealised PnL % | is at or above"),
        ("group.sold", "Take profit order filled"),
        ("position.closed", "Position closed (take profit): realised"),
    ]
    found = iter(zip(kinds, messages, strict=True))
    for kind, text in steps:
        assert any(k == kind and text in m for k, m in found), (kind, text, kinds)
    assert page.csp_violations == []


def test_a_refused_activation_marks_the_field_and_activates_nothing(page, live_server_url):
    trader = UserFactory()
    account = funded_paper_account(trader)
    log_in(page, live_server_url, trader.username, PASSWORD)

    # Portfolio ticked, with an entry the account cannot pay for.
    fill_market(page, account, "20000")
    page.check("#id_portfolio")
    page.click("button[name=action][value=activate]")

    expect(page.locator("#error-portfolio")).to_have_text(
        "Needs 20019.84985 USDT including 0.1 % fees; 10000 USDT is free."
    )
    expect(page.locator("#ticket-notice")).to_have_text(
        "Activation refused: see the marked fields. Nothing was activated."
    )
    trade = Trade.objects.get(owner=trader)
    expect(status_cell(page, trade)).to_have_text("Rejected")
    assert trade.status == Trade.Status.REJECTED

    # Affordable now, but with an initial stop above the entry: refused on the stop's row.
    page.fill("#id_sizing_value", "1000")
    page.uncheck("#id_portfolio")
    build_rule(page, "initial_stop", "last", "at_or_below", "fixed")
    page.fill('input[name="initial_stop-value"]', "70000")
    page.click("button[name=action][value=activate]")

    expect(page.locator("#problem-initial_stop")).to_have_text(
        "Initial stop at 70000 must be below the entry at 65000."
    )
    expect(page.locator("#rule-initial_stop")).to_have_class("rule-row invalid")
    expect(page.locator("#error-portfolio")).to_have_count(0)
    expect(page.locator("#ticket-notice")).to_contain_text("Nothing was activated.")
    expect(status_cell(page, trade)).to_have_text("Rejected")

    as_worker(evaluate_rules, now=timezone.now())  # the rules loop leaves a rejected ticket alone
    trade.refresh_from_db()
    assert (Trade.objects.filter(owner=trader).count(), trade.status) == (
        1,
        Trade.Status.REJECTED,
    )
    assert trade.errors == {
        "initial_stop": "Initial stop at 70000 must be below the entry at 65000."
    }
    assert trade.position_or_none is None
    assert not Order.objects.filter(account=account).exists()
    assert page.csp_violations == []


def test_modify_keeps_the_running_revision_until_the_new_one_is_activated(page, live_server_url):
    trader = UserFactory()
    account = funded_paper_account(trader)

    def open_a_trade() -> Trade:
        """Take profit at +3 %; the immediate entry fills at 65000 on the first tick."""
        new = ticket(account, initial_stop=STOP_2_PCT, take_profit=TAKE_3_PCT)
        activation = activate_ticket(user=trader, ticket=new, trade=None, now=timezone.now())
        evaluate_rules(now=timezone.now())
        return Trade.objects.get(pk=activation.trade.pk)

    trade = as_worker(open_a_trade)
    assert (trade.status, trade.position.average_entry) == (Trade.Status.OPEN, Decimal("65000"))
    log_in(page, live_server_url, trader.username, PASSWORD)
    wait_for_live_socket(page)
    page.evaluate("window.notReloaded = true")
    row = page.locator(f"#trade-{trade.pk}")
    expect(status_cell(page, trade)).to_have_text("Open")

    row.locator("a.load-trade").click()
    expect(page.locator("#ticket-state")).to_have_text(
        "Revision 1 is running. Modify to edit a new revision; it takes over only when "
        "you Activate it."
    )
    expect(page.locator('input[name="take_profit-value"]')).to_be_disabled()
    page.click("button[name=action][value=modify]")
    expect(page.locator("#ticket-notice")).to_have_text("Revision 2 opened for editing.")
    expect(page.locator("#ticket-state")).to_have_text(
        "Editing revision 2; revision 1 keeps running until you Activate."
    )
    page.fill('input[name="take_profit-value"]', "5")
    page.click("button[name=action][value=save]")
    expect(page.locator("#ticket-notice")).to_have_text(
        "Revision 2 saved; revision 1 keeps running until you Activate."
    )

    tick_at(Decimal("66000.00"))  # revision 1 is what the rules loop evaluates meanwhile
    expect(row.locator(f"#trade-{trade.pk}-last")).to_have_text("66,000.00 USDT")
    trade.refresh_from_db()
    assert (trade.revision.number, trade.next_revision.number) == (1, 2)
    assert trade.next_revision.rules["take_profit"]["value"] == "5"
    assert trade.position.rule_state["take_profit"]["outcome"] == "not met"
    assert Event.objects.filter(
        subject_type="positions.positiongroup",
        subject_id=str(trade.position.pk),
        kind="trade.rule_evaluated",
        message__startswith="Unrealised PnL % | is at or above | Fixed value | 3: not met",
    ).exists()

    page.click("button[name=action][value=activate]")
    expect(page.locator("#ticket-notice")).to_have_text("Revision 2 is now running.")
    expect(page.locator("#ticket-state")).to_contain_text("Revision 2 is running.")
    expect(page.locator("#ticket-title [data-trade-status]")).to_have_text("Open")
    trade.refresh_from_db()
    assert (trade.revision.number, trade.next_revision) == (2, None)
    trade.position.refresh_from_db()
    assert trade.position.exit_rules["take_profit"]["value"] == "5"  # swapped in at once

    tick_at(Decimal("67000.00"))  # +3.08 %: revision 1 would have taken profit here
    trade.refresh_from_db()
    assert trade.status == Trade.Status.OPEN
    expect(row.locator(f"#trade-{trade.pk}-last")).to_have_text("67,000.00 USDT")
    expect(status_cell(page, trade)).to_have_text("Open")
    tick_at(Decimal("68250.00"))  # +5 %: revision 2's take profit
    expect(status_cell(page, trade)).to_have_text("Closed")
    trade.refresh_from_db()
    assert trade.position.exit_reason == Order.Purpose.TAKE_PROFIT
    assert page.evaluate("window.notReloaded") is True
    assert page.csp_violations == []
