"""The figures against a known ledger, each computed by hand here (another way than the domain:
written-out sums, and math on floats only as an independent check of the ratios)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest

from apps.performance.domain.figures import (
    ClosedPosition,
    EquityPoint,
    PositionPnl,
    Totals,
    daily_returns,
    drawdown_series,
    figures,
    figures_of,
    max_drawdown,
    risk_at_stop,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)

# A: a winner closed in two parts (partial exit): bought 1 BTC for 100 + 0.10 fee = 100.10;
#    sold 0.5 at 110 (fee 0.055) and 0.5 at 120 (fee 0.06):
#    proceeds 54.945 + 59.94 = 114.885, PnL 114.885 - 100.10 = 14.785. Stop at -5 %: risk 5.005.
# B: a loser: cost 200.20 (fee 0.20), sold for 190.00 - 0.19 fee = 189.81: PnL -10.39.
#    Stop at -5 %: risk 10.01.
# C: a winner without a stop (no R): cost 50.05, proceeds 55.00: PnL 4.95.
# D: a loser without a stop: PnL -2.50 on cost 80.
LEDGER = [
    ClosedPosition(
        1, D("114.885") - D("100.10"), D("100.10"), T0, T0 + timedelta(hours=6), risk=D("5.005")
    ),
    ClosedPosition(
        2, D("189.81") - D("200.20"), D("200.20"), T0, T0 + timedelta(hours=2), risk=D("10.01")
    ),
    ClosedPosition(3, D("4.95"), D("50.05"), T0, T0 + timedelta(days=1)),
    ClosedPosition(4, D("-2.50"), D("80"), T0, T0 + timedelta(hours=4)),
]
# Day opens: up, down (a losing day), down again (the trough), then a new high.
CURVE = [
    EquityPoint(date(2026, 3, 1), D("1000")),
    EquityPoint(date(2026, 3, 2), D("1020")),
    EquityPoint(date(2026, 3, 3), D("1005")),
    EquityPoint(date(2026, 3, 4), D("969")),
    EquityPoint(date(2026, 3, 5), D("1030")),
]


@pytest.fixture
def result():
    return figures(LEDGER, CURVE)


def test_pnl_counts_and_rates_include_fees_and_the_partial_exit(result):
    assert result.count == 4 and result.wins == 2 and result.losses == 2
    assert result.closed_pnl == D("14.785") + D("-10.39") + D("4.95") + D("-2.50") == D("6.845")
    assert result.closed_pnl_pct == D("0.6845")  # of 1000 starting equity
    assert result.win_rate == D(50)
    assert result.gross_profit == D("19.735") and result.gross_loss == D("-12.89")
    assert result.profit_factor == D("19.735") / D("12.89")
    assert result.expectancy == D("6.845") / 4
    assert result.average_win == D("9.8675") and result.average_loss == D("-6.445")
    assert result.best.id == 1 and result.worst.id == 2


def test_expectancy_in_r_only_over_positions_with_a_stop(result):
    # A: 14.785 / 5.005 = 2.954...R, B: -10.39 / 10.01 = -1.0379...R; C and D have no stop.
    assert result.with_stop == 2
    assert result.expectancy_r == (D("14.785") / D("5.005") + D("-10.39") / D("10.01")) / 2
    assert float(result.expectancy_r) == pytest.approx((14.785 / 5.005 - 10.39 / 10.01) / 2)


def test_average_holding_time(result):
    assert result.average_holding == timedelta(hours=(6 + 2 + 24 + 4) / 4)


def test_drawdown_from_peak_to_trough_with_its_dates(result):
    dd = result.drawdown
    assert dd.amount == D("51")  # 1020 -> 969
    assert dd.pct == D("51") / D("1020") * 100 == D(5)
    assert (dd.peak_day, dd.trough_day) == (date(2026, 3, 2), date(2026, 3, 4))


def test_sharpe_sortino_calmar_over_daily_returns(result):
    r = [1020 / 1000 - 1, 1005 / 1020 - 1, 969 / 1005 - 1, 1030 / 969 - 1]
    mean = sum(r) / 4
    std = math.sqrt(sum((x - mean) ** 2 for x in r) / 3)
    downside = math.sqrt(sum(min(x, 0) ** 2 for x in r) / 3)
    assert float(result.sharpe) == pytest.approx(mean / std * math.sqrt(365))
    assert float(result.sortino) == pytest.approx(mean / downside * math.sqrt(365))
    assert float(result.calmar) == pytest.approx(mean * 365 / 0.05)
    assert result.sortino > result.sharpe  # two losing days of four


def test_the_figures_of_the_ledgers_totals_written_out_are_its_figures(result):
    totals = Totals(
        count=4,
        wins=2,
        losses=2,
        pnl=D("14.785") - D("10.39") + D("4.95") - D("2.50"),
        gross_profit=D("14.785") + D("4.95"),
        gross_loss=D("-10.39") - D("2.50"),
        holding=timedelta(hours=6 + 2 + 24 + 4),
        r_sum=D("14.785") / D("5.005") + D("-10.39") / D("10.01"),
        with_stop=2,
        best=PositionPnl(1, D("14.785")),
        worst=PositionPnl(2, D("-10.39")),
    )
    assert figures_of(totals, CURVE) == result


def test_equal_pnls_name_the_lower_id():
    twins = [ClosedPosition(9, D(5), D(50), T0, T0), ClosedPosition(3, D(5), D(50), T0, T0)]
    twins += [ClosedPosition(8, D(-5), D(50), T0, T0), ClosedPosition(4, D(-5), D(50), T0, T0)]
    result = figures(twins, [])
    assert result.best == PositionPnl(3, D(5)) and result.worst == PositionPnl(4, D(-5))


def test_an_empty_ledger_has_no_ratios():
    empty = figures([], [])
    nothing = Totals(0, 0, 0, D(0), D(0), D(0), timedelta(), D(0), 0, None, None)
    assert figures_of(nothing, []) == empty
    assert empty.count == 0 and empty.closed_pnl == 0
    assert empty.win_rate is None and empty.profit_factor is None and empty.expectancy is None
    assert empty.best is None and empty.drawdown is None and empty.sharpe is None


def test_a_curve_that_only_rises_has_no_drawdown_nor_sortino():
    rising = [EquityPoint(date(2026, 1, d), D(1000 + d)) for d in range(1, 6)]
    assert max_drawdown(rising) is None
    result = figures([], rising)
    assert result.sortino is None and result.calmar is None and result.sharpe is not None
    assert len(daily_returns(rising)) == 4


def test_drawdown_series_is_the_fall_below_the_running_peak():
    series = drawdown_series(CURVE)
    assert series[:2] == [D(0), D(0)]
    assert series[2] == (D(1005) - D(1020)) / D(1020) * 100
    assert series[3] == D(-5) and series[4] == D(0)


def test_risk_at_stop_for_a_pnl_stop_or_a_stop_relative_to_the_entry():
    pnl_stop = {
        "primary": {"source": "pnl_pct"},
        "condition": "at_or_below",
        "secondary": {"source": "fixed"},
        "value": "-5",
        "unit": "number",
    }
    assert risk_at_stop(pnl_stop, D("100.10")) == D("5.005")
    price_stop = {
        "primary": {"source": "last"},
        "condition": "crosses_below",
        "secondary": {"source": "fixed"},
        "value": "60000",
    }
    assert risk_at_stop(price_stop, D(100)) is None
    # Last price at or below the entry price -2 %: 2 % of the cost was at risk.
    below_entry = {**price_stop, "condition": "at_or_below", "secondary": {"source": "entry_price"},
                   "value": "-2", "unit": "percent"}  # fmt: skip
    assert risk_at_stop(below_entry, D("250")) == D("5")
    assert risk_at_stop({**below_entry, "unit": "number"}, D("250")) is None
    assert risk_at_stop({**below_entry, "primary": {"source": "ema"}}, D("250")) is None
    assert risk_at_stop(None, D(100)) is None
    assert risk_at_stop({**pnl_stop, "value": "junk"}, D(100)) is None
