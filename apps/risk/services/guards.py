"""Account guards: the daily loss limit, the maximum drawdown, the exposure per symbol, and
what an entry must pass (`entry_block`).

The risk loop measures each account's equity every tick (`check_guards`): it rolls the day
over at 00:00 UTC, keeps the equity peak, latches a breached daily loss limit (until the day
rolls over) or drawdown (until the operator resumes), and records each breach as an event.
`entry_block` reads what the loop stored, plus the live exposure of the symbol, so a signal
costs a few queries and no exchange call.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from django.db import transaction

from apps.core.models import Event
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import ExchangeAccount
from apps.risk import selectors
from apps.risk.domain import guards
from apps.risk.models import AccountGuard
from apps.risk.services import live
from apps.risk.services.breaker import breaker_block, locked_guard
from apps.risk.services.events import risk_event

logger = logging.getLogger(__name__)


def today(now: datetime) -> date:
    return now.date()  # `now` is aware UTC: the trading day is the UTC day


def entry_block(*, account: ExchangeAccount, symbol: str, now: datetime) -> str | None:
    """Why a new entry or pyramid add on `symbol` must be rejected now, or None.

    In order: the kill switch, the circuit breaker's cool-down, a breached daily loss limit
    (today only) or drawdown, and the symbol's exposure against the account's equity.
    """
    guard = AccountGuard.objects.filter(account=account).first()
    if guard is None:
        return None
    if guard.killed_at is not None:
        return f"kill switch engaged at {guard.killed_at:%Y-%m-%d %H:%M} UTC; resume to trade"
    reason = breaker_block(guard, now=now)
    if reason:
        return reason
    reason = latched_breach(guard, now=now)
    if reason:
        return reason
    limits = selectors.settings_of(account).limits()
    if limits.max_symbol_exposure_pct is None or not guard.equity:
        return None
    exposure = selectors.exposure_by_symbol(account).get(symbol)
    if exposure is None:
        return None
    breach = guards.exposure_breach(
        symbol=symbol,
        exposure=exposure,
        equity=guard.equity,
        limits=limits,
        quote=account.quote_currency,
    )
    return breach.reason if breach else None


def latched_breach(guard: AccountGuard, *, now: datetime) -> str | None:
    """The daily loss breach holds for its day only; a drawdown breach until resumed."""
    if not guard.breach_guard:
        return None
    if guard.breach_guard == guards.DAILY_LOSS and guard.breach_day != today(now):
        return None
    return guard.breach_reason


def active_reasons(account: ExchangeAccount, *, now: datetime) -> list[str]:
    """Every guard in force on the account now (for the banner)."""
    guard = AccountGuard.objects.filter(account=account).first()
    if guard is None:
        return []
    reasons = []
    if guard.killed_at is not None:
        reasons.append(f"kill switch engaged at {guard.killed_at:%Y-%m-%d %H:%M} UTC")
    for reason in (breaker_block(guard, now=now), latched_breach(guard, now=now)):
        if reason:
            reasons.append(reason)
    reasons.extend(guard.exposure.values())
    return reasons


def check_guards(*, account: ExchangeAccount, now: datetime) -> AccountGuard | None:
    """One tick of the guards for `account`.

    1. Equity, outside any transaction (balances at their prices).
    2. Under the guard row's lock: roll the day over (a daily loss breach releases, with an
       event), raise the peak, then latch a new daily loss or drawdown breach with its event;
       note the symbols at or over the exposure limit (an event when one newly is).
    3. Push the banner when anything it shows changed.
    """
    try:
        equity, unpriced = selectors.fetch_equity(account=account)
    except ExchangeError as exc:
        logger.warning("Guards: no equity for account %s: %s", account.pk, exc)
        return None
    limits = selectors.settings_of(account).limits()
    exposures = selectors.exposure_by_symbol(account)
    quote = account.quote_currency
    with transaction.atomic():
        guard = locked_guard(account.pk)
        shown_before = _shown(guard, now)
        guard.equity, guard.equity_at = equity, now
        if guard.day != today(now) or guard.day_start_equity is None:
            _roll_day(account, guard, equity, now)
        guard.peak_equity = max(guard.peak_equity or equity, equity)
        if not latched_breach(guard, now=now):
            breach = guards.daily_loss_breach(
                day_start_equity=guard.day_start_equity, equity=equity, limits=limits, quote=quote
            ) or guards.drawdown_breach(
                peak=guard.peak_equity, equity=equity, limits=limits, quote=quote
            )
            if breach is not None:
                _latch(account, guard, breach, now, unpriced)
        _note_exposure(account, guard, exposures, equity, limits)
        guard.save()
        if _shown(guard, now) != shown_before:
            live.push_banner(account)
    return guard


def _shown(guard: AccountGuard, now: datetime) -> tuple:
    return (
        guard.killed_at,
        breaker_block(guard, now=now),
        latched_breach(guard, now=now),
        tuple(sorted(guard.exposure.items())),
    )


def _roll_day(account: ExchangeAccount, guard: AccountGuard, equity, now: datetime) -> None:
    was_breached = guard.breach_guard == guards.DAILY_LOSS
    guard.day, guard.day_start_equity = today(now), equity
    if was_breached:
        guard.breach_guard, guard.breach_reason, guard.breach_day = "", "", None
        risk_event(
            account,
            "guard.released",
            f"New trading day on {account.label}: the daily loss limit is released; the day "
            f"starts at {equity:.2f} {account.quote_currency}.",
            data={"guard": guards.DAILY_LOSS, "day_start_equity": str(equity)},
        )


def _latch(account, guard: AccountGuard, breach: guards.Breach, now, unpriced) -> None:
    guard.breach_guard, guard.breach_reason = breach.guard, breach.reason
    guard.breach_day, guard.breached_at = today(now), now
    risk_event(
        account,
        "guard.breached",
        f"Guard breached on {account.label}: {breach.reason}. New entries and pyramid adds "
        + (
            "are rejected until the day rolls over or the operator resumes."
            if breach.guard == guards.DAILY_LOSS
            else "are rejected until the operator resumes."
        ),
        level=Event.Level.ERROR,
        data={"guard": breach.guard, "reason": breach.reason, "unpriced": list(unpriced)}
        | breach.data,
    )


def _note_exposure(account, guard: AccountGuard, exposures, equity, limits) -> None:
    found = guards.exposure_breaches(
        exposures=exposures, equity=equity, limits=limits, quote=account.quote_currency
    )
    now_over = {b.data["symbol"]: b.reason for b in found}
    for breach in found:
        if breach.data["symbol"] not in guard.exposure:
            risk_event(
                account,
                "guard.breached",
                f"Guard breached on {account.label}: {breach.reason}. New entries and pyramid "
                f"adds on {breach.data['symbol']} are rejected while it lasts.",
                level=Event.Level.ERROR,
                data={"guard": breach.guard, "reason": breach.reason} | breach.data,
            )
    guard.exposure = now_over


def daily_breach(guard: AccountGuard, *, now: datetime) -> str:
    """The breached daily loss limit in force today ("" when there is none)."""
    if guard.breach_guard == guards.DAILY_LOSS and guard.breach_day == today(now):
        return guard.breach_reason
    return ""
