"""A deterministic, seeded random walk for simulated prices. Pure: no Django, no clock, no I/O.

Every step's random shock is derived from SHA-256 of (seed, symbol, step number), so the walk
is reproducible from its start price on any machine, and the whole computation is Decimal
(no float ever touches a price). A weak pull back toward an anchor price keeps a demo that
runs for days near realistic levels instead of drifting to zero or to the moon.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from apps.exchanges.domain.precision import round_price

# Sum of 12 uniforms minus 6: mean 0, variance 1, bounded to [-6, 6] (Irwin–Hall), so a step
# of volatility v can never move the price by more than 6 v.
_UNIFORMS = 12
_UNIFORM_SCALE = Decimal(2**32)
MAX_VOLATILITY = Decimal(1) / 6  # above this a 6-sigma shock could make the price negative
# Per step, the fraction of the gap to the anchor that is closed (half-life ~1400 steps, about
# 46 minutes at a step every 2 s); with 0.25 % steps the price stays within ~±15 % of it.
DEFAULT_REVERSION = Decimal("0.0005")


def shock(*, symbol: str, seed: int, step: int) -> Decimal:
    """An approximately standard normal draw in [-6, 6], fixed by (symbol, seed, step)."""
    digest = hashlib.sha512(f"{seed}:{symbol}:{step}".encode()).digest()
    total = sum(int.from_bytes(digest[i * 4 : i * 4 + 4], "big") for i in range(_UNIFORMS))
    return Decimal(total) / _UNIFORM_SCALE - _UNIFORMS // 2


def next_price(
    *,
    symbol: str,
    seed: int,
    step: int,
    previous: Decimal,
    volatility: Decimal,
    tick: Decimal,
    anchor: Decimal | None = None,
    reversion: Decimal = DEFAULT_REVERSION,
) -> Decimal:
    """The price after walk step `step`, rounded to `tick` and never below one tick.

    1. Draw the step's shock (deterministic for symbol, seed and step).
    2. Move the price by volatility × shock, plus a pull of `reversion` × the relative gap to
       `anchor` (if any).
    3. Round to the nearest tick, as an exchange's last trade price always is.
    """
    if previous <= 0:
        raise ValueError(f"previous price must be positive, got {previous}")
    if not 0 <= volatility < MAX_VOLATILITY:
        raise ValueError(f"volatility must be in [0, 1/6), got {volatility}")
    move = volatility * shock(symbol=symbol, seed=seed, step=step)
    if anchor is not None:
        move += reversion * (anchor - previous) / previous
    return max(round_price(previous * (1 + move), tick), tick)


def walk(
    *,
    symbol: str,
    seed: int,
    start: Decimal,
    volatility: Decimal,
    tick: Decimal,
    steps: int,
    first_step: int = 1,
    anchor: Decimal | None = None,
) -> list[Decimal]:
    """The prices after each of `steps` consecutive steps from `start` (for replays and tests)."""
    prices: list[Decimal] = []
    price = start
    for step in range(first_step, first_step + steps):
        price = next_price(
            symbol=symbol,
            seed=seed,
            step=step,
            previous=price,
            volatility=volatility,
            tick=tick,
            anchor=anchor,
        )
        prices.append(price)
    return prices
