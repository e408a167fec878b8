"""The indicator cache: warmed on activation, refreshed by the market-data loop when a candle
closes, and read by the rules loop for indicator rules."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_UP, Decimal

import pytest
from django.utils import timezone

from apps.exchanges.paper.services import set_price
from apps.positions.models import Order
from apps.tickets.models import CandleValue, Trade
from apps.tickets.services import activate_ticket, evaluate_rules
from apps.tickets.services.candles import refresh_due
from tests.tickets.conftest import BTC, ticket

pytestmark = pytest.mark.django_db

EMA_CROSS = {
    "primary": "last",
    "condition": "crosses_above",
    "secondary": "ema",
    "secondary_period": "21",
    "secondary_timeframe": "15m",
    "value": "0.2",
    "unit": "percent",
}
CENT = Decimal("0.01")


def test_last_price_crossing_above_ema_plus_0_2_pct_enters(
    paper, django_capture_on_commit_callbacks
):
    trade = activate_ticket(
        user=paper.owner, ticket=ticket(paper, entry=EMA_CROSS), trade=None, now=timezone.now()
    ).trade
    assert trade.status == Trade.Status.PENDING
    ema = CandleValue.objects.get(account=paper, symbol=BTC, source="ema", period=21).value
    threshold = ema * Decimal("1.002")

    set_price(symbol=BTC, price=threshold.quantize(CENT, ROUND_DOWN) - CENT)
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_rules(now=timezone.now())
    trade.refresh_from_db()
    assert trade.rule_state["entry"]["outcome"] == "not met"
    assert trade.position_or_none is None
    assert not Order.objects.filter(group__trade=trade).exists()

    set_price(symbol=BTC, price=threshold.quantize(CENT, ROUND_UP) + CENT)
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_rules(now=timezone.now())
    trade.refresh_from_db()
    assert trade.status == Trade.Status.OPEN
    entry = Order.objects.get(group__trade=trade)
    assert entry.purpose == Order.Purpose.ENTRY


def test_without_cached_values_the_rule_waits_and_the_loop_refills_them(paper):
    trade = activate_ticket(
        user=paper.owner, ticket=ticket(paper, entry=EMA_CROSS), trade=None, now=timezone.now()
    ).trade
    CandleValue.objects.all().delete()
    evaluate_rules(now=timezone.now())
    trade.refresh_from_db()
    assert trade.rule_state["entry"]["outcome"] == "waiting for data"

    assert refresh_due(now=timezone.now()) == 1  # BTC/USDT 15m, fetched once
    assert CandleValue.objects.filter(source="ema", period=21, timeframe="15m").exists()
    assert refresh_due(now=timezone.now()) == 0  # nothing new until the next candle closes
    evaluate_rules(now=timezone.now())
    trade.refresh_from_db()
    assert trade.rule_state["entry"]["outcome"] == "not met"
