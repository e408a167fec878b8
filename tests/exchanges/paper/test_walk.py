"""The seeded random walk: reproducible, always on the tick, realistic step sizes."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import pytest

from apps.exchanges.paper.catalog import CATALOG
from apps.exchanges.paper.walk import next_price, shock, walk

BTC = CATALOG["BTC/USDT"]


def btc_walk(seed: int, steps: int = 500) -> list[Decimal]:
    return walk(
        symbol="BTC/USDT",
        seed=seed,
        start=BTC.start_price,
        volatility=BTC.volatility,
        tick=BTC.rules.tick_size,
        steps=steps,
        anchor=BTC.start_price,
    )


def test_same_seed_gives_the_same_walk() -> None:
    assert btc_walk(seed=42) == btc_walk(seed=42)


def test_another_seed_gives_another_walk() -> None:
    assert btc_walk(seed=42) != btc_walk(seed=43)


def test_next_price_depends_only_on_its_inputs() -> None:
    path = btc_walk(seed=5, steps=10)
    # Step 7 recomputed from step 6's price alone gives the same price as the whole walk.
    again = next_price(
        symbol="BTC/USDT",
        seed=5,
        step=7,
        previous=path[5],
        volatility=BTC.volatility,
        tick=BTC.rules.tick_size,
        anchor=BTC.start_price,
    )
    assert again == path[6]


@pytest.mark.parametrize("symbol", sorted(CATALOG))
def test_every_walk_price_is_a_positive_multiple_of_the_tick(symbol: str) -> None:
    market = CATALOG[symbol]
    tick = market.rules.tick_size
    prices = walk(
        symbol=symbol,
        seed=3,
        start=market.start_price,
        volatility=market.volatility,
        tick=tick,
        steps=300,
        anchor=market.start_price,
    )
    assert all(price > 0 and price % tick == 0 for price in prices)
    assert len(set(prices)) > 100  # it really moves


def test_a_few_percent_move_happens_within_minutes_at_a_step_every_two_seconds() -> None:
    # 150 steps are five minutes: a stop or target 2 % away must be reachable in a demo.
    prices = btc_walk(seed=11, steps=150)
    swing = (max(prices) - min(prices)) / BTC.start_price
    assert Decimal("0.02") < swing < Decimal("0.5")


def test_one_step_never_moves_more_than_six_volatilities_plus_the_pull() -> None:
    prices = [BTC.start_price, *btc_walk(seed=9, steps=2000)]
    limit = 6 * BTC.volatility + Decimal("0.001")
    assert all(abs(b - a) / a <= limit for a, b in pairwise(prices))


def test_the_shock_is_roughly_standard_normal() -> None:
    draws = [shock(symbol="ETH/USDT", seed=1, step=step) for step in range(4000)]
    mean = sum(draws) / len(draws)
    variance = sum((d - mean) ** 2 for d in draws) / len(draws)
    assert abs(mean) < Decimal("0.1")
    assert Decimal("0.85") < variance < Decimal("1.15")


def test_walk_refuses_a_volatility_that_could_go_negative() -> None:
    with pytest.raises(ValueError, match="volatility"):
        next_price(
            symbol="BTC/USDT",
            seed=1,
            step=1,
            previous=Decimal(100),
            volatility=Decimal("0.2"),
            tick=Decimal("0.01"),
        )
