"""Synthetic candles for simulated prices (charts and indicators on paper accounts). Pure.

The paper exchange keeps no trade history, so candles are generated backward from the current
price: each candle's return is a deterministic draw for (symbol, timeframe, candle start), and
the newest candle closes at the current price. The series therefore always ends where the
market is, and its shape is the same on every call within a candle.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from apps.exchanges.domain.precision import round_price
from apps.exchanges.domain.types import Candle
from apps.exchanges.paper.walk import shock

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
# A candle moves at most this much in one draw; the price walk reverts to its anchor, so
# long candles must not swing by the unbounded sqrt-of-time volatility.
_MAX_CANDLE_VOLATILITY = Decimal("0.03")
MAX_CANDLES = 1000
_QUOTE_VOLUME = Decimal(1_000_000)
_LOT = Decimal("0.001")


def timeframe_seconds(timeframe: str) -> int:
    match = re.fullmatch(r"(\d+)([mhdw])", timeframe)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"Unknown timeframe {timeframe!r}; use e.g. 1m, 15m, 1h, 4h, 1d.")
    return int(match.group(1)) * _UNITS[match.group(2)]


def synthetic_candles(
    *,
    symbol: str,
    seed: int,
    timeframe: str,
    last: Decimal,
    now: datetime,
    step_volatility: Decimal,
    step_seconds: Decimal,
    tick: Decimal,
    limit: int = 200,
    since_ms: int | None = None,
) -> list[Candle]:
    """Up to `limit` candles ending with the one that contains `now` (closing at `last`).

    1. Scale the per-step volatility to the timeframe (sqrt of steps, capped).
    2. Walk back from `last`: a candle opens at its close divided by (1 + its return).
    3. Widen each candle by two more draws for its wicks; round everything to the tick.
    """
    seconds = timeframe_seconds(timeframe)
    steps = max(Decimal(seconds) / step_seconds, Decimal(1))
    volatility = min(step_volatility * steps.sqrt(), _MAX_CANDLE_VOLATILITY)
    newest = int(now.timestamp()) // seconds
    count = max(1, min(limit, MAX_CANDLES))
    oldest = newest - count + 1
    if since_ms is not None:
        oldest = max(oldest, -(-since_ms // (seconds * 1000)))
    key = f"{symbol}|{timeframe}"
    candles: list[Candle] = []
    close = last
    for index in range(newest, oldest - 1, -1):
        open_ = close / (1 + volatility * shock(symbol=key, seed=seed, step=index))
        wick_up = abs(shock(symbol=key + "|high", seed=seed, step=index)) * volatility / 4
        wick_down = abs(shock(symbol=key + "|low", seed=seed, step=index)) * volatility / 4
        candles.append(
            Candle(
                opened_at=datetime.fromtimestamp(index * seconds, tz=UTC),
                open=round_price(open_, tick),
                high=round_price(max(open_, close) * (1 + wick_up), tick),
                low=max(round_price(min(open_, close) * (1 - wick_down), tick), tick),
                close=round_price(close, tick),
                # About a million quote units traded per candle, whatever the price.
                volume=round_price(_QUOTE_VOLUME / close * (1 + wick_up + wick_down), _LOT),
            )
        )
        close = open_
    candles.reverse()
    return candles
