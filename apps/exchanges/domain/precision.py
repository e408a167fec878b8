"""Precision and minimums: what makes an order acceptable to the exchange, checked before sending.

Pure: Decimal in, Decimal out. Amounts are truncated to the step (never more than asked for);
prices are rounded to the nearest tick; stop prices are rounded toward safety for the position
(up for longs, down for shorts). Minimums are checked after rounding, because that is what the
exchange will see.

The desk works in ccxt's TICK_SIZE form (`MarketRules` holds steps). `to_precision` also speaks
DECIMAL_PLACES and ccxt/freqtrade's rounding names, so the module can be checked against
freqtrade's test tables and can read markets that publish decimal places.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from enum import IntEnum

from apps.core import formatting
from apps.core.numbers import plain
from apps.exchanges.domain.types import MarketRules


class PrecisionMode(IntEnum):
    """How a market counts precision; the values are ccxt's codes.

    SIGNIFICANT_DIGITS (3) is left out on purpose: none of the exchanges the desk trades on
    uses it, and a step-based desk cannot express it as a fixed tick.
    """

    DECIMAL_PLACES = 2  # precision is a number of decimals; 0 and negatives (-1: tens) allowed
    TICK_SIZE = 4  # precision is the step itself, e.g. 0.005


class Rounding(IntEnum):
    """ccxt/freqtrade rounding modes (values are their codes).

    Beware the names: they do not mean what Python's `decimal` constants of the same name mean.
    ccxt's ROUND_UP is Python's ROUND_CEILING and its ROUND_DOWN is ROUND_FLOOR, while Python's
    ROUND_DOWN is ccxt's TRUNCATE. The two agree only for positive values.
    """

    TRUNCATE = 0  # toward zero
    ROUND = 1  # to nearest, halves away from zero
    ROUND_UP = 2  # toward +infinity
    ROUND_DOWN = 3  # toward -infinity


_PYTHON_ROUNDING = {
    Rounding.TRUNCATE: ROUND_DOWN,
    Rounding.ROUND: ROUND_HALF_UP,
    Rounding.ROUND_UP: ROUND_CEILING,
    Rounding.ROUND_DOWN: ROUND_FLOOR,
}


class OrderRuleViolation(ValueError):
    """The order breaks a market rule; the message names the numbers."""


@dataclass(frozen=True)
class PreparedOrder:
    amount: Decimal
    price: Decimal
    notional: Decimal  # amount x price, in the quote currency


def _exact_context(*values: Decimal) -> Context:
    """A context wide enough that the step arithmetic below never rounds.

    The default 28 digits would silently round 123456789012345678901.123456789 at a tick of
    1e-9 (30 digits); here every intermediate fits, and Inexact is trapped so a mistake in that
    reasoning raises instead of rounding.
    """
    highest_digit = max(value.adjusted() for value in values) + 1  # +1: a result may carry over
    lowest_digit = min(int(value.as_tuple().exponent) for value in values)
    return Context(
        prec=max(28, highest_digit - lowest_digit + 1),
        rounding=ROUND_HALF_EVEN,
        traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
    )


def _to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """`value` moved to a multiple of `step` in Python `decimal` rounding `rounding`, exactly.

    1. Split `value` into whole steps (truncated toward zero) and an exact remainder that has
       the sign of `value`. Dividing and rounding the quotient instead would go through a
       rounded quotient whenever the step does not divide a power of ten (0.00013, 0.0025...).
    2. If the remainder is not zero, add one step away from zero where the rounding asks for it.
    3. Return the multiple without trailing zeros and without an exponent above zero.
    """
    if not value.is_finite():
        raise ValueError(f"value must be a finite number, got {value}")
    if not step.is_finite() or step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    with localcontext(_exact_context(value, step)):
        whole_steps, remainder = divmod(value, step)
        if remainder and _moves_away_from_zero(remainder, step, rounding):
            whole_steps += 1 if value > 0 else -1
        result = (whole_steps * step).normalize()
        if result.as_tuple().exponent > 0:  # 2.999E+4 -> 29990
            result = result.quantize(Decimal(1))
        return result + 0  # -0 -> 0


def _moves_away_from_zero(remainder: Decimal, step: Decimal, rounding: str) -> bool:
    if rounding == ROUND_DOWN:
        return False
    if rounding == ROUND_HALF_UP:
        return 2 * abs(remainder) >= step
    if rounding == ROUND_CEILING:
        return remainder > 0
    if rounding == ROUND_FLOOR:
        return remainder < 0
    raise ValueError(f"unsupported rounding {rounding}")


def decimal_places_to_tick(places: int) -> Decimal:
    """The step a DECIMAL_PLACES precision means: 8 -> 0.00000001, 0 -> 1, -1 -> 10."""
    if isinstance(places, bool) or not isinstance(places, int):
        raise TypeError(f"decimal places must be an int, got {places!r}")
    return Decimal(1).scaleb(-places)


def smallest_step(precision: Decimal | int, *, mode: PrecisionMode) -> Decimal:
    """The smallest increment a precision allows (freqtrade's `price_get_one_pip`)."""
    if mode == PrecisionMode.DECIMAL_PLACES:
        return decimal_places_to_tick(precision)  # type: ignore[arg-type]
    if mode == PrecisionMode.TICK_SIZE:
        if not isinstance(precision, Decimal | int) or isinstance(precision, bool):
            raise TypeError(f"a tick must be a Decimal, got {precision!r}")
        return Decimal(precision)
    raise ValueError(f"unsupported precision mode {mode!r}")


def to_precision(
    value: Decimal, precision: Decimal | int, *, mode: PrecisionMode, rounding: Rounding
) -> Decimal:
    """`value` at a market's precision, in ccxt's counting mode and ccxt/freqtrade's rounding.

    Same results as ccxt's `decimal_to_precision` for TRUNCATE and ROUND, and as freqtrade's
    `price_to_precision` for ROUND_UP and ROUND_DOWN, but computed on Decimals, exactly.
    """
    return _to_step(value, smallest_step(precision, mode=mode), _PYTHON_ROUNDING[rounding])


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
    """A Decimal as a message quotes it: no exponent, no trailing zeros, and at most 8
    places (half-up, as `apps.core.formatting` rounds): a quotient such as 100 / 65000 reads
    0.00153846, not 28 digits. Exact values (CSV, forms) use `plain`; an order's own figures
    in a refusal use `_price` / `_amount`, on the market's tick and step."""
    return (
        plain(value.quantize(_MESSAGE_PLACES, rounding=ROUND_HALF_UP))
        if _long(value)
        else plain(value)
    )


_MESSAGE_PLACES = Decimal(1).scaleb(-formatting.FALLBACK_PLACES)


def _long(value: Decimal) -> bool:
    exponent = value.as_tuple().exponent
    return (
        value.is_finite() and isinstance(exponent, int) and -exponent > formatting.FALLBACK_PLACES
    )


def _price(value: Decimal, rules: MarketRules) -> str:
    """A price in a message: on the tick, with the tick's places and separators."""
    return formatting.price(value, rules.tick_size, rules.quote)


def _limit(value: Decimal, unit: str) -> str:
    """A market's limit (or an exact product) in a message: as stated, trailing zeros
    dropped, separators, at most 8 places (so 5.004 never reads 5.00); a value too small for
    8 places is written exactly rather than as 0."""
    if value and not value.quantize(_MESSAGE_PLACES, rounding=ROUND_HALF_UP):
        return f"{plain(value)} {unit}"
    return formatting.price(value, None, unit)


def _amount(value: Decimal, rules: MarketRules) -> str:
    """An amount in a message: on the step (or, off it, to at most 8 places), with its unit."""
    return formatting.amount(value, rules.step_size, rules.base)


def prepare_order(rules: MarketRules, *, amount: Decimal, price: Decimal) -> PreparedOrder:
    """Round `amount` and `price` to `rules`, then check the limits on the rounded values.

    1. Refuse non-positive or non-finite inputs.
    2. Truncate the amount to the step and round the price to the tick; refuse either at 0.
    3. Check min and max amount, then min notional, on the rounded values.

    Raises OrderRuleViolation with a message that names the numbers, e.g.
    "0.00007 BTC × 64,250.12 USDT = 4.4975084 USDT is below the 5 USDT minimum".
    """
    if not amount.is_finite() or amount <= 0:
        raise OrderRuleViolation(f"Amount must be positive, got {fmt(amount)} {rules.base}.")
    if not price.is_finite() or price <= 0:
        raise OrderRuleViolation(f"Price must be positive, got {fmt(price)} {rules.quote}.")
    rounded_amount = round_amount(amount, rules.step_size)
    rounded_price = round_price(price, rules.tick_size)
    if rounded_amount <= 0:
        raise OrderRuleViolation(
            f"{fmt(amount)} {rules.base} rounds down to 0 at the step of "
            f"{fmt(rules.step_size)} {rules.base}."
        )
    if rounded_price <= 0:
        raise OrderRuleViolation(
            f"{fmt(price)} {rules.quote} rounds to 0 at the tick of "
            f"{fmt(rules.tick_size)} {rules.quote}."
        )
    notional = rounded_amount * rounded_price
    rounded = _amount_rounding_note(rules, amount=amount, rounded_amount=rounded_amount)
    # The order's own figures on the tick and step; the market's limits as it states them (a
    # 5.004 USDT minimum must not read 5.00) and the notional, an exact product, unrounded.
    if rules.min_amount is not None and rounded_amount < rules.min_amount:
        raise OrderRuleViolation(
            f"{_amount(rounded_amount, rules)} is below the "
            f"{_limit(rules.min_amount, rules.base)} minimum amount{rounded}."
        )
    if rules.max_amount is not None and rounded_amount > rules.max_amount:
        raise OrderRuleViolation(
            f"{_amount(rounded_amount, rules)} is above the "
            f"{_limit(rules.max_amount, rules.base)} maximum amount."
        )
    if rules.min_notional is not None and notional < rules.min_notional:
        raise OrderRuleViolation(
            f"{_amount(rounded_amount, rules)} × {_price(rounded_price, rules)} = "
            f"{_limit(notional, rules.quote)} is below the "
            f"{_limit(rules.min_notional, rules.quote)} minimum{rounded}."
        )
    return PreparedOrder(amount=rounded_amount, price=rounded_price, notional=notional)


def _amount_rounding_note(rules: MarketRules, *, amount: Decimal, rounded_amount: Decimal) -> str:
    """Say where the amount in a message came from when it is not what the trader typed."""
    if rounded_amount == amount:
        return ""
    return (
        f" ({fmt(amount)} {rules.base} truncated to the {fmt(rules.step_size)} {rules.base} step)"
    )
