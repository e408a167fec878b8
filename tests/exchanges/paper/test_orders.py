"""Orders on the paper exchange: resting, crossing, partial fills, fees, slippage, cancel."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.exchanges.adapters.paper import PaperExchange
from apps.exchanges.domain.types import OrderSide, OrderStatus, OrderType
from apps.exchanges.models import ExchangeAccount, PaperOrder
from apps.exchanges.paper.services import open_paper_account, set_price
from tests.exchanges.factories import ExchangeAccountFactory
from tests.exchanges.paper.conftest import books, configure, free, used

pytestmark = pytest.mark.django_db

BUY, SELL = OrderSide.BUY, OrderSide.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET


def limit(exchange: PaperExchange, side, amount: str, price: str, cid: str, symbol="BTC/USDT"):
    return exchange.create_order(
        symbol=symbol,
        side=side,
        type=LIMIT,
        amount=Decimal(amount),
        price=Decimal(price),
        client_order_id=cid,
    )


def market(exchange: PaperExchange, side, amount: str, cid: str, symbol="BTC/USDT"):
    return exchange.create_order(
        symbol=symbol,
        side=side,
        type=MARKET,
        amount=Decimal(amount),
        price=None,
        client_order_id=cid,
    )


def test_limit_buy_rests_holding_its_quote_then_fills_at_its_limit_when_the_price_crosses(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    order = limit(exchange, BUY, "0.01", "64000.00", "td-1")
    assert (order.status, order.filled) == (OrderStatus.OPEN, 0)
    assert (free(account, "USDT"), used(account, "USDT")) == (Decimal("9360"), Decimal("640"))

    assert set_price(symbol="BTC/USDT", price=Decimal("64000.01")) == 0
    assert exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-1").status == "open"

    assert set_price(symbol="BTC/USDT", price=Decimal("63990.00")) == 1
    filled = exchange.fetch_order(symbol="BTC/USDT", exchange_order_id=order.exchange_order_id)
    assert (filled.status, filled.filled, filled.average) == (
        OrderStatus.CLOSED,
        Decimal("0.01"),
        Decimal("64000"),
    )
    # Maker fee 0.1 % in the base asset received.
    assert (filled.fee_cost, filled.fee_currency) == (Decimal("0.00001"), "BTC")
    assert books(account) == {"USDT": (Decimal("9360"), 0), "BTC": (Decimal("0.00999"), 0)}


def test_limit_sell_fills_when_the_price_rises_to_it(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    market(exchange, BUY, "0.01", "td-buy")
    order = limit(exchange, SELL, "0.005", "66000.00", "td-sell")
    assert used(account, "BTC") == Decimal("0.005")
    set_price(symbol="BTC/USDT", price=Decimal("65999.99"))
    assert exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-sell").filled == 0
    set_price(symbol="BTC/USDT", price=Decimal("66000.00"))
    sold = exchange.fetch_order(symbol="BTC/USDT", exchange_order_id=order.exchange_order_id)
    assert (sold.status, sold.average) == (OrderStatus.CLOSED, Decimal("66000"))


def test_partial_fills_take_max_fill_fraction_of_the_rest_per_update_then_complete(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    configure(account, max_fill_fraction=Decimal("0.5"))
    set_price(symbol="XRP/USDT", price=Decimal("0.6000"))
    limit(exchange, BUY, "10", "0.5000", "td-xrp", symbol="XRP/USDT")

    set_price(symbol="XRP/USDT", price=Decimal("0.5000"))
    first = exchange.fetch_order(symbol="XRP/USDT", client_order_id="td-xrp")
    assert (first.status, first.filled) == (OrderStatus.OPEN, Decimal(5))
    # The unfilled half still holds its quote; the filled half has paid for itself.
    assert (free(account, "USDT"), used(account, "USDT")) == (Decimal("9995"), Decimal("2.5"))
    assert free(account, "XRP") == Decimal("4.995")

    # Half of what remains, down to the step of 1 XRP, at least one step: 2, 1, 1, 1.
    fills = []
    for _ in range(10):
        set_price(symbol="XRP/USDT", price=Decimal("0.4999"))
        fills.append(exchange.fetch_order(symbol="XRP/USDT", client_order_id="td-xrp").filled)
    assert fills[:5] == [Decimal(7), Decimal(8), Decimal(9), Decimal(10), Decimal(10)]
    done = exchange.fetch_order(symbol="XRP/USDT", client_order_id="td-xrp")
    assert (done.status, done.average, done.fee_cost) == (
        OrderStatus.CLOSED,
        Decimal("0.5"),
        Decimal("0.01"),
    )
    assert books(account) == {"USDT": (Decimal("9995"), 0), "XRP": (Decimal("9.99"), 0)}


def test_maker_and_taker_fees_are_charged_in_the_received_asset_at_their_own_rates(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    configure(account, maker_fee_rate=Decimal("0.001"), taker_fee_rate=Decimal("0.002"))
    bought = market(exchange, BUY, "0.01", "td-taker")
    assert (bought.fee_cost, bought.fee_currency) == (Decimal("0.00002"), "BTC")
    assert books(account) == {"USDT": (Decimal("9350"), 0), "BTC": (Decimal("0.00998"), 0)}

    limit(exchange, SELL, "0.005", "66000.00", "td-maker")
    set_price(symbol="BTC/USDT", price=Decimal("66000.00"))
    sold = exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-maker")
    # 0.005 × 66000 = 330 USDT, maker fee 0.1 % = 0.33 USDT.
    assert (sold.fee_cost, sold.fee_currency) == (Decimal("0.33"), "USDT")
    assert books(account) == {"USDT": (Decimal("9679.67"), 0), "BTC": (Decimal("0.00498"), 0)}


def test_a_limit_order_crossing_at_placement_takes_at_the_market_with_the_taker_fee(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    configure(account, taker_fee_rate=Decimal("0.002"), slippage_rate=Decimal("0.0005"))
    order = limit(exchange, BUY, "0.01", "70000.00", "td-cross")
    # 65000 × 1.0005 = 65032.50: better than the 70000 limit, and the difference stays free.
    assert (order.status, order.average) == (OrderStatus.CLOSED, Decimal("65032.5"))
    assert (order.fee_cost, order.fee_currency) == (Decimal("0.00002"), "BTC")
    assert books(account) == {"USDT": (Decimal("9349.675"), 0), "BTC": (Decimal("0.00998"), 0)}


def test_market_orders_fill_at_last_price_plus_or_minus_slippage_on_the_tick(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    configure(account, slippage_rate=Decimal("0.001"))
    bought = market(exchange, BUY, "0.01", "td-mb")
    sold = market(exchange, SELL, "0.005", "td-ms")
    assert (bought.status, bought.filled, bought.average) == (
        OrderStatus.CLOSED,
        Decimal("0.01"),
        Decimal("65065"),
    )
    assert sold.average == Decimal("64935")

    configure(account, slippage_rate=Decimal("0.0005"))
    set_price(symbol="DOGE/USDT", price=Decimal("0.15000"))
    doge = market(exchange, BUY, "100", "td-doge", symbol="DOGE/USDT")
    # 0.15 × 1.0005 = 0.150075, rounded half-up to the 0.00001 tick.
    assert doge.average == Decimal("0.15008")


def test_cancel_releases_what_the_order_still_holds(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    limit(exchange, BUY, "0.01", "64000.00", "td-cancel")
    cancelled = exchange.cancel_order(symbol="BTC/USDT", client_order_id="td-cancel")
    assert cancelled.status == OrderStatus.CANCELED
    assert books(account) == {"USDT": (Decimal("10000"), 0)}
    # Cancelling again changes nothing and says the order is cancelled.
    again = exchange.cancel_order(symbol="BTC/USDT", exchange_order_id=cancelled.exchange_order_id)
    assert again.status == OrderStatus.CANCELED
    assert books(account) == {"USDT": (Decimal("10000"), 0)}
    # A cancelled order never fills.
    set_price(symbol="BTC/USDT", price=Decimal("60000.00"))
    assert exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-cancel").filled == 0


def test_cancel_after_a_partial_fill_releases_only_the_unfilled_part(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    configure(account, max_fill_fraction=Decimal("0.5"), maker_fee_rate=Decimal(0))
    limit(exchange, BUY, "0.01", "64000.00", "td-part")
    set_price(symbol="BTC/USDT", price=Decimal("64000.00"))
    cancelled = exchange.cancel_order(symbol="BTC/USDT", client_order_id="td-part")
    assert (cancelled.status, cancelled.filled) == (OrderStatus.CANCELED, Decimal("0.005"))
    assert books(account) == {"USDT": (Decimal("9680"), 0), "BTC": (Decimal("0.005"), 0)}


def test_open_orders_and_balances_are_reported_per_account(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    limit(exchange, BUY, "0.01", "64000.00", "td-open-1")
    market(exchange, BUY, "0.001", "td-closed")
    other = ExchangeAccountFactory(kind="paper")
    open_paper_account(account=other)
    limit(PaperExchange(other), BUY, "0.1", "3000.00", "td-other", symbol="ETH/USDT")

    open_orders = exchange.fetch_open_orders()
    assert [o.client_order_id for o in open_orders] == ["td-open-1"]
    assert exchange.fetch_open_orders("ETH/USDT") == []
    assert [o.client_order_id for o in PaperExchange(other).fetch_open_orders()] == ["td-other"]
    balance = exchange.fetch_balance()
    assert balance["USDT"].used == Decimal("640")
    assert balance["USDT"].total == balance["USDT"].free + Decimal("640")
    assert balance["BTC"].free == Decimal("0.000999")
    assert PaperOrder.objects.filter(account=account).count() == 2
