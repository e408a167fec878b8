"""Moving averages and RSI on candle closes, computed the way TradingView's Pine built-ins do.

Pure: the caller passes the closes (oldest first, closed candles only) as Decimals. Every function
returns a list as long as its input, with None where Pine shows `na` (the warm-up), so index i of
the result belongs to candle i. Results are not quantized: callers round for display.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import (
    ROUND_CEILING,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

# A fixed context rather than the caller's: results must not depend on whatever precision or
# rounding the thread happens to use. Python's default precision is 28 digits; 34 (decimal128)
# leaves room for the long recursions of EMA/RMA on sub-cent prices.
_CONTEXT = Context(
    prec=34, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)

_HUNDRED = Decimal(100)

# EMA and RMA are IIR filters: candle k after the seed still carries the seed's error with weight
# (1 - alpha)^k. TradingView seeds at the first candle of the whole chart, we seed at the first
# candle we fetched, so we fetch until that leftover weight is below SEED_WEIGHT. The floor keeps
# short periods on a comfortable margin; the cap keeps the fetch to one request on binance and
# bybit (1000 candles). Periods long enough to hit the cap (EMA from ~200, RSI from ~100) keep a
# larger leftover.
SEED_WEIGHT = Decimal("1e-4")
MIN_WARMUP_CANDLES = 250
MAX_WARMUP_CANDLES = 1000


def _check_period(period: int) -> None:
    # bool is an int subclass; period=True would silently mean 1.
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        raise ValueError(f"period must be a whole number of candles, 1 or more; got {period!r}")


def _smoothed(
    values: Sequence[Decimal | None], period: int, alpha: Decimal
) -> list[Decimal | None]:
    """Pine's `na(sum[1]) ? ta.sma(src, length) : alpha * src + (1 - alpha) * sum[1]`.

    1. Until `period` defined values have been seen the result is None (leading None inputs,
       like RSI's first change, are skipped as Pine skips na).
    2. The first defined result is the SMA of those `period` values.
    3. After that, each result moves from the previous one towards the value by `alpha`.
    """
    result: list[Decimal | None] = []
    seed_window: list[Decimal] = []
    previous: Decimal | None = None
    for value in values:
        if value is not None and previous is None:
            seed_window.append(value)
            if len(seed_window) == period:
                previous = sum(seed_window, Decimal(0)) / period
        elif value is not None and previous is not None:
            # prev + alpha*(x - prev) is Pine's alpha*x + (1-alpha)*prev rearranged; in Decimal
            # it keeps a constant series exactly constant, where the other form can drift 1 ulp.
            previous = previous + alpha * (value - previous)
        result.append(previous)
    return result


def sma(values: Sequence[Decimal], period: int) -> list[Decimal | None]:
    """Pine `ta.sma`: mean of the last `period` closes; defined from index period-1."""
    _check_period(period)
    with localcontext(_CONTEXT):
        result: list[Decimal | None] = []
        window_sum = Decimal(0)
        for index, value in enumerate(values):
            window_sum += value
            if index >= period:
                window_sum -= values[index - period]
            result.append(window_sum / period if index >= period - 1 else None)
        return result


def ema(values: Sequence[Decimal], period: int) -> list[Decimal | None]:
    """Pine's built-in `ta.ema`: alpha = 2/(period+1), seeded with the SMA of the first `period`.

    TradingView's reference shows a "same on pine" version seeded with the first close, which is
    defined from candle 0. The built-in (like TA-Lib) is na for the first period-1 candles and
    starts from the SMA; that is what charts show and what this returns. The two seedings differ
    early and agree once the seed's weight has decayed, which is why `warmup_candles` asks for a
    few hundred candles.
    """
    _check_period(period)
    with localcontext(_CONTEXT):
        return _smoothed(values, period, Decimal(2) / (period + 1))


def rma(values: Sequence[Decimal | None], period: int) -> list[Decimal | None]:
    """Pine `ta.rma` (Wilder's smoothing): alpha = 1/period, seeded with the SMA of the first
    `period` values. Leading None values (na) are skipped, as Pine skips na."""
    _check_period(period)
    with localcontext(_CONTEXT):
        return _smoothed(values, period, Decimal(1) / period)


def rsi(values: Sequence[Decimal], period: int) -> list[Decimal | None]:
    """Pine `ta.rsi(close, period)`; defined from index `period`.

    1. up = max(close - close[1], 0), down = max(close[1] - close, 0); both na at index 0.
    2. Smooth both with `rma`.
    3. TradingView's RSI indicator script guards the division:
       `down == 0 ? 100 : up == 0 ? 0 : 100 - 100 / (1 + up / down)`, and so do we. A flat
       stretch (up == down == 0) therefore reads 100, not 50 and not na.
    """
    _check_period(period)
    with localcontext(_CONTEXT):
        changes = [values[i] - values[i - 1] if i else None for i in range(len(values))]
        up = rma([None if c is None else max(c, Decimal(0)) for c in changes], period)
        down = rma([None if c is None else max(-c, Decimal(0)) for c in changes], period)
        return [_rsi_value(u, d) for u, d in zip(up, down, strict=True)]


def _rsi_value(up: Decimal | None, down: Decimal | None) -> Decimal | None:
    if up is None or down is None:
        return None
    if down == 0:
        return _HUNDRED
    if up == 0:
        return Decimal(0)
    return _HUNDRED - _HUNDRED / (1 + up / down)


_INDICATORS: dict[str, Callable[[Sequence[Decimal], int], list[Decimal | None]]] = {
    "sma": sma,
    "ema": ema,
    "rsi": rsi,
}


def _indicator(kind: str) -> Callable[[Sequence[Decimal], int], list[Decimal | None]]:
    try:
        return _INDICATORS[kind]
    except KeyError:
        known = ", ".join(sorted(_INDICATORS))
        raise ValueError(f"unknown indicator {kind!r}; expected one of {known}") from None


def latest(kind: str, values: Sequence[Decimal], period: int) -> Decimal | None:
    """The value on the last candle of `sma`, `ema` or `rsi`; None when there are too few."""
    series = _indicator(kind)(values, period)
    return series[-1] if series else None


def warmup_candles(kind: str, period: int) -> int:
    """How many closed candles to fetch so the last value matches a chart with full history.

    1. SMA has no memory beyond its window: `period` candles give the exact value.
    2. EMA and RSI (via RMA) need their first value (`period` candles, RSI one more for the first
       change) plus k candles for the seed's weight (1 - alpha)^k to fall below SEED_WEIGHT.
       For RSI that bounds the smoothed gains and losses; in a quiet market their ratio can
       magnify what is left, so RSI is close (hundredths of a point) rather than exact.
    3. Clamped to [MIN_WARMUP_CANDLES, MAX_WARMUP_CANDLES], but never below what gives a value.
    """
    _indicator(kind)
    _check_period(period)
    if kind == "sma":
        return period
    first_defined = period + 1 if kind == "rsi" else period
    alpha = Decimal(1) / period if kind == "rsi" else Decimal(2) / (period + 1)
    decay = 0  # period 1 has alpha = 1: no memory, nothing to decay
    if alpha < 1:
        with localcontext(_CONTEXT):
            # (1 - alpha)^k <= SEED_WEIGHT  <=>  k >= ln(SEED_WEIGHT) / ln(1 - alpha)
            decay = int((SEED_WEIGHT.ln() / (1 - alpha).ln()).to_integral_value(ROUND_CEILING))
    wanted = min(max(first_defined + decay, MIN_WARMUP_CANDLES), MAX_WARMUP_CANDLES)
    return max(wanted, first_defined)
