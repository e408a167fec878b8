"""The figures traders compare, from closed positions and a daily equity curve. Pure: Decimal in,
Decimal out, no clock, no Django.

Conventions (close to freqtrade's `/profit` and its backtest report, differences noted):
* PnL is realised PnL net of every fee (a position's `realised_pnl`: proceeds net of fees minus
  the cost of what was sold, fees included), partial exits included.
* The figures come from `Totals` (counts and sums over the ledger, which the database adds up:
  `figures_of`), or from the positions themselves (`figures`, the same figures computed
  another way, which the tests hold the database's sums to).
* Best and worst position: the highest and lowest PnL; between equals, the lower id.
* Win rate: positions with PnL > 0 over all closed positions (a break-even one is not a win).
* Profit factor: gross profit / |gross loss|; None without a losing position.
* Expectancy: mean PnL per position (quote). Expectancy in R: the mean R multiple (PnL / the
  risk at the initial stop) over the positions that had a stop; those without one are left out.
* Drawdown: the largest fall of the daily equity curve from its running peak, in quote and in %
  of that peak, with the peak's day (from) and the trough's day (to).
* Returns are daily: r_i = equity_i / equity_{i-1} - 1 between consecutive daily points.
  Annualised over 365 days (crypto trades every day; freqtrade uses 365 too), risk-free rate 0.
* Sharpe: mean(r) / sample std(r) (n - 1) × √365.
* Sortino: mean(r) / downside deviation × √365, the downside deviation being
  √(Σ min(r, 0)² / (n - 1)) over every day (a target of 0; freqtrade takes the std of the
  losing days only, which makes one losing day undefined). None without a losing day.
* Calmar: annualised mean daily return (mean(r) × 365) / max drawdown as a fraction of the peak;
  None without a drawdown. freqtrade divides its total profit by the drawdown the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

ZERO = Decimal(0)
HUNDRED = Decimal(100)
DAYS_PER_YEAR = 365


@dataclass(frozen=True)
class ClosedPosition:
    id: int
    pnl: Decimal  # realised, fees included
    cost: Decimal  # quote spent on every buy, fees included
    opened_at: datetime
    closed_at: datetime
    risk: Decimal | None = None  # quote lost at the initial stop; None without a stop


@dataclass(frozen=True)
class PositionPnl:
    """One position by its id, with its PnL: the best or the worst of a ledger."""

    id: int
    pnl: Decimal


@dataclass(frozen=True)
class Totals:
    """Counts and sums over a ledger of closed positions: all `figures_of` needs of them."""

    count: int
    wins: int  # PnL > 0
    losses: int  # PnL < 0
    pnl: Decimal
    gross_profit: Decimal  # the sum of the wins
    gross_loss: Decimal  # the sum of the losses (negative)
    holding: timedelta  # the sum of every position's time from opening to closing
    r_sum: Decimal  # the sum of the R multiples of the positions that had a PnL stop
    with_stop: int  # how many had one
    best: PositionPnl | None
    worst: PositionPnl | None


@dataclass(frozen=True)
class EquityPoint:
    day: date
    equity: Decimal
    # When the equity was measured: None for a day's open (00:00 UTC of `day`); the curve's
    # last point, the equity now, carries its moment.
    at: datetime | None = None


@dataclass(frozen=True)
class Drawdown:
    amount: Decimal
    pct: Decimal
    peak_day: date
    trough_day: date


@dataclass(frozen=True)
class Figures:
    count: int
    wins: int
    losses: int
    closed_pnl: Decimal
    closed_pnl_pct: Decimal | None  # of the starting equity
    gross_profit: Decimal
    gross_loss: Decimal
    win_rate: Decimal | None  # %
    profit_factor: Decimal | None
    expectancy: Decimal | None
    expectancy_r: Decimal | None
    with_stop: int  # positions the R figure is over
    average_win: Decimal | None
    average_loss: Decimal | None
    best: PositionPnl | None
    worst: PositionPnl | None
    average_holding: timedelta | None
    drawdown: Drawdown | None
    sharpe: Decimal | None
    sortino: Decimal | None
    calmar: Decimal | None
    starting_equity: Decimal | None


def _mean(values: Sequence[Decimal]) -> Decimal | None:
    return sum(values, ZERO) / len(values) if values else None


def _ratio(top: Decimal, bottom: Decimal) -> Decimal | None:
    return top / bottom if bottom else None


def max_drawdown(points: Sequence[EquityPoint]) -> Drawdown | None:
    """The largest peak-to-trough fall of the curve (None if it never falls)."""
    worst: Drawdown | None = None
    peak: EquityPoint | None = None
    for point in points:
        if peak is None or point.equity > peak.equity:
            peak = point
            continue
        fall = peak.equity - point.equity
        if fall > 0 and (worst is None or fall > worst.amount):
            pct = fall / peak.equity * HUNDRED if peak.equity > 0 else ZERO
            worst = Drawdown(fall, pct, peak.day, point.day)
    return worst


def daily_returns(points: Sequence[EquityPoint]) -> list[Decimal]:
    return [now.equity / before.equity - 1 for before, now in pairwise(points) if before.equity > 0]


def sharpe(returns: Sequence[Decimal]) -> Decimal | None:
    if len(returns) < 2:
        return None
    mean = _mean(returns)
    variance = sum(((r - mean) ** 2 for r in returns), ZERO) / (len(returns) - 1)
    if not variance:
        return None
    return mean / variance.sqrt() * Decimal(DAYS_PER_YEAR).sqrt()


def sortino(returns: Sequence[Decimal]) -> Decimal | None:
    if len(returns) < 2:
        return None
    downside = sum((min(r, ZERO) ** 2 for r in returns), ZERO) / (len(returns) - 1)
    if not downside:
        return None
    return _mean(returns) / downside.sqrt() * Decimal(DAYS_PER_YEAR).sqrt()


def calmar(returns: Sequence[Decimal], drawdown: Drawdown | None) -> Decimal | None:
    if not returns or drawdown is None or not drawdown.pct:
        return None
    return _mean(returns) * DAYS_PER_YEAR / (drawdown.pct / HUNDRED)


def _curve_figures(curve: Sequence[EquityPoint]) -> dict:
    returns = daily_returns(curve)
    drawdown = max_drawdown(curve)
    return {
        "drawdown": drawdown,
        "sharpe": sharpe(returns),
        "sortino": sortino(returns),
        "calmar": calmar(returns, drawdown),
        "starting_equity": curve[0].equity if curve else None,
    }


def figures_of(totals: Totals, curve: Sequence[EquityPoint]) -> Figures:
    """Every figure of the Performance page from a ledger's totals and its daily curve (one
    point per day, oldest first)."""
    count, start = totals.count, curve[0].equity if curve else None
    return Figures(
        count=count,
        wins=totals.wins,
        losses=totals.losses,
        closed_pnl=totals.pnl,
        closed_pnl_pct=totals.pnl / start * HUNDRED if start else None,
        gross_profit=totals.gross_profit,
        gross_loss=totals.gross_loss,
        win_rate=Decimal(totals.wins) / count * HUNDRED if count else None,
        profit_factor=_ratio(totals.gross_profit, -totals.gross_loss),
        expectancy=totals.pnl / count if count else None,
        expectancy_r=totals.r_sum / totals.with_stop if totals.with_stop else None,
        with_stop=totals.with_stop,
        average_win=totals.gross_profit / totals.wins if totals.wins else None,
        average_loss=totals.gross_loss / totals.losses if totals.losses else None,
        best=totals.best,
        worst=totals.worst,
        average_holding=totals.holding / count if count else None,
        **_curve_figures(curve),
    )


def figures(positions: Sequence[ClosedPosition], curve: Sequence[EquityPoint]) -> Figures:
    """Every figure of the Performance page from the positions themselves: the independent
    calculation `figures_of` is tested against. `curve` holds one point per day, oldest
    first."""
    pnls = [p.pnl for p in positions]
    won = [x for x in pnls if x > 0]
    lost = [x for x in pnls if x < 0]
    gross_profit, gross_loss = sum(won, ZERO), sum(lost, ZERO)
    closed = sum(pnls, ZERO)
    start = curve[0].equity if curve else None
    r_multiples = [p.pnl / p.risk for p in positions if p.risk]
    holdings = [p.closed_at - p.opened_at for p in positions]
    best = max(positions, key=lambda p: (p.pnl, -p.id), default=None)
    worst = min(positions, key=lambda p: (p.pnl, p.id), default=None)
    return Figures(
        count=len(positions),
        wins=len(won),
        losses=len(lost),
        closed_pnl=closed,
        closed_pnl_pct=closed / start * HUNDRED if start else None,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        win_rate=Decimal(len(won)) / len(pnls) * HUNDRED if pnls else None,
        profit_factor=_ratio(gross_profit, -gross_loss),
        expectancy=_mean(pnls),
        expectancy_r=_mean(r_multiples),
        with_stop=len(r_multiples),
        average_win=_mean(won),
        average_loss=_mean(lost),
        best=PositionPnl(best.id, best.pnl) if best else None,
        worst=PositionPnl(worst.id, worst.pnl) if worst else None,
        average_holding=sum(holdings, timedelta()) / len(holdings) if holdings else None,
        **_curve_figures(curve),
    )


def drawdown_series(points: Sequence[EquityPoint]) -> list[Decimal]:
    """Per point, its fall below the running peak in % (0 at a new high, negative below)."""
    series, peak = [], None
    for point in points:
        peak = point.equity if peak is None else max(peak, point.equity)
        series.append((point.equity - peak) / peak * HUNDRED if peak > 0 else ZERO)
    return series


def risk_at_stop(stop: dict | None, cost: Decimal) -> Decimal | None:
    """What the initial stop put at risk, in quote, for R multiples.

    Known after the fact only for a stop on the position's own PnL % (`PnL % | at or below |
    -5`): cost × 5 %. A stop on a price or an indicator depended on the market at entry, which
    a closed position no longer records, so it gives no R (nor does a position without stop).
    """
    if not stop or (stop.get("primary") or {}).get("source") != "pnl_pct":
        return None
    try:
        level = Decimal(str(stop.get("value")))
    except ArithmeticError:
        return None
    return cost * abs(level) / HUNDRED if level.is_finite() and level and cost > 0 else None
