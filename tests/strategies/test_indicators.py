"""Indicators: SMA, EMA, RMA and RSI as TradingView's Pine built-ins compute them.

Checked three ways: parity with an independent float reimplementation written bar by bar from
Pine's published definitions (`na`, `nz`, `x[1]`), on the real candles in ../shared; small
series worked out by hand with exact Decimals; and hypothesis properties.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.strategies.domain.indicators import (
    MAX_WARMUP_CANDLES,
    SEED_WEIGHT,
    ema,
    latest,
    rma,
    rsi,
    sma,
    warmup_candles,
)

OHLCV_DIR = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "ohlcv"
XRP_5M = "XRP_USDT_USDT-5m-futures.csv"
BTC_1M = "UNITTEST_BTC-1m.csv"  # closes around 0.002 BTC: only relative tolerances make sense
FIXTURE_ROWS = {XRP_5M: 1999, BTC_1M: 13681}

# Decimal (34 digits) against float (~16): what is left is float rounding along the recursion.
REL_TOL = 1e-9
RSI_ABS_TOL = 1e-9  # RSI is on a 0..100 scale; near 0 a relative tolerance alone is too strict

CASES = [
    ("ema", 9),
    ("ema", 21),
    ("ema", 50),
    ("ema", 200),
    ("sma", 20),
    ("sma", 50),
    ("rsi", 14),
    ("rsi", 2),
    ("rsi", 30),
]
FIRST_DEFINED_INDEX = {"sma": lambda n: n - 1, "ema": lambda n: n - 1, "rsi": lambda n: n}
INDICATORS = {"sma": sma, "ema": ema, "rsi": rsi}


@functools.cache
def _load_closes(name: str) -> tuple[Decimal, ...] | None:
    path = OHLCV_DIR / name
    if not path.exists():
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        # Decimal(str) reads each close exactly as written, with no binary float in between.
        return tuple(Decimal(row["close"]) for row in csv.DictReader(handle))


def closes(name: str) -> tuple[Decimal, ...]:
    loaded = _load_closes(name)
    if loaded is None:
        pytest.skip(f"the OHLCV fixtures are not at {OHLCV_DIR} (no ../shared checkout)")
    assert len(loaded) == FIXTURE_ROWS[name], f"{name} should hold {FIXTURE_ROWS[name]} candles"
    return loaded


# --- Pine, in floats, bar by bar -----------------------------------------------------------------
# Written from the Pine reference rather than from the module: each function walks the bars the
# way a Pine script runs, reading the previous bar's result as `x[1]`, with NaN standing for na.

NA = math.nan


def na(x: float) -> bool:
    return math.isnan(x)


def nz(x: float) -> float:
    return 0.0 if na(x) else x


def pine_sma(src: Sequence[float], length: int) -> list[float]:
    """ta.sma: the mean of the last `length` bars; na while any of them is na or missing."""
    out = []
    for bar in range(len(src)):
        window = src[bar - length + 1 : bar + 1] if bar >= length - 1 else []
        out.append(math.fsum(window) / length if window and not any(map(na, window)) else NA)
    return out


def pine_sma_seeded(src: Sequence[float], length: int, alpha: float) -> list[float]:
    """sum := na(sum[1]) ? ta.sma(src, length) : alpha * src + (1 - alpha) * nz(sum[1])"""
    seed = pine_sma(src, length)
    out: list[float] = []
    for bar, x in enumerate(src):
        previous = out[bar - 1] if bar else NA
        out.append(seed[bar] if na(previous) else alpha * x + (1 - alpha) * nz(previous))
    return out


def pine_ema(src: Sequence[float], length: int) -> list[float]:
    return pine_sma_seeded(src, length, 2 / (length + 1))


def pine_rma(src: Sequence[float], length: int) -> list[float]:
    return pine_sma_seeded(src, length, 1 / length)


def pine_ema_first_value_seed(src: Sequence[float], length: int) -> list[float]:
    """The reference's "same on pine" EMA: sum := na(sum[1]) ? src : alpha*src + (1-alpha)*sum[1]"""
    alpha = 2 / (length + 1)
    out: list[float] = []
    for bar, x in enumerate(src):
        previous = out[bar - 1] if bar else NA
        out.append(x if na(previous) else alpha * x + (1 - alpha) * nz(previous))
    return out


def pine_rsi(src: Sequence[float], length: int) -> list[float]:
    """TradingView's RSI: up/down = rma of max(±change, 0); down == 0 ? 100 : up == 0 ? 0 : …"""
    change = [NA] + [src[bar] - src[bar - 1] for bar in range(1, len(src))]
    up = pine_rma([NA if na(c) else max(c, 0.0) for c in change], length)
    down = pine_rma([NA if na(c) else max(-c, 0.0) for c in change], length)
    out = []
    for u, d in zip(up, down, strict=True):
        if na(u) or na(d):
            out.append(NA)
        else:
            out.append(100.0 if d == 0 else 0.0 if u == 0 else 100 - 100 / (1 + u / d))
    return out


PINE = {"sma": pine_sma, "ema": pine_ema, "rsi": pine_rsi}


def relative_difference(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b))


# --- Parity on real candles ----------------------------------------------------------------------


@pytest.mark.parametrize("fixture", [XRP_5M, BTC_1M])
@pytest.mark.parametrize(("kind", "period"), CASES)
def test_indicator_matches_pine_definition_on_real_candles(
    fixture: str, kind: str, period: int
) -> None:
    decimal_closes = closes(fixture)
    actual = INDICATORS[kind](decimal_closes, period)
    expected = PINE[kind]([float(c) for c in decimal_closes], period)

    assert len(actual) == len(expected) == len(decimal_closes)
    # The warm-up is na on exactly the same candles, and ends where Pine's does.
    assert [value is None for value in actual] == [na(value) for value in expected]
    assert actual.index(next(v for v in actual if v is not None)) == FIRST_DEFINED_INDEX[kind](
        period
    )
    abs_tol = RSI_ABS_TOL if kind == "rsi" else 0.0
    mismatches = [
        (index, value, reference)
        for index, (value, reference) in enumerate(zip(actual, expected, strict=True))
        if value is not None
        and not math.isclose(float(value), reference, rel_tol=REL_TOL, abs_tol=abs_tol)
    ]
    assert not mismatches, f"{len(mismatches)} candles differ, first: {mismatches[:3]}"


def test_sma_seeded_ema_and_first_value_seeded_ema_agree_after_warmup() -> None:
    period = 21
    decimal_closes = closes(XRP_5M)
    built_in = ema(decimal_closes, period)
    first_value_seeded = pine_ema_first_value_seed([float(c) for c in decimal_closes], period)

    # At the first defined candle the seeding shows: the two readings are visibly different…
    first = period - 1
    assert relative_difference(float(built_in[first]), first_value_seeded[first]) > 1e-4
    # …and from the number of candles the desk fetches on, the seed has washed out.
    warmed = warmup_candles("ema", period)
    differences = [
        relative_difference(float(built_in[index]), first_value_seeded[index])
        for index in range(warmed - 1, len(decimal_closes))
    ]
    assert max(differences) < 1e-6


@pytest.mark.parametrize("fixture", [XRP_5M, BTC_1M])
@pytest.mark.parametrize(
    ("kind", "period"), [(kind, period) for kind, period in CASES if kind != "sma"]
)
def test_warmup_candles_reproduce_the_full_history_value(
    fixture: str, kind: str, period: int
) -> None:
    """The desk fetches only `warmup_candles`; the chart has the whole history behind it."""
    decimal_closes = closes(fixture)
    fetched = warmup_candles(kind, period)
    full_history = INDICATORS[kind](decimal_closes, period)
    if kind == "ema":
        # EMA is linear: the two seeds differ by at most the price range, and that difference
        # keeps (1 - alpha)^k of its size k candles after the first value.
        alpha = 2 / (period + 1)
        seed_weight = (1 - alpha) ** (fetched - period)
        tolerance = Decimal(seed_weight) * (max(decimal_closes) - min(decimal_closes))
    else:
        # RSI divides the smoothed gains by the smoothed losses, so a leftover seed error grows
        # in quiet markets; hold it to the two decimals TradingView displays instead.
        tolerance = Decimal("0.01")
    for end in range(fetched, len(decimal_closes) + 1, 97):
        window_value = latest(kind, decimal_closes[end - fetched : end], period)
        assert abs(window_value - full_history[end - 1]) <= tolerance, f"candle {end - 1}"


# --- Small series by hand ------------------------------------------------------------------------

D = Decimal


def test_sma_is_the_mean_of_the_last_period_values() -> None:
    assert sma([D(1), D(2), D(3), D(4), D(5)], 3) == [None, None, D(2), D(3), D(4)]
    assert sma([D(1), D(2), D(3), D(4), D(5)], 5) == [None, None, None, None, D(3)]


def test_ema_starts_from_the_sma_then_moves_by_alpha() -> None:
    # period 3: alpha = 2/(3+1) = 0.5
    # index 2: SMA(2, 4, 6) = 4
    # index 3: 4 + 0.5 * (10 - 4) = 7
    # index 4: 7 + 0.5 * (4 - 7) = 5.5
    assert ema([D(2), D(4), D(6), D(10), D(4)], 3) == [None, None, D(4), D(7), D("5.5")]


def test_rma_skips_leading_na_and_starts_from_the_sma() -> None:
    # period 2: alpha = 1/2; the seed is SMA(1, 2) = 1.5 at index 2, then 1.5 + 0.5*(0 - 1.5)
    assert rma([None, D(1), D(2), D(0)], 2) == [None, None, D("1.5"), D("0.75")]


def test_rsi_follows_wilder_smoothing_of_gains_and_losses() -> None:
    # period 2 (alpha 1/2), closes 10, 11, 13, 12, 12, 12.375
    # change:      na,  +1,   +2,   -1,    0,  +0.375
    # rma(up):     na,  na,  1.5, 0.75, 0.375, 0.375
    # rma(down):   na,  na,    0,  0.5,  0.25, 0.125
    # rsi:         na,  na,  100 (down 0), 100-100/(1+1.5)=60, 60, 100-100/(1+3)=75
    series = [D(10), D(11), D(13), D(12), D(12), D("12.375")]
    assert rsi(series, 2) == [None, None, D(100), D(60), D(60), D(75)]


def test_rsi_is_100_when_every_candle_rises() -> None:
    assert rsi([D(1), D(2), D(3), D(4), D(5)], 3)[3:] == [D(100), D(100)]


def test_rsi_is_0_when_every_candle_falls() -> None:
    assert rsi([D(5), D(4), D(3), D(2), D(1)], 3)[3:] == [D(0), D(0)]


def test_rsi_of_a_flat_series_is_100_as_tradingview_guards_it() -> None:
    # Both averages are 0; TradingView's RSI script tests `down == 0` first, so 100, not 50.
    assert rsi([D(7)] * 5, 2)[2:] == [D(100), D(100), D(100)]


def test_rsi_falls_to_0_when_a_flat_series_breaks_downwards() -> None:
    assert rsi([D(7), D(7), D(7), D(6)], 2) == [None, None, D(100), D(0)]


def test_too_few_values_give_no_value() -> None:
    assert ema([D(1), D(2)], 3) == [None, None]
    assert rsi([D(1), D(2), D(3)], 3) == [None, None, None]
    assert latest("rsi", [D(1), D(2), D(3)], 3) is None
    assert latest("sma", [], 3) is None


def test_latest_is_the_last_value_of_the_named_indicator() -> None:
    values = [D(2), D(4), D(6), D(10), D(5)]
    assert latest("sma", values, 3) == D(7)  # (6 + 10 + 5) / 3
    assert latest("ema", values, 3) == D(6)  # 4, then 7, then 7 + 0.5 * (5 - 7)
    # RSI(2): up 2, 2, 4, 0 and down 0, 0, 0, 5 smooth to rma(up) 2, 3, 1.5 and rma(down)
    # 0, 0, 2.5; the last is 100 - 100 / (1 + 1.5 / 2.5) = 37.5
    assert latest("rsi", values, 2) == D("37.5")


def test_latest_refuses_an_unknown_indicator() -> None:
    with pytest.raises(ValueError, match="unknown indicator 'macd'"):
        latest("macd", [D(1)], 1)


@pytest.mark.parametrize("period", [0, -3, 1.5, "14", True, None])
@pytest.mark.parametrize("function", [sma, ema, rma, rsi])
def test_a_period_that_is_not_a_positive_whole_number_is_refused(function, period) -> None:
    with pytest.raises(ValueError, match="period must be a whole number"):
        function([D(1), D(2)], period)


def test_warmup_candles_refuses_a_bad_period_or_kind() -> None:
    with pytest.raises(ValueError, match="period must be"):
        warmup_candles("ema", 0)
    with pytest.raises(ValueError, match="unknown indicator"):
        warmup_candles("vwap", 14)


def test_warmup_candles_for_sma_is_exactly_its_window() -> None:
    assert warmup_candles("sma", 50) == 50


def test_warmup_candles_are_floored_and_capped() -> None:
    assert warmup_candles("rsi", 14) == 250  # the floor: Wilder's RSI(14) alone needs ~139
    assert warmup_candles("ema", 200) == MAX_WARMUP_CANDLES  # would need ~1121


# --- Properties ----------------------------------------------------------------------------------

prices = st.decimals(min_value=D("0.00000001"), max_value=D("1000000"), places=8, allow_nan=False)
periods = st.integers(min_value=1, max_value=30)


@given(value=prices, count=st.integers(min_value=0, max_value=80), period=periods)
def test_moving_averages_of_a_constant_series_equal_that_constant(
    value: Decimal, count: int, period: int
) -> None:
    for function in (sma, ema):
        result = function([value] * count, period)
        assert result[: period - 1] == [None] * min(count, period - 1)
        assert all(v == value for v in result[period - 1 :])


@given(values=st.lists(prices, max_size=80), period=periods)
def test_rsi_stays_between_0_and_100(values: list[Decimal], period: int) -> None:
    assert all(D(0) <= v <= D(100) for v in rsi(values, period) if v is not None)


@given(values=st.lists(prices, max_size=80), period=periods)
def test_every_indicator_returns_one_value_per_candle(values: list[Decimal], period: int) -> None:
    for function in (sma, ema, rma, rsi):
        assert len(function(values, period)) == len(values)


@given(kind=st.sampled_from(["ema", "rsi"]), period=st.integers(min_value=1, max_value=3000))
def test_warmup_candles_let_the_seed_decay_unless_capped(kind: str, period: int) -> None:
    fetched = warmup_candles(kind, period)
    needed_for_a_value = FIRST_DEFINED_INDEX[kind](period) + 1
    alpha = 1 / period if kind == "rsi" else 2 / (period + 1)
    assert fetched >= needed_for_a_value
    if fetched < MAX_WARMUP_CANDLES:
        seed_weight = (1 - alpha) ** (fetched - needed_for_a_value)
        assert seed_weight <= float(SEED_WEIGHT) * (1 + 1e-9)
    else:
        assert fetched == max(MAX_WARMUP_CANDLES, needed_for_a_value)
