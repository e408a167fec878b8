"""Paper candles built from the simulated price walk itself (charts and indicators). Pure.

Every walk step is recorded as a one-minute bar (`PaperCandle`, written with the price), so a
candle is what the walk did inside it: opened at the walk's price when it started, closed at
its price when it ended, high and low the extremes of the recorded steps. Every indicator
therefore agrees with the last price, as it would on an exchange. Before the recorded history
begins (a fresh desk, or older than the bars kept), candles are generated backward from the
first recorded price with the walk's own dynamics (its step volatility and its pull back to
the anchor), deterministic for (symbol, timeframe, candle start), so the past looks like the
walk and joins it without a gap.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from apps.exchanges.domain.precision import round_price
from apps.exchanges.domain.types import Candle
from apps.exchanges.paper.walk import shock

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_CANDLES = 1000
_QUOTE_VOLUME = Decimal(1_000_000)
_LOT = Decimal("0.001")


@dataclass(frozen=True)
class Bar:
    """One recorded minute of the walk (`minute` counts minutes since the Unix epoch)."""

    minute: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


@dataclass(frozen=True)
class WalkShape:
    """What the walk is made of, for the candles before its recorded history."""

    seed: int
    step_volatility: Decimal
    step_seconds: Decimal
    anchor: Decimal
    reversion: Decimal
    tick: Decimal


@dataclass(frozen=True)
class Window:
    """The candles asked for: bucket numbers `oldest` to `newest` of `seconds` each."""

    seconds: int
    oldest: int
    newest: int

    @property
    def first_minute(self) -> int:
        return self.oldest * self.seconds // 60


def timeframe_seconds(timeframe: str) -> int:
    match = re.fullmatch(r"(\d+)([mhdw])", timeframe)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"Unknown timeframe {timeframe!r}; use e.g. 1m, 15m, 1h, 4h, 1d.")
    return int(match.group(1)) * _UNITS[match.group(2)]


def window(*, timeframe: str, now: datetime, limit: int, since_ms: int | None) -> Window:
    """Up to `limit` candles ending with the one that contains `now`, from `since_ms` if set."""
    seconds = timeframe_seconds(timeframe)
    newest = int(now.timestamp()) // seconds
    oldest = newest - max(1, min(limit, MAX_CANDLES)) + 1
    if since_ms is not None:
        oldest = max(oldest, -(-since_ms // (seconds * 1000)))
    return Window(seconds=seconds, oldest=oldest, newest=newest)


def walk_candles(
    *,
    symbol: str,
    timeframe: str,
    span: Window,
    bars: Sequence[Bar],
    previous_close: Decimal | None,
    last: Decimal,
    shape: WalkShape,
) -> list[Candle]:
    """The candles of `span` from the walk's recorded minute bars.

    1. Group the bars (oldest first, all inside the span) by candle. `previous_close` is the
       close of the last bar before the span, None when the history starts inside it.
    2. From the first recorded candle on, each candle aggregates its bars; one without bars
       (the walk did not step: the desk was stopped) stays flat at the last close.
    3. Candles before the first recorded one are generated backward from its open.
    4. The newest candle closes at `last`, the current price.
    """
    by_bucket: dict[int, list[Bar]] = {}
    for bar in bars:
        by_bucket.setdefault(bar.minute * 60 // span.seconds, []).append(bar)
    recorded_from = span.oldest if previous_close is not None else min(by_bucket, default=None)
    candles: list[Candle] = []
    if recorded_from is None:
        candles = _backfill(symbol, timeframe, span, span.newest + 1, last, shape)
    else:
        first_open = (
            previous_close if previous_close is not None else by_bucket[recorded_from][0].open
        )
        candles = _backfill(symbol, timeframe, span, recorded_from, first_open, shape)
        close = first_open
        for bucket in range(recorded_from, span.newest + 1):
            candle = _aggregate(bucket, span.seconds, by_bucket.get(bucket, []), close)
            candles.append(candle)
            close = candle.close
    return [*candles[:-1], _closing_at(candles[-1], last)]


def _aggregate(bucket: int, seconds: int, bars: Sequence[Bar], close: Decimal) -> Candle:
    if not bars:
        return _candle(bucket, seconds, close, close, close, close)
    return _candle(
        bucket,
        seconds,
        bars[0].open,
        max(bar.high for bar in bars),
        min(bar.low for bar in bars),
        bars[-1].close,
    )


def _closing_at(candle: Candle, last: Decimal) -> Candle:
    if candle.close == last:
        return candle
    return Candle(
        opened_at=candle.opened_at,
        open=candle.open,
        high=max(candle.high, last),
        low=min(candle.low, last),
        close=last,
        volume=candle.volume,
    )


def _candle(bucket: int, seconds: int, open_, high, low, close) -> Candle:
    spread = (high - low) / close if close else Decimal(0)
    return Candle(
        opened_at=datetime.fromtimestamp(bucket * seconds, tz=UTC),
        open=open_,
        high=high,
        low=low,
        close=close,
        # About a million quote units traded per candle, more when it swings.
        volume=round_price(_QUOTE_VOLUME / close * (1 + spread), _LOT),
    )


def _backfill(
    symbol: str, timeframe: str, span: Window, until: int, close: Decimal, shape: WalkShape
) -> list[Candle]:
    """Candles of buckets span.oldest .. until-1, generated backward so the last closes at
    `close`, with the walk's dynamics over one candle.

    The walk is, near its anchor, a mean-reverting process in log price (per step: pull back
    by `reversion`, shock of `step_volatility`). Over the n steps of a candle that is one
    step that keeps phi = (1 - reversion)^n of the gap and adds a shock of standard deviation
    step_volatility × sqrt((1 - phi²) / (1 - (1 - reversion)²)). Such a process is
    time-reversible, so the same step run backward from a close gives a faithful open.
    """
    steps = max(Decimal(span.seconds) / shape.step_seconds, Decimal(1))
    keep = (1 - shape.reversion) ** steps
    if shape.reversion > 0:
        spread = shape.step_volatility * ((1 - keep**2) / (1 - (1 - shape.reversion) ** 2)).sqrt()
    else:
        spread = shape.step_volatility * steps.sqrt()
    key = f"{symbol}|{timeframe}"
    tick = shape.tick
    candles: list[Candle] = []
    gap = (close / shape.anchor).ln()
    for bucket in range(until - 1, span.oldest - 1, -1):
        open_gap = gap * keep + spread * shock(symbol=key, seed=shape.seed, step=bucket)
        open_ = shape.anchor * open_gap.exp()
        wick_up = abs(shock(symbol=key + "|high", seed=shape.seed, step=bucket)) * spread / 4
        wick_down = abs(shock(symbol=key + "|low", seed=shape.seed, step=bucket)) * spread / 4
        candles.append(
            _candle(
                bucket,
                span.seconds,
                max(round_price(open_, tick), tick),
                round_price(max(open_, close) * (1 + wick_up), tick),
                max(round_price(min(open_, close) * (1 - wick_down), tick), tick),
                max(round_price(close, tick), tick),
            )
        )
        close, gap = open_, open_gap
    candles.reverse()
    return candles
