"""Injected faults: deterministic transient errors, latency, and answers lost after placing."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from apps.exchanges.adapters import get_adapter
from apps.exchanges.adapters.paper import PaperExchange
from apps.exchanges.domain.types import OrderSide, OrderStatus, OrderType
from apps.exchanges.errors import (
    BadRequest,
    ExchangeUnavailable,
    RequestTimedOut,
    TransientExchangeError,
)
from apps.exchanges.models import ExchangeAccount, PaperOrder, PaperSettings
from apps.exchanges.paper.services import open_paper_account
from tests.exchanges.factories import ExchangeAccountFactory
from tests.exchanges.paper.conftest import books, configure
from tests.threads import run_together

pytestmark = pytest.mark.django_db


def place(exchange: PaperExchange, cid: str, amount: str = "0.01"):
    return exchange.create_order(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        amount=Decimal(amount),
        price=Decimal("64000.00"),
        client_order_id=cid,
    )


def outcome_of_one_call(account: ExchangeAccount) -> str:
    """One fetch_balance through get_adapter, a fresh adapter, as every service makes it."""
    try:
        get_adapter(account).fetch_balance()
    except TransientExchangeError as exc:
        return type(exc).__name__
    return "ok"


def outcomes(account: ExchangeAccount, calls: int = 30) -> list[str]:
    return [outcome_of_one_call(account) for _ in range(calls)]


def within_five_sigma(observed: int, *, calls: int, rate: Decimal) -> bool:
    expected = calls * rate
    sigma = (calls * rate * (1 - rate)).sqrt()
    return abs(observed - expected) <= 5 * sigma


def test_error_rates_through_get_adapter_fail_the_configured_share_of_calls(
    account: ExchangeAccount,
) -> None:
    # Every call builds a fresh adapter: the draws must still advance from call to call.
    configure(account, error_rates={"ExchangeUnavailable": "0.25"})
    seen = outcomes(account, calls=400)
    assert within_five_sigma(seen.count("ExchangeUnavailable"), calls=400, rate=Decimal("0.25")), (
        seen.count("ExchangeUnavailable")
    )
    assert PaperSettings.objects.get(account=account).fault_draws == 400


def test_timeouts_after_placing_through_get_adapter_hit_the_configured_share_of_orders(
    account: ExchangeAccount,
) -> None:
    configure(account, timeout_after_placing_rate=Decimal("0.3"))
    timed_out = 0
    for n in range(200):
        try:
            place(get_adapter(account), f"td-t{n}", amount="0.0001")
        except RequestTimedOut:
            timed_out += 1
    assert within_five_sigma(timed_out, calls=200, rate=Decimal("0.3")), timed_out
    # Every order was placed, answered or not.
    assert PaperOrder.objects.filter(account=account).count() == 200


def test_injected_error_rate_fails_the_same_calls_for_the_same_seed(
    account: ExchangeAccount,
) -> None:
    rates = {"RateLimited": "0.5", "ExchangeUnavailable": "0.1"}
    configure(account, seed=7, error_rates=rates)
    first = outcomes(account)
    assert {"ok", "RateLimited", "ExchangeUnavailable"} <= set(first)
    assert 5 <= first.count("RateLimited") <= 25
    # The sequence goes on: the next calls are new draws, not a replay.
    assert outcomes(account) != first

    # Another account with the same seed draws the same sequence; a drill replays from 0.
    twin = ExchangeAccountFactory(kind="paper", quote_currency="USDT")
    open_paper_account(account=twin, initial_balance=Decimal("10000"))
    configure(twin, seed=7, error_rates=rates)
    assert outcomes(twin) == first
    configure(account, fault_draws=0)
    assert outcomes(account) == first

    configure(account, seed=8, fault_draws=0)
    assert outcomes(account) != first


@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_take_distinct_places_in_the_fault_sequence(
    account: ExchangeAccount,
) -> None:
    configure(account, error_rates={"NetworkFailure": "0.2"})
    run_together([lambda: outcomes(account, calls=25)] * 4)
    assert PaperSettings.objects.get(account=account).fault_draws == 100


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
