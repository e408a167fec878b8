"""How a page should write a figure, worked out here independently of apps.core.formatting
(Python's own `format` with a thousands separator), for page tests to expect."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

MINUS = "\u2212"


def figure(value: Decimal, places: int, unit: str = "", *, plus: bool = False) -> str:
    """`value` half-up to `places`, with separators, U+2212 or `+`, and its unit."""
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = MINUS if rounded < 0 else "+" if plus and rounded > 0 else ""
    text = sign + format(abs(rounded), ",")
    return f"{text} {unit}" if unit else text
