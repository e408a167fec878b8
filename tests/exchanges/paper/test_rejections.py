"""Refusals exactly like a real exchange's, as our permanent errors, and nothing changes."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from apps.exchanges.adapters.paper import PaperExchange
from apps.exchanges.domain.types import MarketRules, OrderSide, OrderType
from apps.exchanges.errors import (
    BelowMinNotional,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    PermanentExchangeError,
    UnknownSymbol,
)
from apps.exchanges.models import ExchangeAccount, PaperBalance, PaperOrder
from apps.exchanges.paper.rules import check_order
from apps.exchanges.paper.services import set_price
from tests.exchanges.paper.conftest import books

pytestmark = pytest.mark.django_db

BUY, SELL = OrderSide.BUY, OrderSide.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET


@pytest.mark.parametrize(
    ("symbol", "side", "type", "amount", "price", "error", "says"),
    [
        ("BTC/USDT", BUY, LIMIT, "1", "65000.00", InsufficientFunds, "insufficient balance"),
        ("BTC/USDT", BUY, MARKET, "0.2", None, InsufficientFunds, "insufficient balance"),
        ("BTC/USDT", SELL, LIMIT, "0.001", "65000.00", InsufficientFunds, "0.001 BTC needed"),
        ("BTC/USDT", SELL, MARKET, "0.001", None, InsufficientFunds, "0 BTC free"),
        ("BTC/USDT", BUY, LIMIT, "0.00007", "65000.00", BelowMinNotional, "NOTIONAL"),
        ("BTC/USDT", BUY, MARKET, "0.00007", None, BelowMinNotional, "4.55 USDT"),
        ("BTC/USDT", BUY, LIMIT, "0.000105", "65000.00", InvalidOrder, "LOT_SIZE"),
        ("BTC/USDT", BUY, LIMIT, "0.001", "65000.005", InvalidOrder, "PRICE_FILTER"),
        ("BTC/USDT", BUY, LIMIT, "0", "65000.00", InvalidOrder, "positive"),
        ("BTC/USDT", BUY, LIMIT, "0.001", None, InvalidOrder, "price"),
        ("BTC/USDT", BUY, LIMIT, "9001", "1.00", InvalidOrder, "maximum"),
        ("XRP/USDT", BUY, LIMIT, "10.5", "0.5500", InvalidOrder, "step size 1"),
        ("FOO/USDT", BUY, LIMIT, "1", "1.00", UnknownSymbol, "FOO/USDT"),
    ],
)
def test_refused_order_raises_a_permanent_error_and_changes_nothing(
    account: ExchangeAccount,
    exchange: PaperExchange,
    symbol: str,
    side: OrderSide,
    type: OrderType,
    amount: str,
    price: str | None,
    error: type[Exception],
    says: str,
) -> None:
    before = books(account)
    with pytest.raises(error, match=re.escape(says)) as refused:
        exchange.create_order(
            symbol=symbol,
            side=side,
            type=type,
            amount=Decimal(amount),
            price=Decimal(price) if price else None,
            client_order_id="td-refused",
        )
    assert isinstance(refused.value, PermanentExchangeError)
    assert books(account) == before
    assert not PaperOrder.objects.exists()


def test_a_step_violation_is_not_reported_as_a_notional_problem() -> None:
    # The desk treats BelowMinNotional differently (resize); a LOT_SIZE miss is not that.
    rules = MarketRules(
        symbol="BTC/USDT",
        base="BTC",
        quote="USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.00001"),
        min_notional=Decimal("5"),
    )
    with pytest.raises(InvalidOrder) as refused:
        check_order(
            rules,
            type=LIMIT,
            amount=Decimal("0.000015"),
            price=Decimal("1.00"),
            reference_price=Decimal(1),
        )
    assert not isinstance(refused.value, BelowMinNotional)


def test_below_the_minimum_amount_is_refused_even_on_the_step() -> None:
    rules = MarketRules(
        symbol="SOL/USDT",
        base="SOL",
        quote="USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.001"),
        min_amount=Decimal("0.01"),
    )
    with pytest.raises(InvalidOrder, match=r"below the minimum of 0\.01 SOL"):
        check_order(
            rules, type=MARKET, amount=Decimal("0.009"), price=None, reference_price=Decimal(150)
        )


@pytest.mark.parametrize("client_order_id", ["", "x" * 65])
def test_client_order_id_must_have_1_to_64_characters(
    account: ExchangeAccount, exchange: PaperExchange, client_order_id: str
) -> None:
    with pytest.raises(InvalidOrder, match="client order id"):
        exchange.create_order(
            symbol="BTC/USDT",
            side=BUY,
            type=LIMIT,
            amount=Decimal("0.001"),
            price=Decimal("65000.00"),
            client_order_id=client_order_id,
        )
    assert not PaperOrder.objects.exists()


def test_a_64_character_client_order_id_is_accepted(exchange: PaperExchange) -> None:
    order = exchange.create_order(
        symbol="BTC/USDT",
        side=BUY,
        type=LIMIT,
        amount=Decimal("0.001"),
        price=Decimal("60000.00"),
        client_order_id="c" * 64,
    )
    assert order.client_order_id == "c" * 64


def test_balances_never_go_negative(account: ExchangeAccount, exchange: PaperExchange) -> None:
    def order(cid: str, symbol: str, side: OrderSide, amount: str, price: str | None = None):
        return exchange.create_order(
            symbol=symbol,
            side=side,
            type=LIMIT if price else MARKET,
            amount=Decimal(amount),
            price=Decimal(price) if price else None,
            client_order_id=cid,
        )

    # Every USDT held by a resting buy: 0.15625 × 64000 = 10000.
    order("td-all-in", "BTC/USDT", BUY, "0.15625", "64000.00")
    assert books(account) == {"USDT": (0, Decimal("10000"))}
    with pytest.raises(InsufficientFunds):
        order("td-one-more", "ETH/USDT", BUY, "0.0019")

    set_price(symbol="BTC/USDT", price=Decimal("64000.00"))
    # Bought 0.15625 BTC less the 0.1 % fee: 0.15609375 BTC, of which 0.1561 cannot be sold.
    with pytest.raises(InsufficientFunds):
        order("td-oversell", "BTC/USDT", SELL, "0.1561")
    order("td-sell-all", "BTC/USDT", SELL, "0.15609")

    assert books(account) == {
        "BTC": (Decimal("0.00000375"), 0),
        "USDT": (Decimal("9979.77024"), 0),  # 0.15609 × 64000 = 9989.76, less 9.98976 fee
    }
    rows = PaperBalance.objects.filter(account=account)
    assert all(row.free >= 0 and row.used >= 0 for row in rows)


def test_unknown_order_is_not_found(exchange: PaperExchange) -> None:
    with pytest.raises(OrderNotFound):
        exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-never-sent")
    with pytest.raises(OrderNotFound):
        exchange.cancel_order(symbol="BTC/USDT", exchange_order_id="P0")
