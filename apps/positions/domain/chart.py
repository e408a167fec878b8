"""What a position's price chart draws, as values: the timeframe of its candles, its levels
(price lines) and its fills (markers). Pure: the chart service reads the rows and the exchange.

Prices stay Decimal here and leave as strings (exact, without trailing zeros); only the
browser turns them into numbers, to draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from apps.core.numbers import plain
from apps.core.timeframes import ccxt_timeframe

# A ticket has no timeframe of its own (its rules may name several): its chart shows this one
# unless its rules read candles of one timeframe, which it then shows.
DEFAULT_TIMEFRAME = "15m"
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Level:
    """One price line: what it is (`kind`, for its colour), its label and its price."""

    kind: str  # entry, leg, leg-resting, stop, trailing, take-profit
    label: str
    price: Decimal

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "label": self.label, "price": plain(self.price)}


@dataclass(frozen=True)
class Marker:
    """One fill: when (the start of the candle it happened in), buy or sell, at what price."""

    time: int  # Unix seconds
    side: str
    price: Decimal
    label: str

    def to_json(self) -> dict[str, object]:
        price = plain(self.price)
        return {"time": self.time, "side": self.side, "price": price, "label": self.label}


def chart_timeframe(stored: str | None) -> str:
    """The ccxt timeframe of a position's candles: its own, as TradingView wrote it ("15",
    "240", "1D", "1W": digits are minutes) or as ccxt writes it ("15m", "4h"); DEFAULT_TIMEFRAME
    when it has none or one a chart cannot show (seconds, months)."""
    return ccxt_timeframe(stored) or DEFAULT_TIMEFRAME


def timeframe_seconds(timeframe: str) -> int:
    return int(timeframe[:-1]) * _UNIT_SECONDS[timeframe[-1]]


def candle_start(moment: datetime, timeframe: str) -> int:
    """The Unix second the candle holding `moment` opened: a marker sits on its candle."""
    seconds = timeframe_seconds(timeframe)
    return int(moment.timestamp()) // seconds * seconds


def price_places(tick: Decimal | None) -> int:
    """Decimal places of the market's tick (0.01 -> 2, 0.5 -> 1, 10 -> 0)."""
    if tick is None or tick <= 0:
        return 8
    exponent = tick.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 8
