"""Paper exchange services: open an account, move prices, and (re-exported from `orders` and
`matching`) place, cancel, find and match orders.

What a real exchange keeps on its side lives in the database: balances (PaperBalance), orders
(PaperOrder: market, limit and stop orders) and the last price of each symbol (PaperPrice,
shared by every account on simulated prices). Prices move by `advance_simulated_prices` (a
beat task every PAPER_PRICE_SECONDS) or `set_price` (tests, drills); both then fill the
resting orders the new price crosses and trigger the stops it reaches, with no desk process
involved.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from apps.exchanges.domain.precision import fmt, round_price
from apps.exchanges.domain.types import Candle
from apps.exchanges.models import (
    ExchangeAccount,
    PaperBalance,
    PaperCandle,
    PaperPrice,
    PaperSettings,
)
from apps.exchanges.paper import candles, faults, walk
from apps.exchanges.paper.catalog import CATALOG, catalog_market
from apps.exchanges.paper.matching import match_resting_orders
from apps.exchanges.paper.orders import cancel_order, find_order, place_order

__all__ = [
    "advance_simulated_prices",
    "cancel_order",
    "current_price",
    "current_prices",
    "fault_injector",
    "find_order",
    "match_resting_orders",
    "open_paper_account",
    "paper_candles",
    "paper_settings_of",
    "place_order",
    "set_price",
]

# The walk's seed is desk-wide because the prices are: every paper account sees one market.
WALK_SEED = 1
# Minute bars of the walk kept for candles: 200 candles of 15 m and then some. Older candles
# (and those of a fresh desk) are generated backward from the oldest kept bar.
CANDLE_HISTORY_MINUTES = 3 * 24 * 60
_OHLC = ("open", "high", "low", "close")


# --- Accounts ---------------------------------------------------------------------------------


def open_paper_account(
    account: ExchangeAccount, *, initial_balance: Decimal | None = None
) -> PaperSettings:
    """Make `account` ready to trade on the paper exchange. Idempotent.

    `account` may be passed positionally (apps.exchanges.services.create_account does).

    1. Lock the account row, so two concurrent opens deposit once.
    2. Create its PaperSettings if missing.
    3. Deposit `initial_balance` (default settings.PAPER_INITIAL_BALANCE) in the account's
       quote currency, only if the account has no paper balance yet.
    """
    if not account.is_paper:
        raise ValueError(f"{account} is not a paper account.")
    deposit = settings.PAPER_INITIAL_BALANCE if initial_balance is None else initial_balance
    with transaction.atomic():
        ExchangeAccount.objects.select_for_update().get(pk=account.pk)
        paper_settings, _ = PaperSettings.objects.get_or_create(account=account)
        if not PaperBalance.objects.filter(account=account).exists():
            PaperBalance.objects.create(account=account, asset=account.quote_currency, free=deposit)
    return paper_settings


def paper_settings_of(account: ExchangeAccount) -> PaperSettings:
    """The account's simulation settings (created with defaults if the account never opened)."""
    paper_settings, _ = PaperSettings.objects.get_or_create(account=account)
    return paper_settings


def fault_injector(config: PaperSettings) -> tuple[faults.FaultInjector, dict[str, Decimal]]:
    """The fault draws of one adapter call, and the configured error rates.

    A call with something to draw takes the account's next call number: an UPDATE increments
    the counter and the read in the same transaction sees its own increment (the UPDATE holds
    the row lock until commit), so concurrent callers in any process take distinct numbers.
    """
    error_rates = faults.error_rates_of(config.error_rates)
    if not faults.draws_faults(error_rates, config.timeout_after_placing_rate):
        return faults.FaultInjector(seed=config.seed, call=None), error_rates
    settings_row = PaperSettings.objects.filter(pk=config.pk)
    with transaction.atomic():
        settings_row.update(fault_draws=F("fault_draws") + 1)
        call = settings_row.values_list("fault_draws", flat=True).get()
    return faults.FaultInjector(seed=config.seed, call=call), error_rates


# --- Prices -----------------------------------------------------------------------------------


def current_prices(symbols: Iterable[str]) -> dict[str, tuple[Decimal, datetime | None]]:
    """Last simulated price and its time per symbol; the catalog start price before any step."""
    wanted = {symbol: catalog_market(symbol) for symbol in symbols}
    stored = {row.symbol: row for row in PaperPrice.objects.filter(symbol__in=wanted)}
    return {
        symbol: (stored[symbol].last, stored[symbol].updated_at)
        if symbol in stored
        else (market.start_price, None)
        for symbol, market in wanted.items()
    }


def current_price(symbol: str) -> Decimal:
    return current_prices([symbol])[symbol][0]


def set_price(*, symbol: str, price: Decimal, now: datetime | None = None) -> int:
    """Set a simulated symbol's last price (tests, drills), then match resting orders and
    trigger the stops it reaches.

    Returns the number of fills. The price must be positive and on the symbol's tick.
    """
    market = catalog_market(symbol)
    if price <= 0 or round_price(price, market.rules.tick_size) != price:
        raise ValueError(f"{fmt(price)} is not a price on the {fmt(market.rules.tick_size)} tick.")
    now = now or timezone.now()
    with transaction.atomic():
        row, _ = PaperPrice.objects.select_for_update().get_or_create(
            symbol=symbol, defaults={"last": market.start_price, "updated_at": now}
        )
        _record_step(symbol=symbol, previous=row.last, price=price, now=now)
        row.last, row.updated_at = price, now
        row.save(update_fields=["last", "updated_at"])
    return match_resting_orders(symbol=symbol, last=price, now=now, market=market.rules)


def advance_simulated_prices(*, now: datetime, seed: int = WALK_SEED) -> dict[str, Decimal]:
    """Move every catalog symbol one random-walk step, then match resting orders and stops.

    1. Per symbol, lock its PaperPrice row (creating it at the catalog start price), take the
       next deterministic step and save it with its minute bar (the candles' history); the
       lock makes two overlapping runs take two consecutive steps instead of the same one
       twice.
    2. After the price commit, fill the resting orders the new price crosses and trigger the
       stops it reaches.
    """
    prices: dict[str, Decimal] = {}
    for symbol, market in CATALOG.items():
        with transaction.atomic():
            row, _ = PaperPrice.objects.select_for_update().get_or_create(
                symbol=symbol, defaults={"last": market.start_price, "updated_at": now}
            )
            previous = row.last
            row.last = walk.next_price(
                symbol=symbol,
                seed=seed,
                step=row.steps + 1,
                previous=row.last,
                volatility=market.volatility,
                tick=market.rules.tick_size,
                anchor=market.start_price,
            )
            _record_step(symbol=symbol, previous=previous, price=row.last, now=now)
            row.steps += 1
            row.updated_at = now
            row.save(update_fields=["last", "steps", "updated_at"])
        prices[symbol] = row.last
        match_resting_orders(symbol=symbol, last=row.last, now=now, market=market.rules)
    return prices


def _record_step(*, symbol: str, previous: Decimal, price: Decimal, now: datetime) -> None:
    """Add a price step to its minute bar (the caller holds the symbol's PaperPrice lock).

    A new minute opens at the price before the step, so candles follow on without a gap; its
    first bar also prunes the bars older than CANDLE_HISTORY_MINUTES.
    """
    minute = int(now.timestamp()) // 60
    bars = PaperCandle.objects.filter(symbol=symbol)
    value = Value(price, output_field=PaperCandle._meta.get_field("close"))
    if bars.filter(minute=minute).update(
        close=price, high=Greatest("high", value), low=Least("low", value)
    ):
        return
    PaperCandle.objects.create(
        symbol=symbol,
        minute=minute,
        open=previous,
        high=max(previous, price),
        low=min(previous, price),
        close=price,
    )
    bars.filter(minute__lt=minute - CANDLE_HISTORY_MINUTES).delete()


def paper_candles(
    *, symbol: str, timeframe: str, now: datetime, limit: int, since_ms: int | None
) -> list[Candle]:
    """Candles of a simulated symbol from the walk's minute bars (see `candles`).

    Raises ValueError for a timeframe that is not one.
    """
    market = catalog_market(symbol)
    span = candles.window(timeframe=timeframe, now=now, limit=limit, since_ms=since_ms)
    rows = PaperCandle.objects.filter(symbol=symbol)
    tick = market.rules.tick_size
    bars = [
        candles.Bar(minute=m, **{k: round_price(v, tick) for k, v in zip(_OHLC, ohlc, strict=True)})
        for m, *ohlc in rows.filter(minute__gte=span.first_minute)
        .order_by("minute")
        .values_list("minute", "open", "high", "low", "close")
    ]
    before = rows.filter(minute__lt=span.first_minute).order_by("-minute").first()
    return candles.walk_candles(
        symbol=symbol,
        timeframe=timeframe,
        span=span,
        bars=bars,
        previous_close=round_price(before.close, tick) if before is not None else None,
        last=current_price(symbol),
        shape=candles.WalkShape(
            seed=WALK_SEED,
            step_volatility=market.volatility,
            step_seconds=Decimal(str(settings.PAPER_PRICE_SECONDS)),
            anchor=market.start_price,
            reversion=walk.DEFAULT_REVERSION,
            tick=tick,
        ),
    )
