"""Injected faults: deterministic transient errors, latency, and answers lost after placing."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from apps.exchanges.adapters.paper import PaperExchange
from apps.exchanges.domain.types import OrderSide, OrderStatus, OrderType
from apps.exchanges.errors import (
    BadRequest,
    ExchangeUnavailable,
    RequestTimedOut,
    TransientExchangeError,
)
from apps.exchanges.models import ExchangeAccount, PaperOrder
from tests.exchanges.paper.conftest import books, configure

pytestmark = pytest.mark.django_db


def place(exchange: PaperExchange, cid: str):
    return exchange.create_order(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        amount=Decimal("0.01"),
        price=Decimal("64000.00"),
        client_order_id=cid,
    )


def outcomes(account: ExchangeAccount, calls: int = 30) -> list[str]:
    exchange = PaperExchange(account)
    seen = []
    for _ in range(calls):
        try:
            exchange.fetch_balance()
            seen.append("ok")
        except TransientExchangeError as exc:
            seen.append(type(exc).__name__)
    return seen


def test_injected_error_rate_fails_the_same_calls_for_the_same_seed(
    account: ExchangeAccount,
) -> None:
    configure(account, seed=7, error_rates={"RateLimited": "0.5", "ExchangeUnavailable": "0.1"})
    first = outcomes(account)
    assert first == outcomes(account)
    assert {"ok", "RateLimited", "ExchangeUnavailable"} <= set(first)
    assert 5 <= first.count("RateLimited") <= 25

    configure(account, seed=8)
    assert outcomes(account) != first


def test_an_injected_error_on_create_places_nothing(account: ExchangeAccount) -> None:
    configure(account, error_rates={"ExchangeUnavailable": "1"})
    with pytest.raises(ExchangeUnavailable):
        place(PaperExchange(account), "td-unavailable")
    assert not PaperOrder.objects.exists()
    assert books(account) == {"USDT": (Decimal("10000"), 0)}

    configure(account, error_rates={})
    assert place(PaperExchange(account), "td-unavailable").status == OrderStatus.OPEN


def test_a_zero_rate_never_fails(account: ExchangeAccount) -> None:
    configure(account, error_rates={"RateLimited": "0"})
    assert set(outcomes(account, calls=10)) == {"ok"}


def test_an_unknown_injected_error_name_is_refused_loudly(account: ExchangeAccount) -> None:
    configure(account, error_rates={"RateLimitd": "0.5"})
    with pytest.raises(BadRequest, match="RateLimitd"):
        PaperExchange(account).fetch_balance()


def test_timeout_after_placing_leaves_an_order_found_by_its_client_id(
    account: ExchangeAccount,
) -> None:
    configure(account, timeout_after_placing_rate=Decimal(1))
    exchange = PaperExchange(account)
    with pytest.raises(RequestTimedOut):
        place(exchange, "td-lost-answer")

    found = exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-lost-answer")
    assert (found.status, found.amount) == (OrderStatus.OPEN, Decimal("0.01"))
    # Sending it again resolves to the same order and places nothing more.
    assert place(exchange, "td-lost-answer") == found
    assert PaperOrder.objects.filter(account=account).count() == 1
    assert books(account) == {"USDT": (Decimal("9360"), Decimal("640"))}


def test_latency_delays_every_answer(account: ExchangeAccount) -> None:
    configure(account, latency_ms=150)
    started = time.monotonic()
    PaperExchange(account).fetch_balance()
    assert time.monotonic() - started >= 0.15
