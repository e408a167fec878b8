"""Precision and minimums: what makes an order acceptable to the exchange, checked before sending.

Pure: Decimal in, Decimal out. Amounts are truncated to the step (never more than asked for);
prices are rounded to the nearest tick; stop prices are rounded toward safety for the position
(up for longs, down for shorts). Minimums are checked after rounding, because that is what the
exchange will see.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from apps.exchanges.domain.types import MarketRules


class OrderRuleViolation(ValueError):
    """The order breaks a market rule; the message names the numbers."""


@dataclass(frozen=True)
class PreparedOrder:
    amount: Decimal
    price: Decimal
    notional: Decimal  # amount x price, in the quote currency


def _to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    return ((value / step).to_integral_value(rounding=rounding) * step).normalize() + 0


def round_amount(amount: Decimal, step: Decimal) -> Decimal:
    """Truncate toward zero to a multiple of `step`: never trade more than was asked."""
    return _to_step(amount, step, ROUND_DOWN)


def round_price(price: Decimal, tick: Decimal) -> Decimal:
    """Round half-up to the nearest multiple of `tick` (what exchanges and ccxt do)."""
    return _to_step(price, tick, ROUND_HALF_UP)


def round_stop_price(price: Decimal, tick: Decimal, *, long: bool = True) -> Decimal:
    """Round a stop toward safety: up for a long (exits sooner), down for a short."""
    return _to_step(price, tick, ROUND_CEILING if long else ROUND_FLOOR)


def fmt(value: Decimal) -> str:
    """A Decimal as a trader writes it: no exponent, no trailing zeros."""
    text = f"{value.normalize():f}"
    return text


def prepare_order(rules: MarketRules, *, amount: Decimal, price: Decimal) -> PreparedOrder:
    """Round `amount` and `price` to `rules`, then check the minimums on the rounded values.

    Raises OrderRuleViolation with a message that names the numbers, e.g.
    "0.00007 BTC × 64250.12 = 4.4975084 USDT is below the 5 USDT minimum".
    """
    if amount <= 0:
        raise OrderRuleViolation(f"Amount must be positive, got {fmt(amount)} {rules.base}.")
    if price <= 0:
        raise OrderRuleViolation(f"Price must be positive, got {fmt(price)} {rules.quote}.")
    rounded_amount = round_amount(amount, rules.step_size)
    rounded_price = round_price(price, rules.tick_size)
    notional = rounded_amount * rounded_price
    if rounded_amount <= 0:
        raise OrderRuleViolation(
            f"{fmt(amount)} {rules.base} rounds down to 0 at the step of "
            f"{fmt(rules.step_size)} {rules.base}."
        )
    if rules.min_amount is not None and rounded_amount < rules.min_amount:
        raise OrderRuleViolation(
            f"{fmt(rounded_amount)} {rules.base} is below the {fmt(rules.min_amount)} "
            f"{rules.base} minimum amount."
        )
    if rules.max_amount is not None and rounded_amount > rules.max_amount:
        raise OrderRuleViolation(
            f"{fmt(rounded_amount)} {rules.base} is above the {fmt(rules.max_amount)} "
            f"{rules.base} maximum amount."
        )
    if rules.min_notional is not None and notional < rules.min_notional:
        raise OrderRuleViolation(
            f"{fmt(rounded_amount)} {rules.base} × {fmt(rounded_price)} = {fmt(notional)} "
            f"{rules.quote} is below the {fmt(rules.min_notional)} {rules.quote} minimum."
        )
    return PreparedOrder(amount=rounded_amount, price=rounded_price, notional=notional)
