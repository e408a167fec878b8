"""Paper candles are the price walk's own history: every indicator agrees with the last price,
as it would on an exchange."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest

from apps.exchanges.models import PaperCandle, PaperPrice
from apps.exchanges.paper.catalog import CATALOG
from apps.exchanges.paper.services import (
    CANDLE_HISTORY_MINUTES,
    advance_simulated_prices,
    current_price,
    paper_candles,
    set_price,
)
from apps.strategies.domain.indicators import latest, warmup_candles

pytestmark = pytest.mark.django_db

BTC = "BTC/USDT"
START = datetime(2025, 1, 6, 11, 0, tzinfo=UTC)
NOW = START + timedelta(minutes=59, seconds=45)  # inside the 11:45 candle


def walk_for_an_hour() -> list[tuple[datetime, Decimal]]:
    """A walk step every three minutes from 11:00:30 (two in some minutes, to fill a bar with
    more than one step): (time, BTC price after the step)."""
    steps = []
    for n in range(0, 60, 3):
        for second in (30, 50) if n % 9 == 0 else (30,):
            at = START + timedelta(minutes=n, seconds=second)
            steps.append((at, advance_simulated_prices(now=at)[BTC]))
    return steps


def price_before(steps, moment: datetime, start_price: Decimal) -> Decimal:
    """The walk's price at `moment`: after the last step taken before it."""
    taken = [price for at, price in steps if at < moment]
    return taken[-1] if taken else start_price


def candles_15m(now=NOW, limit=60):
    return paper_candles(symbol=BTC, timeframe="15m", now=now, limit=limit, since_ms=None)


def ema_21(candles) -> Decimal:
    return latest("ema", [c.close for c in candles], 21)


def test_each_candle_opens_and_closes_at_the_walk_price_of_its_start_and_end() -> None:
    start_price = CATALOG[BTC].start_price
    steps = walk_for_an_hour()
    candles = candles_15m()
    assert candles[-1].opened_at == datetime(2025, 1, 6, 11, 45, tzinfo=UTC)
    recorded = candles[-4:]  # 11:00, 11:15, 11:30 closed; 11:45 forming
    for candle in recorded:
        end = candle.opened_at + timedelta(minutes=15)
        inside = [price for at, price in steps if candle.opened_at <= at < end]
        assert candle.open == price_before(steps, candle.opened_at, start_price)
        assert candle.close == price_before(steps, end, start_price)
        assert candle.high == max([candle.open, *inside])
        assert candle.low == min([candle.open, *inside])
    last_closed = recorded[-2]
    assert last_closed.close == price_before(steps, START + timedelta(minutes=45), start_price)
    # The forming candle closes at the current price.
    assert recorded[-1].close == current_price(BTC) == steps[-1][1]


def test_the_history_before_the_recorded_walk_joins_it_without_a_gap() -> None:
    walk_for_an_hour()
    candles = candles_15m()
    assert len(candles) == 60
    for before, after in pairwise(candles):
        assert after.open == before.close
        assert (after.opened_at - before.opened_at).total_seconds() == 900
    for candle in candles:
        assert 0 < candle.low <= min(candle.open, candle.close)
        assert max(candle.open, candle.close) <= candle.high
        assert candle.close % Decimal("0.01") == 0


def test_ema_21_on_paper_15m_candles_is_within_a_few_percent_of_the_last_price() -> None:
    walk_for_an_hour()
    candles = candles_15m(limit=warmup_candles("ema", 21) + 1)
    last = current_price(BTC)
    # Before, candles were generated apart from the walk, scaled to the last price: the EMA
    # sat a fixed 12.5 % away. Now it averages the walk, whose own 15 m moves are about 4 %
    # (one sigma): over the real walk, EMA(21) is a median 3.6 % from the price.
    assert abs(ema_21(candles[:-1]) - last) / last < Decimal("0.05")


def test_the_last_price_can_cross_the_ema_within_a_candle() -> None:
    """Candles scaled to the last price kept price / EMA constant, so a cross never came."""
    walk_for_an_hour()
    ema = ema_21(candles_15m(limit=100)[:-1])
    set_price(symbol=BTC, price=(ema * Decimal("0.98")).quantize(Decimal("0.01")), now=NOW)
    below = candles_15m(limit=100)
    assert ema_21(below[:-1]) == ema  # closed candles did not move
    assert below[-1].close < ema
    set_price(symbol=BTC, price=(ema * Decimal("1.02")).quantize(Decimal("0.01")), now=NOW)
    above = candles_15m(limit=100)
    assert ema_21(above[:-1]) == ema
    assert above[-1].close > ema


def test_candles_are_deterministic_for_the_same_walk_and_time() -> None:
    walk_for_an_hour()
    first = candles_15m()
    assert candles_15m() == first
    # A fresh desk (no recorded walk) is deterministic too, and ends at the current price.
    PaperCandle.objects.all().delete()
    PaperPrice.objects.all().delete()
    fresh = candles_15m()
    assert fresh == candles_15m()
    assert fresh[-1].close == CATALOG[BTC].start_price
    assert abs(ema_21(fresh[:-1]) - fresh[-1].close) / fresh[-1].close < Decimal("0.05")


def test_while_the_walk_does_not_step_its_candles_stay_flat_at_the_last_price() -> None:
    set_price(symbol=BTC, price=Decimal("64000.00"), now=START)
    later = START + timedelta(hours=2)
    candles = candles_15m(now=later)
    flat = [c for c in candles if c.opened_at >= START + timedelta(minutes=15)]
    assert len(flat) == 8
    assert {(c.open, c.high, c.low, c.close) for c in flat} == {(Decimal("64000.00"),) * 4}


def test_minute_bars_older_than_the_history_kept_are_pruned() -> None:
    set_price(symbol=BTC, price=Decimal("64000.00"), now=START)
    set_price(symbol=BTC, price=Decimal("64100.00"), now=START + timedelta(seconds=20))
    assert PaperCandle.objects.filter(symbol=BTC).count() == 1
    much_later = START + timedelta(minutes=CANDLE_HISTORY_MINUTES + 1)
    set_price(symbol=BTC, price=Decimal("64200.00"), now=much_later)
    assert list(PaperCandle.objects.filter(symbol=BTC).values_list("open", "close")) == [
        (Decimal("64100.00"), Decimal("64200.00"))
    ]
