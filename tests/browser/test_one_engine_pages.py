"""One list of positions in real Chromium: a ticket's position and a signal's are listed
together on the Desk and on Positions, and the kill switch closes both."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.positions.models import Order, PositionGroup
from apps.tickets.models import Trade
from tests.accounts.factories import PASSWORD, UserFactory
from tests.browser.conftest import as_worker, log_in, wait_for_live_socket
from tests.browser.test_desk_ticket import funded_paper_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_both(account) -> tuple[Trade, PositionGroup]:
    """A ticket whose immediate entry opened its position, and an entry signal's position."""
    from apps.positions.services import act_on_signal
    from apps.tickets.services import activate_ticket, evaluate_rules
    from tests.positions.grouping import grid_strategy, signal
    from tests.tickets.conftest import STOP_2_PCT, ticket

    activation = activate_ticket(
        user=account.owner,
        ticket=ticket(account, initial_stop=STOP_2_PCT),
        trade=None,
        now=timezone.now(),
    )
    evaluate_rules(now=timezone.now())
    strategy = grid_strategy(account.owner, legs=[], pyramid_limit=1, group_tp_pct="50")
    outcome = act_on_signal(
        account=account,
        strategy=strategy,
        order=signal(timeframe="60"),
        signal_id=None,
        now=timezone.now(),
    )
    assert outcome.decision == "executed", outcome.reason
    return Trade.objects.get(pk=activation.trade.pk), PositionGroup.objects.get(pk=outcome.group_id)


def send_what_was_written() -> None:
    """The worker's tasks: the cancels asked for (a resting stop is cancelled before its
    position's close sells), then the orders written and not sent yet."""
    from apps.positions.services.cancels import cancel_order
    from apps.positions.services.orders import send_order

    live = Order.objects.filter(status__in=Order.LIVE, cancel_requested_at__isnull=False)
    for order_id in live.values_list("pk", flat=True):
        cancel_order(order_id=order_id, now=timezone.now())
    for order_id in Order.objects.filter(status="pending").values_list("pk", flat=True):
        send_order(order_id=order_id, now=timezone.now())


def test_the_desk_and_positions_list_both_and_the_kill_switch_closes_both(page, live_server_url):
    trader = UserFactory()
    account = funded_paper_account(trader)
    trade, from_signal = as_worker(open_both, account)
    from_ticket = trade.position
    assert from_ticket.status == from_signal.status == PositionGroup.Status.OPEN
    log_in(page, live_server_url, trader.username, PASSWORD)

    # The Desk: one list of open positions, whoever opened them, and the header counts both.
    desk = page
    rows = desk.locator("#desk-positions tbody tr.group")
    expect(rows).to_have_count(2)
    expect(desk.locator(f"#desk-group-{from_ticket.pk}")).to_contain_text(f"ticket #{trade.pk}")
    # TradingView's "60", as traders write it.
    expect(desk.locator(f"#desk-group-{from_signal.pk}")).to_contain_text("signal · 1h")
    expect(desk.locator(f"#trade-{trade.pk}")).to_contain_text(f"position #{from_ticket.pk}")
    expect(desk.locator("#figure-positions .figure-value")).to_have_text("2")
    expect(desk.locator("#desk-positions tfoot")).to_contain_text("Total · 2 positions in USDT")
    wait_for_live_socket(desk)
    desk.evaluate("window.notReloaded = true")

    # Positions, in a second tab: the same two, in the same table.
    page = desk.context.new_page()
    page.csp_violations = []
    page.goto(f"{live_server_url}/positions/")
    expect(page.locator("#positions-table tr.group")).to_have_count(2)
    expect(page.locator(f"#group-{from_ticket.pk}")).to_contain_text("Open")
    expect(page.locator(f"#group-{from_signal.pk}")).to_contain_text("Open")
    wait_for_live_socket(page)
    page.evaluate("window.notReloaded = true")

    # The kill switch, in a second tab: it asks first, listing both, then closes both.
    risk = page.context.new_page()
    risk.goto(f"{live_server_url}/risk/")
    risk.click("#kill-switch-button")
    plan = risk.locator("#kill-confirm")
    expect(plan).to_contain_text("Closes 2 positions at market, from tickets and signals")
    expect(plan).to_contain_text(f"(ticket #{trade.pk}) #{from_ticket.pk}")
    expect(plan).to_contain_text(f"BTC/USDT 1h long #{from_signal.pk}")
    risk.locator("#kill-confirm button.confirm-yes").click()
    expect(risk.locator("body")).to_contain_text("Kill switch engaged on Paper")
    as_worker(send_what_was_written)  # the worker sends the two market sells

    for position in (from_ticket, from_signal):
        position.refresh_from_db()
        assert (position.status, position.exit_reason) == ("closed", Order.Purpose.KILL_SWITCH)
        assert position.quantity < Decimal("0.00001")  # sold, but the dust below the step
    trade.refresh_from_db()
    assert trade.status == Trade.Status.CLOSED
    # The Positions tab saw both close live, without a reload.
    expect(page.locator(f"#group-{from_ticket.pk}")).to_contain_text("Closed")
    expect(page.locator(f"#group-{from_signal.pk}")).to_contain_text("Closed")
    assert page.evaluate("window.notReloaded") is True
    # The Desk saw both leave its list and its header, live.
    expect(desk.locator("#desk-positions tbody tr.group")).to_have_count(0)
    expect(desk.locator("#figure-positions .figure-value")).to_have_text("0")
    expect(desk.locator("#figure-guards .figure-value")).to_have_text("Kill switch on")
    assert desk.evaluate("window.notReloaded") is True
    assert desk.csp_violations == []
