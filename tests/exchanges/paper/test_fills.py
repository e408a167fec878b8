"""Fill arithmetic: exact Decimal balance changes, fill amounts on the step."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.exchanges.paper.fills import fill_amount, plan_fill, taker_price, triggers

STEP = Decimal("0.00001")
steps = st.integers(min_value=1, max_value=10**7).map(lambda n: n * STEP)
ticks = st.integers(min_value=1, max_value=10**8).map(lambda n: n * Decimal("0.01"))
fractions = st.integers(min_value=1, max_value=100).map(lambda n: Decimal(n) / 100)
fee_rates = st.sampled_from([Decimal(0), Decimal("0.00075"), Decimal("0.001"), Decimal("0.002")])


@given(remaining=steps, fraction=fractions)
def test_a_fill_is_on_the_step_at_least_one_step_and_at_most_the_rest(
    remaining: Decimal, fraction: Decimal
) -> None:
    amount = fill_amount(remaining=remaining, max_fill_fraction=fraction, step=STEP)
    assert STEP <= amount <= remaining
    assert amount % STEP == 0


@given(amount=steps, limit=ticks, improvement=ticks, fee_rate=fee_rates)
def test_a_resting_buy_spends_exactly_its_cost_and_receives_the_amount_less_the_fee(
    amount: Decimal, limit: Decimal, improvement: Decimal, fee_rate: Decimal
) -> None:
    price = max(limit - improvement, Decimal("0.01"))
    fill = plan_fill(
        side="buy",
        base="BTC",
        quote="USDT",
        amount=amount,
        price=price,
        fee_rate=fee_rate,
        held_price=limit,
    )
    usdt, btc = fill.changes["USDT"], fill.changes["BTC"]
    assert usdt.free + usdt.used == -(amount * price)  # nothing created or lost
    assert usdt.used == -(amount * limit)  # the hold of this part is released
    assert (btc.free, btc.used) == (amount - amount * fee_rate, 0)
    assert (fill.fee, fill.fee_currency) == (amount * fee_rate, "BTC")


@given(amount=steps, price=ticks, fee_rate=fee_rates)
def test_a_market_sell_pays_base_from_free_and_its_fee_in_quote(
    amount: Decimal, price: Decimal, fee_rate: Decimal
) -> None:
    fill = plan_fill(
        side="sell",
        base="BTC",
        quote="USDT",
        amount=amount,
        price=price,
        fee_rate=fee_rate,
        held_price=None,
    )
    assert (fill.changes["BTC"].free, fill.changes["BTC"].used) == (-amount, 0)
    assert fill.changes["USDT"].free == amount * price * (1 - fee_rate)
    assert fill.fee_currency == "USDT"


def test_slippage_moves_buys_up_and_sells_down_to_the_tick() -> None:
    last, tick = Decimal("0.5500"), Decimal("0.0001")
    assert taker_price(side="buy", last=last, slippage_rate=Decimal("0.001"), tick=tick) == Decimal(
        "0.5506"
    )
    assert taker_price(
        side="sell", last=last, slippage_rate=Decimal("0.001"), tick=tick
    ) == Decimal("0.5495")


@pytest.mark.parametrize(
    ("side", "last", "triggered"),
    [
        ("sell", "60000.01", False),
        ("sell", "60000.00", True),  # at the trigger: binance STOP_LOSS fires at or below it
        ("sell", "59000.00", True),
        ("buy", "59999.99", False),
        ("buy", "60000.00", True),
        ("buy", "61000.00", True),
    ],
)
def test_a_sell_stop_triggers_at_or_below_its_trigger_a_buy_stop_at_or_above(
    side: str, last: str, triggered: bool
) -> None:
    assert triggers(side=side, trigger=Decimal("60000.00"), last=Decimal(last)) is triggered
