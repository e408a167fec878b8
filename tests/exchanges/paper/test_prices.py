"""Simulated prices: the walk step, set_price, tickers, candles, markets and account opening."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise

import pytest
from django.utils import timezone

from apps.exchanges.adapters.paper import PaperExchange
from apps.exchanges.domain.types import OrderSide, OrderStatus, OrderType
from apps.exchanges.errors import BadRequest, UnknownSymbol
from apps.exchanges.models import ExchangeAccount, PaperBalance, PaperOrder, PaperPrice
from apps.exchanges.paper.catalog import CATALOG
from apps.exchanges.paper.services import (
    advance_simulated_prices,
    current_price,
    open_paper_account,
    paper_candles,
    set_price,
)
from apps.exchanges.paper.walk import next_price
from tests.exchanges.factories import ExchangeAccountFactory
from tests.exchanges.paper.conftest import configure

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)


def test_advancing_moves_every_catalog_symbol_one_deterministic_step_on_its_tick() -> None:
    first = advance_simulated_prices(now=NOW)
    assert set(first) == set(CATALOG)
    for symbol, price in first.items():
        market = CATALOG[symbol]
        assert price == next_price(
            symbol=symbol,
            seed=1,
            step=1,
            previous=market.start_price,
            volatility=market.volatility,
            tick=market.rules.tick_size,
            anchor=market.start_price,
        )
        assert price % market.rules.tick_size == 0
    second = advance_simulated_prices(now=NOW)
    row = PaperPrice.objects.get(symbol="ETH/USDT")
    assert (row.steps, row.last, row.updated_at) == (2, second["ETH/USDT"], NOW)


def test_advancing_fills_the_resting_orders_the_new_price_crosses(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    PaperPrice.objects.all().delete()  # start from the catalog price, step 0
    start = CATALOG["BTC/USDT"].start_price
    # A buy just above the start price rests only if placed while the price is higher.
    set_price(symbol="BTC/USDT", price=start + 1000)
    order = exchange.create_order(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        amount=Decimal("0.001"),
        price=start + 500,
        client_order_id="td-walk",
    )
    assert order.status == OrderStatus.OPEN
    PaperPrice.objects.filter(symbol="BTC/USDT").update(last=start, steps=0)
    advance_simulated_prices(now=NOW)
    filled = exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-walk")
    assert (filled.status, filled.average) == (OrderStatus.CLOSED, start + 500)


def test_set_price_refuses_a_price_off_the_tick_or_an_unknown_symbol() -> None:
    with pytest.raises(ValueError, match="tick"):
        set_price(symbol="BTC/USDT", price=Decimal("65000.001"))
    with pytest.raises(UnknownSymbol):
        set_price(symbol="FOO/USDT", price=Decimal("1"))
    assert not PaperPrice.objects.exists()


def test_simulated_prices_do_not_fill_orders_of_accounts_on_live_prices(
    account: ExchangeAccount,
) -> None:
    live = ExchangeAccountFactory(kind="paper")
    open_paper_account(account=live)
    configure(live, price_source="live", live_exchange="binance")
    resting = PaperOrder.objects.create(
        account=live,
        exchange_order_id="P-live",
        client_order_id="td-live",
        symbol="BTC/USDT",
        side="buy",
        type="limit",
        price=Decimal("64000"),
        amount=Decimal("0.01"),
        created_at=NOW,
        updated_at=NOW,
    )
    assert set_price(symbol="BTC/USDT", price=Decimal("60000.00")) == 0
    resting.refresh_from_db()
    assert resting.filled == 0


def test_tickers_report_last_price_and_where_market_orders_would_fill(
    account: ExchangeAccount,
) -> None:
    configure(account, slippage_rate=Decimal("0.001"))
    tickers = PaperExchange(account).fetch_tickers(["BTC/USDT", "SOL/USDT"])
    btc = tickers["BTC/USDT"]
    assert (btc.last, btc.bid, btc.ask) == (Decimal("65000"), Decimal("64935"), Decimal("65065"))
    # SOL has not moved yet: its catalog start price.
    assert tickers["SOL/USDT"].last == CATALOG["SOL/USDT"].start_price
    with pytest.raises(UnknownSymbol):
        PaperExchange(account).fetch_tickers(["FOO/USDT"])


def test_candles_end_at_the_current_price_on_the_tick(exchange: PaperExchange) -> None:
    candles = exchange.fetch_candles("BTC/USDT", "15m", limit=50)
    assert len(candles) == 50
    assert candles[-1].close == current_price("BTC/USDT")
    assert candles[-1].opened_at <= timezone.now()
    for before, after in pairwise(candles):
        assert after.open == before.close
        assert (after.opened_at - before.opened_at).total_seconds() == 900
    for candle in candles:
        assert candle.low <= min(candle.open, candle.close) <= candle.high
        assert candle.high % Decimal("0.01") == 0 and candle.low % Decimal("0.01") == 0
    with pytest.raises(BadRequest):
        exchange.fetch_candles("BTC/USDT", "fortnight")


def test_candles_are_the_same_for_the_same_moment_and_respect_since() -> None:
    set_price(symbol="ETH/USDT", price=Decimal("3210.55"), now=NOW)

    def make(**extra):
        return paper_candles(symbol="ETH/USDT", timeframe="1h", now=NOW, **extra)

    assert make(limit=24, since_ms=None) == make(limit=24, since_ms=None)
    since = make(limit=24, since_ms=int(NOW.timestamp() * 1000) - 3 * 3600 * 1000)
    assert [c.opened_at.hour for c in since] == [9, 10, 11, 12]
    assert since == make(limit=24, since_ms=None)[-4:]


def test_markets_are_the_catalog_rules(exchange: PaperExchange) -> None:
    markets = {rules.symbol: rules for rules in exchange.load_markets()}
    assert markets["DOGE/USDT"].tick_size == Decimal("0.00001")
    assert set(markets) == set(CATALOG)


def test_opening_a_paper_account_deposits_the_initial_balance_once(settings) -> None:
    settings.PAPER_INITIAL_BALANCE = Decimal("2500")
    account = ExchangeAccountFactory(kind="paper", quote_currency="USDC")
    open_paper_account(account=account)
    open_paper_account(account=account)
    balances = PaperExchange(account).fetch_balance()
    assert list(balances) == ["USDC"]
    assert (balances["USDC"].free, balances["USDC"].total) == (Decimal("2500"), Decimal("2500"))
    assert PaperBalance.objects.filter(account=account).count() == 1


def test_a_real_exchange_account_cannot_be_a_paper_exchange() -> None:
    account = ExchangeAccountFactory(kind="binance")
    with pytest.raises(ValueError, match="not a paper account"):
        open_paper_account(account=account)
    with pytest.raises(ValueError, match="not a paper account"):
        PaperExchange(account)
