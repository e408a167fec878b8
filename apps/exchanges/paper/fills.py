"""Fill arithmetic of the paper exchange: prices, amounts, fees and balance changes. Pure.

Fees are charged in the asset received, as binance does without BNB: a buy pays its fee in the
base asset, a sell in the quote asset. Nothing here is rounded except prices (to the tick) and
fill amounts (down to the step), so balances add up exactly. Limit orders fill when the price
`crosses` them; stops start when it `triggers` them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from apps.core.numbers import ZERO
from apps.exchanges.domain.precision import round_amount, round_price
from apps.exchanges.domain.types import OrderSide


@dataclass(frozen=True)
class BalanceChange:
    free: Decimal = ZERO
    used: Decimal = ZERO


@dataclass(frozen=True)
class Fill:
    amount: Decimal  # base filled
    price: Decimal  # quote per base
    fee: Decimal
    fee_currency: str
    changes: dict[str, BalanceChange]  # per asset

    @property
    def cost(self) -> Decimal:
        return self.amount * self.price


def crosses(*, side: OrderSide | str, limit: Decimal, last: Decimal) -> bool:
    """A buy limit fills once the price is at or below it, a sell once at or above it."""
    return last <= limit if side == OrderSide.BUY else last >= limit


def triggers(*, side: OrderSide | str, trigger: Decimal, last: Decimal) -> bool:
    """A sell stop triggers once the price is at or below its trigger, a buy stop at or above."""
    return last <= trigger if side == OrderSide.SELL else last >= trigger


def taker_price(
    *, side: OrderSide | str, last: Decimal, slippage_rate: Decimal, tick: Decimal
) -> Decimal:
    """Where a taker fills: buys pay more than the last price, sells get less (on the tick)."""
    factor = 1 + slippage_rate if side == OrderSide.BUY else 1 - slippage_rate
    return max(round_price(last * factor, tick), tick)


def immediate_price(
    *, side: OrderSide | str, limit: Decimal, last: Decimal, slippage_rate: Decimal, tick: Decimal
) -> Decimal:
    """A limit order crossing at placement takes liquidity, but never beyond its limit."""
    price = taker_price(side=side, last=last, slippage_rate=slippage_rate, tick=tick)
    return min(price, limit) if side == OrderSide.BUY else max(price, limit)


def fill_amount(*, remaining: Decimal, max_fill_fraction: Decimal, step: Decimal) -> Decimal:
    """The part of `remaining` filled by one price update: the fraction, down to the step,
    at least one step (so every order completes), at most what remains."""
    if max_fill_fraction >= 1:
        return remaining
    part = round_amount(remaining * max_fill_fraction, step)
    return min(max(part, step), remaining)


def hold(*, side: OrderSide | str, amount: Decimal, price: Decimal) -> tuple[bool, Decimal]:
    """What a resting order sets aside: (True, quote) for a buy, (False, base) for a sell."""
    return (True, amount * price) if side == OrderSide.BUY else (False, amount)


def plan_fill(
    *,
    side: OrderSide | str,
    base: str,
    quote: str,
    amount: Decimal,
    price: Decimal,
    fee_rate: Decimal,
    held_price: Decimal | None,
) -> Fill:
    """The balance changes of filling `amount` at `price`.

    `held_price` is the limit price whose funds were set aside when the order was placed
    (None for a market order, which pays from free balance). A buy releases amount ×
    held_price from used and refunds any price improvement to free.
    """
    cost = amount * price
    if side == OrderSide.BUY:
        fee = amount * fee_rate
        if held_price is None:
            quote_change = BalanceChange(free=-cost)
        else:
            held = amount * held_price
            quote_change = BalanceChange(free=held - cost, used=-held)
        changes = {quote: quote_change, base: BalanceChange(free=amount - fee)}
        return Fill(amount, price, fee, base, changes)
    fee = cost * fee_rate
    base_change = BalanceChange(free=-amount) if held_price is None else BalanceChange(used=-amount)
    changes = {base: base_change, quote: BalanceChange(free=cost - fee)}
    return Fill(amount, price, fee, quote, changes)
