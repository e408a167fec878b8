"""Numbers as a trading tool shows them: the one place every page's figures are written. Pure.

- `price(value, tick)`: to the market's tick, with the tick's places (`64,250.10` at 0.01,
  `156.5` at 0.5, `0.00001230` at 0.00000001).
- `amount(value, step)`: on the market's step, the same way (`1.500` at 0.001); an amount
  off the step (held net of a fee paid in the base) keeps its digits, up to 8 places.
- `quote(value, unit, places)`: a value in the quote currency to `places` (the QUOTE_PLACES
  setting; the template filters pass it), e.g. `10,001.45 USDT`.
- `signed(value, unit, places)`: `+12.40 USDT` for a gain, `−3.10 USDT` (a true minus sign,
  U+2212) for a loss, zero unsigned.
- `pct(value, signed=...)`: `1.20 %`; signed (`+1.20 %`) where the figure is a change.
- `tone(value)`: `gain`, `loss` or `` (the CSS classes of desk.css).

Every figure has thousands separators and, when given one, its unit after a space. A negative
value is written with U+2212 everywhere, so a figure never changes its width or its sign's look
between pages.

Rounding is **half-up** (halves away from zero), everywhere here: it is how exchanges and
ccxt round a price to the tick, and what `apps.exchanges.domain.precision.round_price` sends,
so a price shown is the price the desk would send; it is also what a trader expects from
`0.125` at two places (`0.13`). Half-even would be fairer over many sums, but a display never
sums what it rounded, and showing a different price from the one sent would be a lie.

Rounding is for the eyes only: these functions return text and never touch the Decimal they
are given; stored and exported values stay exact (`plain` writes them unrounded, for CSV,
inputs and forms). A value without a known tick or step is shown to `FALLBACK_PLACES` at most,
trailing zeros dropped, rather than to 18 places.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

from apps.core.numbers import NumberError, parse_decimal, plain

__all__ = [
    "FALLBACK_PLACES",
    "MarketFormat",
    "amount",
    "pct",
    "plain",
    "price",
    "quote",
    "signed",
    "status_words",
    "tone",
]

MINUS = "\u2212"
DASH = "–"  # what a missing figure reads
DEFAULT_QUOTE_PLACES = 2
PCT_PLACES = 2
# Places of a price or an amount whose market is not known (a deleted market, a balance).
FALLBACK_PLACES = 8
# Wide enough that no value a MoneyField holds (36 digits) is rounded by the arithmetic itself.
_CONTEXT = Context(prec=80, rounding=ROUND_HALF_UP)


def _decimal(value) -> Decimal | None:
    """The value as a finite Decimal, or None (None, "", words, NaN: shown as they are)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    if isinstance(value, str) and value:  # a Decimal kept as text (events, JSON), bounded
        try:
            return parse_decimal(value, field="value")
        except NumberError:
            return None
    return None


def _places_of(step: Decimal) -> int:
    """Decimal places a tick or step shows: 0.01 -> 2, 0.5 -> 1, 1 -> 0, 10 -> 0."""
    exponent = step.normalize().as_tuple().exponent
    return max(0, -int(exponent))


def _to_step(value: Decimal, step: Decimal) -> Decimal:
    """`value` at the nearest multiple of `step`, halves away from zero, with the step's
    places."""
    places = Decimal(1).scaleb(-_places_of(step))
    try:
        steps = _CONTEXT.divide(value, step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return _CONTEXT.multiply(steps, step).quantize(places, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # beyond the context: show it to the step's places only
        return value.quantize(places, rounding=ROUND_HALF_UP, context=_CONTEXT)


def _to_places(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=_CONTEXT)


def _written(rounded: Decimal, unit: str = "", *, plus: bool = False) -> str:
    """The rounded value with separators, U+2212 for a negative, `+` when asked, its unit."""
    text = f"{abs(rounded):,f}"
    if rounded < 0:
        text = MINUS + text
    elif plus and rounded > 0:
        text = "+" + text
    return f"{text} {unit}" if unit else text


def _missing(value) -> str | None:
    """What a figure reads when it is not a number: a dash for nothing, else the text."""
    if value is None or value == "":
        return DASH
    return str(value)


def _fallback(value: Decimal) -> Decimal:
    """A value with no known step: at most FALLBACK_PLACES, trailing zeros dropped (never an
    exponent: `normalize` would write 1E+3)."""
    rounded = _to_places(value, FALLBACK_PLACES)
    text = plain(rounded)
    return Decimal(text)


def price(value, tick: Decimal | None = None, unit: str = "") -> str:
    """A price on the market's tick with the tick's places: `64,250.10 USDT`."""
    number = _decimal(value)
    if number is None:
        return _missing(value)
    step = _decimal(tick)
    rounded = _to_step(number, step) if step and step > 0 else _fallback(number)
    return _written(rounded, unit)


def amount(value, step: Decimal | None = None, unit: str = "") -> str:
    """An amount on the market's step with the step's places: `0.123 BTC`.

    An amount off the step (what a position holds after fees paid in the base asset,
    0.01083915 at a 0.00001 step) is not pulled onto it: rounding would show more than is
    held, or hide the dust. It is written to at most FALLBACK_PLACES instead."""
    number = _decimal(value)
    size = _decimal(step)
    if number is not None and size and size > 0 and _CONTEXT.remainder(number, size):
        return _written(_fallback(number), unit)
    return price(value, step, unit)


def quote(value, unit: str = "", *, places: int = DEFAULT_QUOTE_PLACES) -> str:
    """A value in the quote currency to `places`: `10,001.45 USDT`."""
    number = _decimal(value)
    if number is None:
        return _missing(value)
    return _written(_to_places(number, places), unit)


def signed(value, unit: str = "", *, places: int = DEFAULT_QUOTE_PLACES) -> str:
    """A gain or a loss: `+12.40 USDT`, `−3.10 USDT`; what rounds to zero is unsigned."""
    number = _decimal(value)
    if number is None:
        return _missing(value)
    return _written(_to_places(number, places), unit, plus=True)


def pct(value, *, signed: bool = False, places: int = PCT_PLACES) -> str:
    """A percentage to two places: `1.20 %`; `+1.20 %` / `−1.20 %` when `signed` (a change)."""
    number = _decimal(value)
    if number is None:
        return _missing(value)
    return _written(_to_places(number, places), "%", plus=signed)


def tone(value, *, places: int = DEFAULT_QUOTE_PLACES) -> str:
    """`gain`, `loss` or `` for a value as shown at `places`: a figure that reads 0.00 is
    not coloured."""
    number = _decimal(value)
    if number is None:
        return ""
    rounded = _to_places(number, places)
    if rounded > 0:
        return "gain"
    if rounded < 0:
        return "loss"
    return ""


def status_words(status: str, reason: str = "") -> str:
    """A status as a trader reads it, with why in plain words: `Closed · exit signal` (never
    `Closed (exit_signal)`); the reason alone, lower-case, after a middle dot."""
    return f"{status} · {reason}" if reason else status


@dataclass(frozen=True)
class MarketFormat:
    """What a market's figures are written with: its tick and step (None when the market is
    not known) and its units. Views and services attach one to the objects they render
    (`apps.core.market_formats.attach_formats`); the filters read it."""

    base: str = ""
    quote: str = ""
    tick: Decimal | None = None
    step: Decimal | None = None

    @classmethod
    def of_symbol(cls, symbol: str, **known) -> MarketFormat:
        """Units read from a `BASE/QUOTE` symbol (`BTC/USDT:USDT` too), the rest as given."""
        base, _, quote = symbol.partition("/")
        return cls(base=base, quote=quote.partition(":")[0], **known)
