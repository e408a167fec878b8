"""Account guards, pure: the daily loss limit, the maximum drawdown from the equity peak, the
maximum exposure per symbol, and the circuit breaker's count of exchange errors.

Equity is the account's value in its quote currency (every balance at its current price), so
its change since the day started is the day's realised plus unrealised PnL, fees included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from apps.core.numbers import ZERO
from apps.exchanges.domain.precision import fmt

HUNDRED = Decimal(100)
CENTS = Decimal("0.01")

DAILY_LOSS = "daily_loss"
DRAWDOWN = "drawdown"
EXPOSURE = "exposure"
CIRCUIT_BREAKER = "circuit_breaker"


@dataclass(frozen=True)
class GuardLimits:
    """None turns a guard off."""

    daily_loss_quote: Decimal | None = None
    daily_loss_pct: Decimal | None = None
    max_drawdown_pct: Decimal | None = None
    max_symbol_exposure_pct: Decimal | None = None


@dataclass(frozen=True)
class Breach:
    guard: str  # DAILY_LOSS, DRAWDOWN, EXPOSURE, CIRCUIT_BREAKER
    reason: str  # "daily loss limit: ..." — what a rejected signal says
    data: dict


def _money(value: Decimal) -> str:
    return fmt(value.quantize(CENTS))


def daily_loss_breach(
    *, day_start_equity: Decimal, equity: Decimal, limits: GuardLimits, quote: str
) -> Breach | None:
    """Breached when the day's loss (equity now against the day's start) reaches the limit in
    quote or in % of the day's starting equity, whichever comes first."""
    loss = day_start_equity - equity
    if loss <= 0:
        return None
    pct = loss / day_start_equity * HUNDRED if day_start_equity > 0 else None
    hit_quote = limits.daily_loss_quote is not None and loss >= limits.daily_loss_quote
    hit_pct = limits.daily_loss_pct is not None and pct is not None and pct >= limits.daily_loss_pct
    if not (hit_quote or hit_pct):
        return None
    limit = (
        f"{_money(limits.daily_loss_quote)} {quote}"
        if hit_quote
        else f"{fmt(limits.daily_loss_pct)} %"
    )
    shown_pct = f" ({_money(pct)} %)" if pct is not None else ""
    return Breach(
        DAILY_LOSS,
        f"daily loss limit: down {_money(loss)} {quote}{shown_pct} today, the limit is {limit}",
        {
            "loss": str(loss),
            "loss_pct": "" if pct is None else str(pct),
            "day_start_equity": str(day_start_equity),
            "equity": str(equity),
            "limit": limit,
        },
    )


def drawdown_breach(
    *, peak: Decimal, equity: Decimal, limits: GuardLimits, quote: str
) -> Breach | None:
    if limits.max_drawdown_pct is None or peak <= 0 or equity >= peak:
        return None
    drawdown = (peak - equity) / peak * HUNDRED
    if drawdown < limits.max_drawdown_pct:
        return None
    return Breach(
        DRAWDOWN,
        f"maximum drawdown: equity {_money(equity)} {quote} is {_money(drawdown)} % below its "
        f"peak of {_money(peak)} {quote}, the limit is {fmt(limits.max_drawdown_pct)} %",
        {"peak": str(peak), "equity": str(equity), "drawdown_pct": str(drawdown)},
    )


def exposure_breach(
    *, symbol: str, exposure: Decimal, equity: Decimal, limits: GuardLimits, quote: str
) -> Breach | None:
    """A symbol whose positions are worth the limit's share of equity or more takes no new
    entry nor pyramid add."""
    if limits.max_symbol_exposure_pct is None or equity <= 0:
        return None
    pct = exposure / equity * HUNDRED
    if pct < limits.max_symbol_exposure_pct:
        return None
    return Breach(
        EXPOSURE,
        f"maximum exposure: {symbol} positions are worth {_money(exposure)} {quote}, "
        f"{_money(pct)} % of the {_money(equity)} {quote} equity, the limit is "
        f"{fmt(limits.max_symbol_exposure_pct)} %",
        {"symbol": symbol, "exposure": str(exposure), "exposure_pct": str(pct)},
    )


def exposure_breaches(
    *, exposures: Mapping[str, Decimal], equity: Decimal, limits: GuardLimits, quote: str
) -> list[Breach]:
    found = []
    for symbol in sorted(exposures):
        breach = exposure_breach(
            symbol=symbol, exposure=exposures[symbol], equity=equity, limits=limits, quote=quote
        )
        if breach is not None:
            found.append(breach)
    return found


def equity_of(
    *, balances: Mapping[str, Decimal], prices: Mapping[str, Decimal], quote: str
) -> tuple[Decimal, tuple[str, ...]]:
    """(the account's value in quote, the assets left out for want of a price)."""
    total = ZERO
    unpriced = []
    for asset, amount in sorted(balances.items()):
        if amount == 0:
            continue
        if asset == quote:
            total += amount
        elif asset in prices:
            total += amount * prices[asset]
        else:
            unpriced.append(asset)
    return total, tuple(unpriced)


@dataclass(frozen=True)
class ErrorStreak:
    count: int
    started_at: datetime | None


def after_error(streak: ErrorStreak, *, now: datetime, window: timedelta) -> ErrorStreak:
    """One more exchange error: it extends the streak when the streak began within the window,
    else it starts a new one."""
    if streak.started_at is None or streak.count == 0 or now - streak.started_at > window:
        return ErrorStreak(1, now)
    return ErrorStreak(streak.count + 1, streak.started_at)


def breaker_trips(streak: ErrorStreak, *, threshold: int) -> bool:
    return threshold > 0 and streak.count >= threshold
