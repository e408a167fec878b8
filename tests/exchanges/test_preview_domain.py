from decimal import Decimal as D

import pytest

from apps.exchanges.domain.preview import preview_order
from apps.exchanges.domain.types import MarketRules, OrderSide, OrderType

BTC = MarketRules(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    tick_size=D("0.01"),
    step_size=D("0.00001"),
    min_amount=D("0.00001"),
    min_notional=D("5"),
)
RICH = {"free_base": D("10"), "free_quote": D("100000")}


def test_a_base_amount_is_truncated_to_the_step_and_the_price_rounded_to_the_tick():
    preview = preview_order(
        BTC,
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        price=D("64250.125"),
        amount=D("0.0012399"),
        **RICH,
    )
    assert preview.ok
    assert (preview.amount, preview.price) == (D("0.00123"), D("64250.13"))
    assert preview.notional == D("0.00123") * D("64250.13")


def test_a_quote_amount_is_converted_at_the_price_then_rounded_down():
    preview = preview_order(
        BTC,
        side=OrderSide.BUY,
        type=OrderType.MARKET,
        price=D("64000"),
        quote_amount=D("100"),
        **RICH,
    )
    assert preview.amount == D("0.00156")  # 100 / 64000 = 0.0015625, truncated
    assert preview.notional <= D("100")


def test_below_min_notional_names_the_numbers():
    preview = preview_order(
        BTC,
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        price=D("64250.12"),
        amount=D("0.00007"),
        **RICH,
    )
    assert not preview.ok
    assert "0.00007 BTC × 64,250.12 USDT" in preview.problems[0]  # on the step and tick
    assert "below the 5 USDT minimum" in preview.problems[0]


@pytest.mark.parametrize(
    ("side", "free_base", "free_quote", "needle"),
    [
        (OrderSide.BUY, D("10"), D("50"), "needs 64.25013 USDT; 50 USDT is free"),
        (OrderSide.SELL, D("0.0005"), D("0"), "Selling 0.00100 BTC needs that much free"),
    ],
)
def test_the_free_balance_must_cover_the_order(side, free_base, free_quote, needle):
    preview = preview_order(
        BTC,
        side=side,
        type=OrderType.LIMIT,
        price=D("64250.13"),
        amount=D("0.001"),
        free_base=free_base,
        free_quote=free_quote,
    )
    assert not preview.ok
    assert needle in preview.problems[0]


def test_an_inactive_market_is_refused():
    from dataclasses import replace

    preview = preview_order(
        replace(BTC, active=False),
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        price=D("1"),
        amount=D("1"),
        **RICH,
    )
    assert preview.problems == ("BTC/USDT is not trading on this exchange right now.",)


@pytest.mark.parametrize("sizes", [{}, {"amount": D("1"), "quote_amount": D("1")}])
def test_exactly_one_size_must_be_given(sizes):
    preview = preview_order(
        BTC, side=OrderSide.BUY, type=OrderType.LIMIT, price=D("1"), **sizes, **RICH
    )
    assert not preview.ok and "either a base amount or a quote amount" in preview.problems[0]
