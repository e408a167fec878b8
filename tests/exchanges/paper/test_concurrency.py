"""Client order ids place one order, however often and however concurrently they are sent;
concurrent placements, fills and cancels never lose a balance update."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.exchanges.adapters.paper import PaperExchange
from apps.exchanges.domain.types import OrderSide, OrderStatus, OrderType
from apps.exchanges.errors import InsufficientFunds
from apps.exchanges.models import ExchangeAccount, PaperOrder
from apps.exchanges.paper.services import set_price
from tests.exchanges.paper.conftest import books
from tests.threads import run_together

BUY = OrderSide.BUY


def buy_limit(account: ExchangeAccount, cid: str, amount: str = "0.01", price="64000.00"):
    return PaperExchange(account).create_order(
        symbol="BTC/USDT",
        side=BUY,
        type=OrderType.LIMIT,
        amount=Decimal(amount),
        price=Decimal(price),
        client_order_id=cid,
    )


@pytest.mark.django_db
def test_a_reused_client_order_id_returns_the_existing_order_and_places_nothing(
    account: ExchangeAccount,
) -> None:
    first = buy_limit(account, "td-dup")
    again = buy_limit(account, "td-dup", amount="0.02", price="63000.00")
    assert again == first
    assert PaperOrder.objects.filter(account=account).count() == 1
    assert books(account) == {"USDT": (Decimal("9360"), Decimal("640"))}


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creates_with_one_client_id_place_one_order(
    account: ExchangeAccount,
) -> None:
    results = run_together([lambda: buy_limit(account, "td-race")] * 2)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[0] == results[1]
    assert PaperOrder.objects.filter(account=account).count() == 1
    assert books(account) == {"USDT": (Decimal("9360"), Decimal("640"))}


@pytest.mark.django_db(transaction=True)
def test_concurrent_placements_never_spend_the_same_balance_twice(
    account: ExchangeAccount,
) -> None:
    # Five buys of 4000 USDT each against 10000 USDT: exactly two can be placed.
    results = run_together(
        [lambda i=i: buy_limit(account, f"td-{i}", amount="0.0625") for i in range(5)]
    )
    placed = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, InsufficientFunds)]
    assert (len(placed), len(refused)) == (2, 3), results
    assert books(account) == {"USDT": (Decimal("2000"), Decimal("8000"))}


@pytest.mark.django_db(transaction=True)
def test_a_cancel_racing_a_fill_ends_in_exactly_one_of_the_two(
    account: ExchangeAccount,
) -> None:
    order = buy_limit(account, "td-race-cancel")
    exchange = PaperExchange(account)
    results = run_together(
        [
            lambda: exchange.cancel_order(symbol="BTC/USDT", client_order_id="td-race-cancel"),
            lambda: set_price(symbol="BTC/USDT", price=Decimal("63000.00")),
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    final = PaperOrder.objects.get(exchange_order_id=order.exchange_order_id)
    if final.status == PaperOrder.Status.CANCELED:
        assert books(account) == {"USDT": (Decimal("10000"), 0)}
    else:
        assert final.status == OrderStatus.CLOSED
        assert books(account) == {"USDT": (Decimal("9360"), 0), "BTC": (Decimal("0.00999"), 0)}
