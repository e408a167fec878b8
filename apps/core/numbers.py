"""The one way in for numbers that come from a person or a webhook. Pure.

`Decimal("1e999999999")` is cheap, but `int()` of it, a quantize, or writing it out in a
message is not: one such value held a process for twenty minutes. So a number is accepted only
in plain decimal notation (ASCII digits, an optional sign, point and short exponent), with a
bounded length, number of places and magnitude, before anything computes with it. Every
refusal is a sentence that names the field and the bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

ZERO = Decimal(0)  # the one zero money is compared with and summed from
MAX_TEXT_LENGTH = 40
# Digits either side of the point, as MoneyField stores them (36 digits, 18 places).
MAX_INTEGER_DIGITS = 18
MAX_PLACES = 18
# Plain notation: digits, an optional sign and point; an exponent of at most two digits
# (TradingView and JSON encoders write 1.5e-05 for small prices).
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,2})?", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d{1,19}", re.ASCII)
# PostgreSQL's bigint, the widest integer column the desk has.
BIGINT_MAX = 2**63 - 1


class NumberError(ValueError):
    """A value that is not an acceptable number; the message is what the person reads.
    `kind` is "format" (not a plain number at all) or "range" (a number, out of bounds)."""

    def __init__(self, message: str, kind: str = "range") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Bounds:
    """What a field accepts: inclusive limits and the number of places kept."""

    minimum: Decimal | None = None
    maximum: Decimal | None = None
    places: int = MAX_PLACES

    def describe(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"from {self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f"at least {self.minimum}"
        if self.maximum is not None:
            return f"at most {self.maximum}"
        return "a number"


def _shown(value: Any) -> str:
    """The value as a message may quote it: short, printable."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(ch if ch.isprintable() and ch.isascii() else "?" for ch in text)
    return text if len(text) <= 24 else text[:21] + "…"


def parse_decimal(value: Any, *, field: str, bounds: Bounds = Bounds()) -> Decimal:
    """`value` (a string, int or Decimal) as a Decimal within `bounds`, or NumberError.

    1. Only plain notation of at most MAX_TEXT_LENGTH characters: no spaces, underscores,
       NaN, Infinity or non-ASCII digits. 2. At most MAX_INTEGER_DIGITS before the point and
       `bounds.places` after it, checked on the exponent before any arithmetic. 3. Within the
       bounds."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise NumberError(f"{field} must be a number, not {_shown(value)}.", "format")
    if isinstance(value, int) and value.bit_length() > 64:
        raise NumberError(f"{field} is too large: it must be {bounds.describe()}.")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_TEXT_LENGTH or not _DECIMAL.fullmatch(text):
        raise NumberError(
            f"{field} must be a plain number such as 12.5 (digits, with an optional sign and "
            f"decimal point), not {_shown(text)}.",
            "format",
        )
    try:
        number = Decimal(text)
    except InvalidOperation:  # the pattern admits only what Decimal reads; kept for safety
        raise NumberError(
            f"{field} must be a plain number, not {_shown(text)}.", "format"
        ) from None
    if number and number.adjusted() >= MAX_INTEGER_DIGITS:
        raise NumberError(f"{field} is too large: it must be {bounds.describe()}.")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > bounds.places:
        places = "no decimal places" if bounds.places == 0 else f"{bounds.places} decimal places"
        raise NumberError(f"{field} may have at most {places}, not {_shown(text)}.")
    if bounds.minimum is not None and number < bounds.minimum:
        raise NumberError(f"{field} must be {bounds.describe()}, not {_shown(text)}.")
    if bounds.maximum is not None and number > bounds.maximum:
        raise NumberError(f"{field} must be {bounds.describe()}, not {_shown(text)}.")
    return number


def parse_int(value: Any, *, field: str, minimum: int = 0, maximum: int = BIGINT_MAX) -> int:
    """`value` (a string or int) as an int from `minimum` to `maximum`, or NumberError. A
    string must be ASCII digits with an optional sign, at most 19 of them."""
    limits = f"a whole number from {minimum} to {maximum}"
    if isinstance(value, bool):
        raise NumberError(f"{field} must be {limits}, not {_shown(value)}.")
    if isinstance(value, Decimal):  # a JSON number: whole and small, or refused unread
        # adjusted() reads the exponent; abs() or int() of 1e999999999 would overflow or hang.
        if not value.is_finite() or value.adjusted() > 18 or value != int(value):
            raise NumberError(f"{field} must be {limits}.")
        value = int(value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _INTEGER.fullmatch(value):
        number = int(value)
    else:
        raise NumberError(f"{field} must be {limits}, not {_shown(value)}.")
    if not minimum <= number <= maximum:
        raise NumberError(f"{field} must be {limits}, not {_shown(value)}.")
    return number


def plain(value: Decimal) -> str:
    """A Decimal as a trader writes it: no exponent, no trailing zeros, never rounded."""
    # Formatting the value as it is, rather than normalize() first, never rounds: normalize()
    # works in the context's 28 digits.
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
