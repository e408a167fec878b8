"""Activation: each failing check blocks it with its message on its field; Modify keeps the
running revision working until the new one is activated."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.exchanges.models import ExchangeAccount, Market
from apps.exchanges.paper.services import set_price
from apps.positions.models import Order
from apps.tickets.models import CandleValue, Trade
from apps.tickets.services import (
    activate_ticket,
    discard_revision,
    evaluate_rules,
    modify_trade,
    save_ticket,
)
from tests.tickets.conftest import BTC, STOP_2_PCT, TAKE_3_PCT, ticket

pytestmark = pytest.mark.django_db


def activate(account, trade=None, **kw):
    return activate_ticket(
        user=account.owner, ticket=ticket(account, **kw), trade=trade, now=timezone.now()
    )


def assert_rejected(activation, field: str, message: str) -> None:
    assert not activation.ok
    assert field in activation.plan.problems, activation.plan.problems
    assert message in activation.plan.problems[field]
    trade = Trade.objects.get(pk=activation.trade.pk)
    assert trade.status == Trade.Status.REJECTED
    assert message in trade.errors[field]
    assert not Order.objects.filter(group__trade=trade).exists()


def test_a_stop_above_the_entry_is_refused(paper):
    stop_above = {**STOP_2_PCT, "value": "1"}
    activation = activate(paper, initial_stop=stop_above)
    assert_rejected(activation, "initial_stop", "must be below the entry")


def test_a_take_profit_below_the_entry_is_refused(paper):
    take_below = {
        "primary": "last",
        "condition": "at_or_above",
        "secondary": "fixed",
        "value": "60000",
    }
    activation = activate(paper, take_profit=take_below)
    assert_rejected(activation, "take_profit", "must be above the entry")


def test_a_loss_as_take_profit_is_refused(paper):
    activation = activate(paper, take_profit={**TAKE_3_PCT, "value": "-1"})
    assert_rejected(activation, "take_profit", "must be at a profit")


def test_an_order_below_min_notional_is_refused(paper):
    activation = activate(paper, sizing=("quote", "2"))
    assert_rejected(activation, "sizing", "minimum")


def test_portfolio_filter_blocks_an_entry_beyond_buying_power(paper):
    activation = activate(paper, sizing=("quote", "9995"), portfolio=True)
    assert_rejected(activation, "portfolio", "including 0.1 % fees; 10000 USDT is free")


def test_without_the_portfolio_box_buying_power_is_not_checked(paper):
    assert activate(paper, sizing=("quote", "9995")).ok


def test_stale_markets_are_refused(paper):
    old = timezone.now() - timedelta(days=2)
    ExchangeAccount.objects.filter(pk=paper.pk).update(markets_refreshed_at=old)
    paper.refresh_from_db()
    activation = activate(paper)
    assert_rejected(activation, "symbol", "")


def test_an_unknown_or_halted_symbol_is_refused(paper):
    assert_rejected(activate(paper, symbol="NOPE/USDT"), "symbol", "has no market NOPE/USDT")
    Market.objects.filter(account=paper, symbol=BTC).update(active=False)
    assert_rejected(activate(paper), "symbol", "is not trading")


def test_stale_prices_are_refused(paper):
    set_price(symbol=BTC, price=Decimal("65000.00"), now=timezone.now() - timedelta(minutes=5))
    assert_rejected(activate(paper), "symbol", "s old")


def test_risk_sizing_divides_the_risk_by_the_distance_to_the_stop(paper):
    activation = activate(paper, sizing=("risk_pct", "1"), initial_stop=STOP_2_PCT)
    assert activation.ok, activation.plan.problems
    # 1 % of 10000 USDT = 100 USDT at risk; the stop is 2 % = 1300 below 65000 (the ask, no
    # slippage), so 100 / 1300 = 0.0769… BTC, down to the 0.00001 step.
    assert activation.plan.amount == Decimal("0.07692")


def test_risk_sizing_without_a_stop_is_refused(paper):
    assert_rejected(activate(paper, sizing=("risk_pct", "1")), "sizing", "needs an initial stop")


def test_an_indicator_entry_warms_the_cache(paper):
    ema_cross = {
        "primary": "last",
        "condition": "crosses_above",
        "secondary": "ema",
        "secondary_period": "21",
        "secondary_timeframe": "15m",
        "value": "0.2",
        "unit": "percent",
    }
    activation = activate(paper, entry=ema_cross)
    assert activation.ok, activation.plan.problems
    cached = CandleValue.objects.get(account=paper, symbol=BTC, source="ema", period=21)
    assert cached.timeframe == "15m"
    reference = Decimal(activation.plan.facts["entry_reference"])
    # The cache stores 18 decimal places; the check used the full value.
    assert abs(reference - cached.value * Decimal("1.002")) < Decimal("1e-15")


def test_modify_keeps_the_running_revision_until_activated(
    paper, django_capture_on_commit_callbacks
):
    waiting_entry = {
        "primary": "last",
        "condition": "above",
        "secondary": "fixed",
        "value": "70000",
    }
    trade = activate(paper, entry=waiting_entry).trade
    assert trade.status == Trade.Status.PENDING

    revision = modify_trade(trade=trade)
    assert revision.number == 2
    cheaper = {**waiting_entry, "value": "60000"}
    save_ticket(user=paper.owner, ticket=ticket(paper, entry=cheaper), trade=trade)
    trade.refresh_from_db()
    assert (trade.revision.number, trade.next_revision.number) == (1, 2)

    # The new revision would fire at 65000; the running one (above 70000) must not.
    evaluate_rules(now=timezone.now())
    trade.refresh_from_db()
    assert trade.status == Trade.Status.PENDING
    assert not Order.objects.filter(group__trade=trade).exists()
    assert trade.position_or_none is None

    # A new revision that fails validation leaves the running one in place, with its errors.
    failing = activate(paper, trade=trade, entry=cheaper, initial_stop={**STOP_2_PCT, "value": "1"})
    assert not failing.ok
    trade.refresh_from_db()
    assert (trade.status, trade.revision.number) == (Trade.Status.PENDING, 1)
    assert "initial_stop" in trade.errors

    with django_capture_on_commit_callbacks(execute=True):
        assert activate(paper, trade=trade, entry=cheaper).ok
        trade.refresh_from_db()
        assert (trade.revision.number, trade.next_revision) == (2, None)
        evaluate_rules(now=timezone.now())
    trade.refresh_from_db()
    assert trade.status == Trade.Status.OPEN


def test_discarding_a_modification_leaves_the_trade_as_it_was(paper):
    trade = activate(paper).trade
    modify_trade(trade=trade)
    discard_revision(trade=trade)
    trade.refresh_from_db()
    assert trade.next_revision is None
    assert trade.revision.number == 1


def test_a_running_trade_keeps_its_symbol(paper):
    from apps.tickets.services import TicketError

    trade = activate(paper).trade
    modify_trade(trade=trade)
    with pytest.raises(TicketError, match="keeps its account, symbol and side"):
        save_ticket(user=paper.owner, ticket=ticket(paper, symbol="ETH/USDT"), trade=trade)
